/** @odoo-module **/

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("zoom_booking_event_form", {
    steps: () => [
        {
            content: "Open the Zoom tab of the booking",
            trigger: ".o_notebook a[name=zoom]",
            run: "click",
        },
        {
            content: "Zoom refused the meeting: the status and the error show",
            trigger: ".o_notebook div[name=zoom_status]:contains(Failed)",
        },
        {
            trigger: ".o_notebook div[name=zoom_last_error]:contains(Validation Failed)",
        },
        {
            content: "The call made to Zoom is logged, with its status",
            trigger:
                ".o_notebook div[name=zoom_call_log_ids] .o_data_row:contains(/v2/users/me/meetings):contains(400)",
        },
        {
            content: "Retry now",
            trigger: "button.o_zoom_retry",
            run: "click",
        },
        {
            content: "The meeting exists now: its join URL and ID show",
            trigger: ".o_notebook div[name=zoom_status]:contains(Created)",
        },
        {
            trigger: ".o_notebook div[name=zoom_join_url] a[href*='/j/']",
        },
        {
            trigger: ".o_notebook div[name=zoom_meeting_id_display]:not(:empty)",
        },
        {
            content: "Nothing left to do for Zoom: no empty 'Zoom work' column",
            trigger: ".o_notebook:not(:has(.o_inner_group:contains(Zoom work)))",
        },
    ],
});
