"""Shared set-up of zoom_booking's tests: users, the Zoom double, settings.

The Zoom double lives with these tests (``zoom_double`` beside this file), never
in the addon's runtime code, so the addon's suite runs with the addon alone.
Tests reach it over real HTTP on loopback, through the addon's configurable base
URLs. When
``ZOOM_DOUBLE_URL`` is set the tests expect a double already running there
(the benchmark does that); otherwise one is started in this process.
"""

import json
import os
import time
from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

from odoo.sql_db import TestCursor
from odoo.tests import HttpCase, new_test_user
from odoo.tests.common import ChromeBrowser

from .zoom_double import ZoomDouble

CLIENT_ID = "zoom-booking-test-client"
CLIENT_SECRET = "zoom-booking-test-client-secret"
WEBHOOK_SECRET = "odoo-zoom-test-secret"

_double = None

# The people of the tests: attribute -> (login, name, groups, other values).
TEST_USERS = {
    "host": ("zb_host", "Hana Host", "base.group_user", {"tz": "Asia/Tokyo"}),
    "other_host": (
        "zb_other_host",
        "Oscar Other",
        "base.group_user",
        {"tz": "Europe/Berlin"},
    ),
    "booking_admin": (
        "zb_booking_admin",
        "Bea Admin",
        "base.group_user,zoom_booking.group_booking_manager",
        {},
    ),
    "system_admin": (
        "zb_system_admin",
        "Sam System",
        "base.group_user,base.group_system",
        {},
    ),
    "portal_user": ("zb_portal", "Paula Portal", "base.group_portal", {}),
}


def make_user(env, login, name, groups="base.group_user", **values):
    """A test user (password = login) with an email made from the name."""
    values.setdefault("email", name.lower().replace(" ", ".") + "@example.com")
    return new_test_user(env, login=login, name=name, groups=groups, **values)


def get_zoom_double():
    """The process-wide Zoom double, started on first use."""
    global _double
    if _double is None:
        _double = ZoomDouble(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            webhook_secret=WEBHOOK_SECRET,
        )
        _double.start()
    return _double


@contextmanager
def postcommit_hooks_run():
    """Run post-commit hooks when a test cursor commits, as a real cursor does.

    Odoo's ``TestCursor.commit`` drops them; zoom_booking talks to Zoom after
    commit, so HTTP tests need the production behaviour back.
    """
    original = TestCursor.commit

    def commit(cursor):
        # TestCursor.commit, but running the post-commit hooks as Cursor.commit does.
        cursor._check("commit")
        cursor.flush()
        if cursor._savepoint:
            cursor._savepoint.close(rollback=cursor.readonly)
            cursor._savepoint = None
        cursor.clear()
        cursor.prerollback.clear()
        cursor.postrollback.clear()
        cursor.postcommit.run()

    TestCursor.commit = commit
    try:
        yield
    finally:
        TestCursor.commit = original


class ZoomBookingCase(HttpCase):
    """Users, a running Zoom double and the addon pointed at it."""

    # What no answer to an ordinary user may hold (a test sets its own).
    secrets = ()

    def call_kw(self, model, method, args, kwargs=None):
        """A JSON-RPC call as the web client makes it, as the logged-in user;
        its answer holds none of ``secrets``."""
        result = self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )
        self.assert_no_secret(result, f"{model}.{method}")
        return result

    def assert_no_secret(self, payload, where=""):
        text = payload if isinstance(payload, str) else repr(payload)
        for secret in self.secrets:
            self.assertNotIn(secret, text, f"a secret leaks in {where}")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.zoom = get_zoom_double()
        cls.zoom.reset()
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("zoom_booking.client_id", CLIENT_ID)
        params.set_param("zoom_booking.client_secret", CLIENT_SECRET)
        params.set_param("zoom_booking.webhook_secret_token", WEBHOOK_SECRET)
        params.set_param("zoom_booking.oauth_base_url", cls.zoom.url)
        params.set_param("zoom_booking.api_base_url", cls.zoom.url + "/v2")
        # Tests book far more than a guest may: the limits have tests of their own.
        params.set_param("zoom_booking.bookings_per_address_hour", 0)
        params.set_param("zoom_booking.bookings_per_email_day", 0)
        for attribute, (login, name, groups, values) in TEST_USERS.items():
            setattr(cls, attribute, make_user(cls.env, login, name, groups, **values))
        cls.enterClassContext(postcommit_hooks_run())

    def setUp(self):
        super().setUp()
        self.zoom.reset()
        self.addCleanup(self.zoom.reset)

    # ----------------------------------------------------------- helpers
    def connect_zoom(self, user, zoom_email=None):
        """Connect ``user``'s Zoom account through the real OAuth flow over HTTP:
        Connect in Odoo, Authorize at the double, back to Odoo's callback."""
        zoom_email = zoom_email or user.email
        if zoom_email.lower() not in {u["email"].lower() for u in self.zoom.users()}:
            self.zoom.add_user(zoom_email, first_name=user.name.split()[0])
        self.zoom.set_authorizing_user(zoom_email)
        self.authenticate(user.login, user.login)
        response = self.url_open("/zoom_booking/oauth/connect", allow_redirects=False)
        self.assertEqual(response.status_code, 303, response.text[:500])
        authorize_url = response.headers["Location"]
        callback = self.zoom.approve(authorize_url)
        query = urlparse(callback).query
        response = self.url_open(
            "/zoom_booking/oauth/callback?" + query, allow_redirects=False
        )
        self.assertEqual(response.status_code, 303, response.text[:2000])
        connection = (
            self.env["zoom.connection"].sudo().search([("user_id", "=", user.id)])
        )
        self.assertEqual(connection.state, "connected")
        return connection

    @contextmanager
    def chromium(self, login, url_path):
        """Open ``url_path`` in headless Chromium as ``login`` and yield a page
        driver for flows that leave Odoo (tours cannot follow to Zoom's screen)."""
        browser = ChromeBrowser(self)
        try:
            self.authenticate(login, login, browser=browser)
            self.cr.flush()
            self.cr.clear()
            browser.navigate_to(self.base_url() + url_path, wait_stop=True)
            yield BrowserPage(browser)
        finally:
            browser.stop()
            self._wait_remaining_requests()

    @staticmethod
    def query_of(url):
        return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}

    def json_rpc(self, model, method, args, kwargs=None):
        """A JSON-RPC call as the web client makes it, by the signed-in user:
        ``(result, error)``, the error as Odoo answers it (``data.name`` the
        exception, ``data.message`` what the user reads)."""
        params = {
            "model": model,
            "method": method,
            "args": args,
            "kwargs": kwargs or {},
        }
        response = self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        answer = response.json()
        return answer.get("result"), answer.get("error")


