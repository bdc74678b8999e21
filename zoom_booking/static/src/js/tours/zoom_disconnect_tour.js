/** @odoo-module **/

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("zoom_booking_disconnect", {
    steps: () => [
        {
            content: "The Zoom page says who is connected",
            trigger: ".o_zoom_connected:contains(Connected as)",
        },
        {
            content: "Disconnect",
            trigger: "button.o_zoom_disconnect",
            run: "click",
        },
        {
            content: "Odoo first says what will happen",
            trigger:
                ".modal .o_zoom_disconnect_preview:contains(1 upcoming bookings will lose their Zoom link in Odoo; the meetings stay in your Zoom account.)",
        },
        {
            content: "Confirm",
            trigger: ".modal button.o_zoom_disconnect_confirm",
            run: "click",
        },
        {
            content: "The page now offers to connect again",
            trigger: ".o_zoom_not_connected",
        },
        {
            trigger: "button.o_zoom_connect",
        },
    ],
});
