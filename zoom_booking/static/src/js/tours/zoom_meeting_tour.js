/** @odoo-module **/

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("zoom_booking_book_zoom_meeting", {
    steps: () => [
        {
            content: "The page says the booking comes with a Zoom meeting",
            trigger: ".o_booking_provider:contains(Zoom)",
        },
        {
            content: "Pick the first free slot",
            trigger: ".o_booking_day_slots .o_booking_slot:first",
            run: "click",
        },
        {
            content: "Enter a name",
            trigger: "input[name=name]",
            run: "edit Zara Zoomer",
        },
        {
            content: "Enter an email",
            trigger: "input[name=email]",
            run: "edit zara.zoomer@example.com",
        },
        {
            content: "Confirm",
            trigger: ".o_booking_confirm:enabled",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The confirmation shows the Zoom join button",
            trigger: ".o_booking_confirmation a.o_booking_zoom_join[href*='/j/']",
        },
        {
            content: "and the meeting ID and passcode",
            trigger: ".o_booking_zoom_details:has(.o_booking_zoom_meeting_id):has(.o_booking_zoom_passcode)",
        },
    ],
});