class BrowserPage:
    """A few plain operations on the page open in Chromium."""

    def __init__(self, browser):
        self.browser = browser

    def evaluate(self, expression):
        result = self.browser._websocket_request(
            "Runtime.evaluate",
            params={"expression": expression, "returnByValue": True},
        )
        return (result.get("result") or {}).get("value")

    def wait_for(self, expression, timeout=30, what=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except Exception:  # noqa: BLE001 - the page may be navigating
                value = None
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(
            f"Timed out waiting for {what or expression} "
            f"(page: {self.evaluate('location.href')}: {self.text()[:800]!r})"
        )

    def click(self, selector, timeout=60):
        self.wait_for(f"!!document.querySelector({selector!r})", timeout, selector)
        self.evaluate(f"document.querySelector({selector!r}).click()")

    def text(self):
        return self.evaluate("document.body ? document.body.innerText : ''") or ""


def env_flag(name):
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


class BookingCalendarMixin:
    """Helpers to create booking calendars and book them in tests."""

    @classmethod
    def create_booking_calendar(cls, host, env=None, all_week=False, **values):
        """A published booking calendar of ``host``; ``all_week``: open every day,
        all day long, in UTC, without notice (any future hour is a free slot)."""
        from odoo.fields import Command

        env = env or cls.env
        vals = {
            "name": "Test calendar",
            "host_id": host.id,
            "duration": 30,
            "is_published": True,
            "online_meeting_provider": "none",
        }
        if all_week:
            vals.update(
                tz="UTC",
                min_notice_hours=0,
                availability_ids=[Command.clear()]
                + [
                    Command.create({"weekday": str(day), "hour_from": 0, "hour_to": 24})
                    for day in range(7)
                ],
            )
        vals.update(values)
        return env["booking.calendar"].sudo().create(vals)

    @classmethod
    def create_other_calendar(cls):
        """A Zoom booking calendar of the other host, at /book/zb-other-call."""
        return cls.create_booking_calendar(
            cls.other_host,
            all_week=True,
            name="Other call",
            slug="zb-other-call",
            online_meeting_provider="zoom",
        )

    def busy_event(self, start, stop, user=None, **values):
        """An event that makes ``user`` (the host by default) busy."""
        from odoo.fields import Command

        user = user or self.host
        return self.env["calendar.event"].create(
            {
                "name": "Busy",
                "start": start,
                "stop": stop,
                "user_id": user.id,
                "partner_ids": [Command.set(user.partner_id.ids)],
                **values,
            }
        )

    def day_off(self, day, user=None):
        """An all-day busy event of ``user`` (the host by default) on ``day``."""
        from odoo.fields import Command

        user = user or self.host
        return self.env["calendar.event"].create(
            {
                "name": "Off",
                "allday": True,
                "start_date": day,
                "stop_date": day,
                "user_id": user.id,
                "partner_ids": [Command.set(user.partner_id.ids)],
                "show_as": "busy",
            }
        )

    @staticmethod
    def next_slot(days=1, hour=10):
        """A naive UTC datetime ``days`` from today at ``hour``:00."""
        from datetime import datetime, timedelta, timezone

        today = datetime.now(timezone.utc).replace(tzinfo=None)
        return (today + timedelta(days=days)).replace(
            hour=hour, minute=0, second=0, microsecond=0
        )

    @staticmethod
    def iso(value):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
