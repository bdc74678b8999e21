"""Visitors, portal users and plain colleagues reach no Zoom secret, no token
and nobody else's booking: over JSON-RPC, on the guests' pages, and through
the OAuth routes, which never send the browser off-site."""

from urllib.parse import parse_qs, urlencode, urljoin, urlparse

from odoo.tests import tagged
from odoo.tests.common import JsonRpcException

from .common import CLIENT_SECRET, WEBHOOK_SECRET, make_user
from .test_booking_flow import BookingHttpCase

EVIL = "https://evil.example/steal"
NOT_FOUND = "This booking page does not exist"

# Calls about Zoom's secrets that nobody but an administrator may make.
ADMIN_ONLY_CALLS = [
    ("ir.config_parameter", "get_param", ["zoom_booking.client_secret"], {}),
    ("ir.config_parameter", "get_param", ["zoom_booking.webhook_secret_token"], {}),
    (
        "ir.config_parameter",
        "search_read",
        [[("key", "like", "zoom_booking.")]],
        {"fields": ["key", "value"]},
    ),
    ("res.config.settings", "create", [{"zoom_client_id": "x"}], {}),
    ("zoom.webhook.event", "search_read", [[]], {}),
    ("zoom.webhook.event", "read_group", [[], ["event"], ["event"]], {}),
]


