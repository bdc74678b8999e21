/** @odoo-module **/

import { registry } from "@web/core/registry";

/** The guest confirms the form, and the booking's page says it is confirmed. */
function confirmSteps(content = "Confirm") {
    return [
        {
            content,
            trigger: ".o_booking_confirm:enabled",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The booking is confirmed",
            trigger: ".o_booking_confirmation .o_booking_confirmed",
        },
    ];
}

registry.category("web_tour.tours").add("zoom_booking_book_a_slot", {
    steps: () => [
        {
            content: "The page shows the online meeting provider",
            trigger: ".o_booking_provider",
        },
        {
            content: "Pick the first free slot",
            trigger: ".o_booking_day_slots .o_booking_slot:first",
            run: "click",
        },
        {
            content: "The chosen time is shown",
            trigger: ".o_booking_selected:contains(Selected)",
        },
        {
            content: "Enter a name",
            trigger: "input[name=name]",
            run: "edit Tess Tour",
        },
        {
            content: "Enter an email",
            trigger: "input[name=email]",
            run: "edit tour.guest@example.com",
        },
        {
            content: "Add a note",
            trigger: "textarea[name=notes]",
            run: "edit Looking forward to it",
        },
        ...confirmSteps(),
        {
            content: "Its time is shown with the guest's timezone",
            trigger: ".o_booking_when",
        },
    ],
});

registry.category("web_tour.tours").add("zoom_booking_book_in_japanese", {
    steps: () => [
        {
            content: "The switcher shows the page in Japanese",
            trigger: ".o_booking_languages span[lang=ja-JP]",
        },
        {
            content: "The page's script speaks Japanese too",
            trigger: ".o_booking_selected:not(:visible):contains(上から日時を選択してください。)",
        },
        {
            content: "Pick the first free slot",
            trigger: ".o_booking_day_slots .o_booking_slot:first",
            run: "click",
        },
        {
            content: "The chosen time, in Japanese",
            trigger: ".o_booking_selected:contains(選択中):contains(月)",
        },
        {
            content: "The week and the days are written the Japanese way (12月2日...)",
            trigger: ".o_booking_week_label:contains(月):contains(日)",
        },
        {
            content: "Enter a name",
            trigger: "input[name=name]",
            run: "edit 山田 花子",
        },
        {
            content: "Enter an email",
            trigger: "input[name=email]",
            run: "edit hanako@example.jp",
        },
        ...confirmSteps(),
    ],
});

registry.category("web_tour.tours").add("zoom_booking_form_error_keeps_the_slot", {
    steps: () => [
        {
            content: "Go to next week, to pick a slot that isn't on the first page",
            trigger: ".o_booking_next:enabled",
            run: "click",
        },
        {
            content: "Pick the last free slot of that week",
            trigger: ".o_booking_day_slots .o_booking_slot:last",
            run: "click",
        },
        {
            content: "Enter a name",
            trigger: "input[name=name]",
            run: "edit Tess Tour",
        },
        {
            content: "Enter an email",
            trigger: "input[name=email]",
            run: "edit tour.guest@example.com",
        },
        {
            content: "A phone number the server refuses (the browser doesn't check it)",
            trigger: "input[name=phone]",
            run: "edit call me maybe",
        },
        {
            content: "Confirm",
            trigger: ".o_booking_confirm:enabled",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The server explains what is wrong",
            trigger: ".o_booking_error:contains(phone number)",
        },
        {
            content: "The chosen slot is still chosen",
            trigger: ".o_booking_slot.active",
        },
        {
            content: "And shown",
            trigger: ".o_booking_selected:contains(Selected)",
        },
        {
            content: "Fix the phone number",
            trigger: "input[name=phone]",
            run: "edit +81 3 1234 5678",
        },
        ...confirmSteps("Confirm again"),
    ],
});

registry.category("web_tour.tours").add("zoom_booking_cancel_asks_first", {
    steps: () => [
        {
            content: "Ask to cancel",
            trigger: ".o_booking_cancel",
            run: "click",
        },
        {
            content: "The page asks first; keep the booking",
            trigger: ".o_booking_cancel_form .o_booking_cancel_keep",
            run: "click",
        },
        {
            content: "Nothing was cancelled",
            trigger: ".o_booking_confirmed:not(:has(.o_booking_cancel_form:visible))",
        },
        {
            content: "Ask again",
            trigger: ".o_booking_cancel",
            run: "click",
        },
        {
            content: "Tell the host why, on two lines",
            trigger: ".o_booking_cancel_form textarea[name=reason]",
            async run(helpers) {
                await helpers.edit("Something came up.\nSorry!");
            },
        },
        {
            content: "Confirm the cancellation",
            trigger: ".o_booking_cancel_confirm",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Cancelled, with a way to book again",
            trigger: ".o_booking_cancelled ~ .o_booking_book_again",
        },
    ],
});

registry.category("web_tour.tours").add("zoom_booking_book_with_questions", {
    steps: () => [
        {
            content: "Pick the first free slot",
            trigger: ".o_booking_day_slots .o_booking_slot:first",
            run: "click",
        },
        {
            content: "Enter a name",
            trigger: "input[name=name]",
            run: "edit Tess Team",
        },
        {
            content: "Enter an email",
            trigger: "input[name=email]",
            run: "edit tess.team@example.com",
        },
        {
            content: "Answer the host's first question",
            trigger: ".o_booking_question:contains(Company) input",
            run: "edit Yamada Trading",
        },
        {
            content: "Choose an option",
            trigger: ".o_booking_question select",
            run: "select 51+",
        },
        {
            content: "Write several lines",
            trigger: ".o_booking_question textarea",
            async run(helpers) {
                await helpers.edit("A demo\nof the reports");
            },
        },
        {
            content: "Tick the required checkbox",
            trigger: ".o_booking_question input[type=checkbox]",
            run: "click",
        },
        ...confirmSteps(),
    ],
});
