"""Tokens and Zoom secrets never reach ordinary users, whatever they ask for."""

from odoo.tests import tagged
from odoo.tests.common import JsonRpcException

from .common import CLIENT_SECRET, WEBHOOK_SECRET, ZoomBookingCase

SECRET_FIELDS = ["access_token", "refresh_token", "token_expires_at"]


@tagged("post_install", "-at_install")
class TestZoomSecretsStayWithAdmins(ZoomBookingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.secrets = []

    def setUp(self):
        super().setUp()
        self.host_connection = self.connect_zoom(self.host)
        self.other_connection = self.connect_zoom(self.other_host)
        self.secrets = [
            value
            for conn in (self.host_connection, self.other_connection)
            for value in (conn.access_token, conn.refresh_token)
        ] + [CLIENT_SECRET, WEBHOOK_SECRET]
        self.authenticate(self.host.login, self.host.login)

    def test_token_fields_cannot_be_read(self):
        for method, args, kwargs in [
            ("read", [[self.host_connection.id], SECRET_FIELDS], {}),
            ("search_read", [[]], {"fields": SECRET_FIELDS}),
            ("web_search_read", [], {"specification": {"access_token": {}}}),
            ("search", [[("access_token", "!=", False)]], {}),
        ]:
            with self.subTest(method=method):
                with self.assertRaises(JsonRpcException):
                    self.call_kw("zoom.connection", method, args, kwargs)

    def test_reading_everything_shows_no_token(self):
        records = self.call_kw("zoom.connection", "search_read", [[]], {})
        self.assertEqual([r["id"] for r in records], self.host_connection.ids)
        self.assertNotIn("access_token", records[0])
        self.assert_no_secret(records)
        fields = self.call_kw("zoom.connection", "fields_get", [], {})
        self.assertNotIn("refresh_token", fields)

    def test_a_user_sees_only_their_own_connection(self):
        found = self.call_kw("zoom.connection", "search", [[]])
        self.assertEqual(found, self.host_connection.ids)
        with self.assertRaises(JsonRpcException):
            self.call_kw(
                "zoom.connection", "read", [self.other_connection.ids, ["zoom_email"]]
            )

    def test_users_cannot_write_their_connection(self):
        for method, args in [
            ("write", [self.host_connection.ids, {"zoom_email": "x@example.com"}]),
            ("create", [{"user_id": self.host.id}]),
            ("unlink", [self.host_connection.ids]),
        ]:
            with self.subTest(method=method):
                with self.assertRaises(JsonRpcException):
                    self.call_kw("zoom.connection", method, args)

    def test_secrets_not_in_settings_or_parameters(self):
        with self.assertRaises(JsonRpcException):
            self.call_kw(
                "ir.config_parameter",
                "search_read",
                [[("key", "like", "zoom_booking.")]],
                {"fields": ["key", "value"]},
            )
        with self.assertRaises(JsonRpcException):
            self.call_kw("res.config.settings", "create", [{}])
        fields = self.call_kw("res.config.settings", "fields_get", [], {})
        self.assertNotIn("zoom_client_secret", fields)
        self.assertNotIn("zoom_webhook_secret_token", fields)

    def test_web_client_session_carries_no_secret(self):
        info = self.make_jsonrpc_request("/web/session/get_session_info")
        self.assert_no_secret(info)
        page = self.url_open("/odoo")
        self.assertEqual(page.status_code, 200)
        self.assert_no_secret(page.text)

    def test_own_user_record_shows_state_not_tokens(self):
        (me,) = self.call_kw(
            "res.users",
            "read",
            [[self.host.id], ["zoom_connection_state", "zoom_email"]],
        )
        self.assertEqual(me["zoom_connection_state"], "connected")
        self.assert_no_secret(me)

    def test_admins_can_see_tokens(self):
        conn = self.host_connection.with_user(self.system_admin)
        self.assertTrue(conn.access_token)