class SecurityCase(BookingHttpCase):
    """Two connected hosts, a booking on each, and every secret they hold."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.colleague = make_user(cls.env, "zb_colleague", "Cleo Colleague")
        cls.other_calendar = cls.create_other_calendar()

    def setUp(self):
        super().setUp()
        self.host_connection = self.connect_zoom(self.host)
        self.other_connection = self.connect_zoom(self.other_host)
        self.authenticate(None, None)
        self.booking = self.book_as_guest(self.calendar, "gina.guest@example.com")
        self.other_booking = self.book_as_guest(
            self.other_calendar, "olga.guest@example.com"
        )
        self.webhook_event = (
            self.env["zoom.webhook.event"]
            .sudo()
            .create({"event": "meeting.deleted", "dedupe_key": "zb-security-test"})
        )
        self.secrets = self.secret_values()

    def book_as_guest(self, calendar, email):
        response = self.book(self.next_slot(), slug=calendar.slug, email=email)
        self.assertEqual(response.status_code, 303, response.text[:500])
        booking = self.bookings(calendar)
        self.assertTrue(booking.zoom_join_url, "the Zoom meeting should exist")
        return booking

    def secret_values(self):
        """Every secret string a visitor could hope to find."""
        values = [CLIENT_SECRET, WEBHOOK_SECRET]
        for connection in (self.host_connection, self.other_connection):
            tokens = connection.sudo()._token_values()
            values += [tokens["access_token"], tokens["refresh_token"]]
        for booking in (self.booking, self.other_booking):
            values += [booking.sudo().booking_access_token, booking.zoom_join_url]
        self.assertTrue(all(values))
        return values

    # ------------------------------------------------------------ helpers
    def assert_refused(self, model, method, args, kwargs=None):
        with self.subTest(model=model, method=method, args=repr(args)[:60]):
            with self.assertRaises(JsonRpcException):
                self.call_kw(model, method, args, kwargs)

    def assert_not_found_page(self, response, where):
        self.assertEqual(response.status_code, 404, where)
        self.assertIn(NOT_FOUND, response.text, where)
        self.assert_no_secret(response.text, where)

    def booking_routes_refuse(self, token):
        """The four routes of a booking, tried with a token that is not one."""
        csrf = self.csrf()
        path = f"/book/booking/{token}"
        self.assert_not_found_page(self.url_open(path), path)
        self.assert_not_found_page(self.url_open(f"{path}/reschedule"), path)
        response = self.url_open(f"{path}/slots?start=2030-01-01&end=2030-01-01&tz=UTC")
        self.assertEqual(response.status_code, 404, path)
        self.assert_no_secret(response.text, path)
        response = self.url_open(f"{path}/cancel", data={"csrf_token": csrf})
        self.assert_not_found_page(response, path)
        response = self.url_open(
            f"{path}/reschedule",
            data={"csrf_token": csrf, "start": self.iso(self.next_slot(days=3))},
        )
        self.assert_not_found_page(response, path)

    def assert_settings_defaults_hide_the_secrets(self):
        """Settings are a transient model: anyone may ask for its defaults."""
        fields = ["zoom_client_id", "zoom_client_secret", "zoom_webhook_secret_token"]
        try:
            self.call_kw("res.config.settings", "default_get", [fields])
        except JsonRpcException:
            pass  # refusing is as good as hiding
        self.call_kw("res.config.settings", "get_values", [])

    def assert_nothing_zoom_at_all(self):
        """Public and portal users: no Zoom model, no secret setting, no booking."""
        booking_ids = (self.booking | self.other_booking).ids
        for model, method, args, kwargs in ADMIN_ONLY_CALLS + [
            ("zoom.connection", "search_read", [[]], {}),
            ("zoom.connection", "search", [[]], {}),
            ("zoom.connection", "read", [self.host_connection.ids, ["zoom_email"]], {}),
            ("zoom.call.log", "search_read", [[]], {}),
            ("zoom.data.purge", "search_read", [[]], {}),
            ("calendar.event", "read", [booking_ids, ["name"]], {}),
            ("calendar.event", "read", [booking_ids, ["booking_access_token"]], {}),
            ("calendar.event", "read", [booking_ids, ["zoom_join_url"]], {}),
            (
                "calendar.event",
                "search_read",
                [[("booking_calendar_id", "!=", False)]],
                {"fields": ["booking_access_token", "booking_url"]},
            ),
        ]:
            self.assert_refused(model, method, args, kwargs)


@tagged("post_install", "-at_install")
class TestPublicVisitor(SecurityCase):
    def test_json_rpc_is_closed_to_visitors(self):
        self.authenticate(None, None)
        self.assert_nothing_zoom_at_all()
        self.assert_refused(
            "res.config.settings",
            "default_get",
            [["zoom_client_secret", "zoom_webhook_secret_token"]],
        )

    def test_a_booking_is_reached_only_by_its_own_token(self):
        self.authenticate(None, None)
        page = self.url_open(f"/book/booking/{self.booking.booking_access_token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn(self.booking.zoom_join_url.replace("&", "&amp;"), page.text)
        own = (self.booking.booking_access_token, self.booking.zoom_join_url)
        for secret in self.secrets:
            if secret not in own:
                self.assertNotIn(secret, page.text)
        token = self.booking.booking_access_token
        for wrong in (
            "short",
            token[:19],
            token[:-1],
            token + "x",
            token.swapcase(),
            "x" * 129,
            str(self.booking.id),
            self.host_connection.sudo().access_token,
            self.other_connection.sudo().refresh_token,
            self.csrf(),
            self.calendar.slug,
            "%C3%A9" * 25,
        ):
            with self.subTest(token=wrong[:30]):
                self.booking_routes_refuse(wrong)
        self.assertEqual(self.booking.booking_state, "confirmed")

    def test_public_pages_show_no_secret(self):
        self.authenticate(None, None)
        start = self.next_slot(days=2)
        for path in (
            f"/book/{self.calendar.slug}",
            f"/book/{self.calendar.slug}/slots?start={start.date()}"
            f"&end={start.date()}&tz=UTC",
            f"/book/{self.other_calendar.slug}",
            "/web/login",
        ):
            with self.subTest(path=path):
                response = self.url_open(path)
                self.assertEqual(response.status_code, 200)
                self.assert_no_secret(response.text, path)


@tagged("post_install", "-at_install")
class TestPortalUser(SecurityCase):
    def test_json_rpc_gives_a_portal_user_nothing(self):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        self.assert_nothing_zoom_at_all()
        # Their own calendar access shows no booking of anybody else.
        found = self.call_kw(
            "calendar.event",
            "search_read",
            [[("booking_calendar_id", "!=", False)]],
            {"fields": ["name"]},
        )
        self.assertEqual(found, [])
        info = self.make_jsonrpc_request("/web/session/get_session_info")
        self.assert_no_secret(info, "session info")

    def test_settings_defaults_hide_the_secrets(self):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        self.assert_settings_defaults_hide_the_secrets()

    def test_portal_user_cannot_connect_zoom(self):
        self.authenticate(self.portal_user.login, self.portal_user.login)
        response = self.url_open("/zoom_booking/oauth/connect", allow_redirects=False)
        self.assertEqual(response.status_code, 403)
        self.assertNotIn("Location", response.headers)
        self.assertFalse(
            self.env["zoom.connection"]
            .sudo()
            .search([("user_id", "=", self.portal_user.id)])
        )


@tagged("post_install", "-at_install")
class TestPlainColleague(SecurityCase):
    """An internal user who hosts nothing and has no Zoom: the other kinds of
    secrets than test_zoom_access checks for a connected host."""

    def setUp(self):
        super().setUp()
        self.authenticate(self.colleague.login, self.colleague.login)

    def test_no_zoom_connection_is_visible(self):
        self.assertEqual(self.call_kw("zoom.connection", "search", [[]]), [])
        self.assertEqual(self.call_kw("zoom.connection", "search_read", [[]]), [])
        self.assert_refused(
            "zoom.connection",
            "read",
            [(self.host_connection | self.other_connection).ids, ["zoom_email"]],
        )
        self.assert_refused(
            "zoom.connection",
            "web_search_read",
            [[]],
            {"specification": {"refresh_token": {}}},
        )

    def test_no_admin_only_call(self):
        for model, method, args, kwargs in ADMIN_ONLY_CALLS:
            self.assert_refused(model, method, args, kwargs)
        self.assert_refused("zoom.webhook.event", "read", [self.webhook_event.ids])

    def test_settings_defaults_hide_the_secrets(self):
        self.assert_settings_defaults_hide_the_secrets()

    def test_zoom_calls_of_others_stay_hidden(self):
        logs = self.env["zoom.call.log"].sudo().search([])
        self.assertTrue(logs, "creating the meetings was logged")
        self.assertEqual(self.call_kw("zoom.call.log", "search", [[]]), [])
        self.assert_refused("zoom.call.log", "read", [logs.ids, ["path"]])

    def test_booking_tokens_of_others_stay_hidden(self):
        # Odoo shares the calendar among colleagues, online meeting included:
        # only the guests' secret links must stay with the guests.
        join_urls = {self.booking.zoom_join_url, self.other_booking.zoom_join_url}
        self.secrets = [value for value in self.secrets if value not in join_urls]
        booking_ids = (self.booking | self.other_booking).ids
        for booking_id in booking_ids:
            self.assert_refused(
                "calendar.event", "read", [[booking_id], ["booking_access_token"]]
            )
            # The link is refused, or empty for anyone but the host.
            try:
                (record,) = self.call_kw(
                    "calendar.event", "read", [[booking_id], ["booking_url"]]
                )
            except JsonRpcException:
                continue
            self.assertFalse(record["booking_url"])
        # What a colleague may read of a booking (Odoo shares the calendar)
        # carries no guest link.
        records = self.call_kw("calendar.event", "read", [booking_ids])
        self.assertEqual(len(records), 2)
        records = self.call_kw(
            "calendar.event",
            "web_search_read",
            [[("booking_calendar_id", "!=", False)]],
            {"specification": {"name": {}, "booking_state": {}}},
        )
        self.assertEqual(records["length"], 2)

    def test_session_and_web_client_carry_no_secret(self):
        self.assert_no_secret(
            self.make_jsonrpc_request("/web/session/get_session_info"), "session"
        )
        page = self.url_open("/odoo/calendar")
        self.assertEqual(page.status_code, 200)
        self.assert_no_secret(page.text, "web client")


@tagged("post_install", "-at_install")
class TestOAuthRedirects(SecurityCase):
    """Connect goes to the configured Zoom only; the callback only home."""

    def assert_stays_on_site(self, response, where):
        location = response.headers.get("Location")
        if location:
            target = urlparse(urljoin(self.base_url() + "/", location))
            self.assertEqual(target.netloc, urlparse(self.base_url()).netloc, where)
            # The login page's way back must be local too.
            for back in parse_qs(target.query).get("redirect", []):
                self.assertFalse(urlparse(back).netloc, where)
                self.assertTrue(back.startswith("/"), where)
        self.assertNotIn('href="https://evil.example', response.text, where)
        self.assertNotIn('http-equiv="refresh"', response.text.lower(), where)
        self.assertLess(response.status_code, 500, where)

    def test_connect_goes_only_to_the_configured_zoom(self):
        zoom = urlparse(self.zoom.url)
        for extra in ("", f"redirect={EVIL}", f"next={EVIL}", f"redirect_uri={EVIL}"):
            with self.subTest(extra=extra):
                self.authenticate(self.colleague.login, self.colleague.login)
                response = self.url_open(
                    f"/zoom_booking/oauth/connect?{extra}",
                    allow_redirects=False,
                    headers={"X-Forwarded-Host": "evil.example"},
                )
                self.assertEqual(response.status_code, 303)
                target = urlparse(response.headers["Location"])
                self.assertEqual(
                    (target.scheme, target.netloc, target.path),
                    (zoom.scheme, zoom.netloc, "/oauth/authorize"),
                )
                redirect_uri = parse_qs(target.query)["redirect_uri"][0]
                self.assertEqual(
                    redirect_uri,
                    self.env["ir.config_parameter"].sudo().get_param("web.base.url")
                    + "/zoom_booking/oauth/callback",
                )
        # A real Zoom app: straight to zoom.us, nowhere else.
        self.env["ir.config_parameter"].sudo().set_param(
            "zoom_booking.oauth_base_url", "https://zoom.us"
        )
        response = self.url_open("/zoom_booking/oauth/connect", allow_redirects=False)
        self.assertTrue(
            response.headers["Location"].startswith("https://zoom.us/oauth/authorize?")
        )

    def test_callback_cannot_be_an_open_redirect(self):
        hostile = [
            {"redirect": EVIL},
            {"next": EVIL},
            {"redirect_uri": EVIL},
            {"return_to": EVIL, "url": EVIL},
            {"state": EVIL},
            {"state": "//evil.example/x"},
            {"state": f"1.2.{EVIL}.sig", "code": "abc"},
            {"error": EVIL, "state": "1.2.3.4"},
            {"code": EVIL},
            {"redirect": "//evil.example", "next": "/\\evil.example"},
        ]
        for login in (self.colleague.login, self.host.login, None):
            for params in hostile:
                with self.subTest(login=login, params=params):
                    self.authenticate(login, login)
                    response = self.url_open(
                        "/zoom_booking/oauth/callback?" + urlencode(params),
                        allow_redirects=False,
                    )
                    self.assert_stays_on_site(response, f"{login} {params}")

    def test_a_real_callback_still_goes_home(self):
        """Zoom's genuine answer with hostile extras lands on the user's Zoom page."""
        self.zoom.add_user(self.colleague.email, first_name="Cleo")
        self.zoom.set_authorizing_user(self.colleague.email)
        for extra in ({"redirect": EVIL}, {"next": EVIL, "redirect_uri": EVIL}):
            with self.subTest(extra=extra):
                self.authenticate(self.colleague.login, self.colleague.login)
                connect = self.url_open(
                    "/zoom_booking/oauth/connect", allow_redirects=False
                )
                callback = self.zoom.approve(connect.headers["Location"])
                response = self.url_open(
                    "/zoom_booking/oauth/callback?"
                    + urlparse(callback).query
                    + "&"
                    + urlencode(extra),
                    allow_redirects=False,
                )
                self.assertEqual(response.status_code, 303, response.text[:500])
                self.assert_stays_on_site(response, str(extra))
                self.assertTrue(
                    response.headers["Location"].endswith(
                        "/odoo/action-zoom_booking.action_my_zoom_connection"
                    )
                )
