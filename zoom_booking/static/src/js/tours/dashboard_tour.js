/** @odoo-module **/

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("zoom_booking_dashboard", {
    steps: () => [
        {
            content: "A Zoom calendar whose host is connected: the Zoom mark, no warning",
            trigger:
                ".o_kanban_record:contains(Connected call):has(.o_booking_zoom_badge):not(:has(.o_booking_zoom_warning))",
        },
        {
            content: "A Zoom calendar whose host is not connected is in trouble",
            trigger:
                ".o_kanban_record:contains(Unconnected call):has(.o_booking_zoom_badge) .o_booking_zoom_warning",
        },
        {
            content: "Only the host connects their Zoom: no Connect button for a manager",
            trigger:
                ".o_kanban_record:contains(Unconnected call) .o_booking_zoom_warning:not(:has(.o_booking_zoom_connect))",
        },
        {
            content: "Upcoming bookings are counted",
            trigger: ".o_kanban_record:contains(Connected call) .o_booking_upcoming:contains(1 upcoming)",
        },
        {
            content: "A team calendar shows each host's Zoom: Hana connected",
            trigger:
                ".o_kanban_record:contains(Team call) .o_booking_host_state.o_booking_host_connected:contains(Hana Host)",
        },
        {
            content: "... and Oscar not, with a warning naming him",
            trigger:
                ".o_kanban_record:contains(Team call):has(.o_booking_host_state.o_booking_host_not_connected:contains(Oscar Other)) .o_booking_zoom_warning:contains(Oscar Other)",
        },
        {
            content: "Each card can copy its public link",
            trigger: ".o_kanban_record:contains(Discuss call) .o_booking_copy_link button",
        },
    ],
});

registry.category("web_tour.tours").add("zoom_booking_dashboard_connect", {
    steps: () => [
        {
            content: "The host's own calendar in trouble offers to connect Zoom",
            trigger: ".o_kanban_record:contains(Unconnected call) .o_booking_zoom_connect",
        },
    ],
});

/** True when the element shows its whole text, not cut off. */
function showsWhole(selector) {
    const element = document.querySelector(selector);
    return Boolean(element) && element.scrollWidth <= element.clientWidth + 1;
}

registry.category("web_tour.tours").add("zoom_booking_settings_urls", {
    steps: () => [
        {
            content: "The URLs to copy into Zoom are on the Zoom Booking settings",
            trigger: ".o_zoom_app_urls div[name=zoom_webhook_url]:contains(a-rather-long-company-name.example.co.jp/erp-prod/zoom_booking/webhook)",
        },
        {
            content: "The Redirect URL shows whole, not cut off",
            trigger: ".o_zoom_app_urls div[name=zoom_redirect_url] > div > span",
            run() {
                if (!showsWhole(".o_zoom_app_urls div[name=zoom_redirect_url] > div > span")) {
                    throw new Error("The Redirect URL is cut off");
                }
            },
        },
        {
            content: "The Webhook URL shows whole, not cut off",
            trigger: ".o_zoom_app_urls div[name=zoom_webhook_url] > div > span",
            run() {
                if (!showsWhole(".o_zoom_app_urls div[name=zoom_webhook_url] > div > span")) {
                    throw new Error("The Webhook URL is cut off");
                }
            },
        },
    ],
});
