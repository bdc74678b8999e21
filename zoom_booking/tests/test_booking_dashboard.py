"""The dashboard shows, at a glance, which calendars make Zoom meetings and
which are in trouble."""

from odoo.exceptions import AccessError
from odoo.fields import Command
from odoo.tests import tagged

from .test_zoom_meeting import ZoomMeetingCase


@tagged("post_install", "-at_install")
class TestBookingDashboard(ZoomMeetingCase):
    def test_dashboard_tour(self):
        self.calendar.name = "Connected call"
        self.book_zoom()
        self.create_booking_calendar(
            self.other_host,
            name="Unconnected call",
            slug="zb-unconnected",
            online_meeting_provider="zoom",
        )
        self.create_booking_calendar(
            self.host,
            name="Discuss call",
            slug="zb-discuss",
            online_meeting_provider="discuss",
        )
        self.create_booking_calendar(
            self.host,
            name="Team call",
            slug="zb-team-call",
            online_meeting_provider="zoom",
            assignment="round_robin",
            host_ids=[Command.set((self.host | self.other_host).ids)],
        )
        self.start_tour(
            "/odoo/action-zoom_booking.action_booking_calendar_dashboard",
            "zoom_booking_dashboard",
            login=self.booking_admin.login,
        )

    def test_tour_the_host_connects_zoom_from_the_dashboard(self):
        calendar = self.create_booking_calendar(
            self.other_host,
            name="Unconnected call",
            slug="zb-unconnected",
            online_meeting_provider="zoom",
        )
        self.start_tour(
            "/odoo/action-zoom_booking.action_booking_calendar_dashboard",
            "zoom_booking_dashboard_connect",
            login=self.other_host.login,
        )
        # The button starts the host's own connection (Odoo's connect route,
        # then Zoom's authorize screen, as the Connect button of Preferences).
        action = calendar.with_user(self.other_host).action_zoom_connect()
        self.assertEqual(action["url"], "/zoom_booking/oauth/connect")
        # Nobody else connects the host's Zoom from their calendar.
        with self.assertRaises(AccessError):
            calendar.with_user(self.booking_admin).action_zoom_connect()

    def test_public_links_of_many_calendars(self):
        calendars = self.env["booking.calendar"].search([])
        self.assertGreater(len(calendars), 1)
        for calendar in calendars:
            self.assertTrue(calendar.public_url.endswith(f"/book/{calendar.slug}"))


@tagged("post_install", "-at_install")
class TestZoomSettings(ZoomMeetingCase):
    def test_tour_the_urls_to_copy_into_zoom_show_whole(self):
        # A real server's address is longer than the tests' 127.0.0.1.
        base_url = "https://booking.a-rather-long-company-name.example.co.jp/erp-prod"
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("web.base.url", base_url)
        params.set_param("web.base.url.freeze", True)  # the admin's login keeps it
        self.start_tour(
            "/odoo/action-zoom_booking.action_zoom_booking_config_settings",
            "zoom_booking_settings_urls",
            login="admin",
        )

    def test_tour_the_urls_show_whole_in_japanese_too(self):
        # Japanese labels are longer or shorter: the URLs still show whole.
        self.env["res.lang"]._activate_lang("ja_JP")
        self.env["ir.module.module"]._load_module_terms(["zoom_booking"], ["ja_JP"])
        self.env.ref("base.user_admin").lang = "ja_JP"
        view = self.env.ref("zoom_booking.res_config_settings_view_form")
        self.assertIn(
            "リダイレクトURL（OAuth Redirect URL と Allow List）",
            view.with_context(lang="ja_JP").arch_db,
        )
        self.test_tour_the_urls_to_copy_into_zoom_show_whole()
