"""Generated input on every public route: the answer is never a server error
and never shows a traceback, whatever a visitor or a fake Zoom sends."""

import json
import time
from urllib.parse import quote, urlencode

import pytz
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..tools.zoom_webhook import sign
from .common import WEBHOOK_SECRET
from .test_booking_flow import CSRF_RE, BookingHttpCase

LEAKS = ("Traceback", 'File "/', "odoo.exceptions")
MIN_REQUESTS = 1000


def fuzz(examples):
    """Hypothesis settings of one route: the same examples at every run (a
    problem found stays found), collected rather than raised, so nothing is
    shrunk, and no example database in the repository."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


# Inputs that broke web applications before, next to what hypothesis invents.
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "..",
    "../../web/database/manager",
    "%",
    "%00",
    "%ff%fe",
    "é",
    "日本語",
    "🙂",
    "\u202e",
    "\r\nX-Injected: 1",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "null",
    "[]",
    "{}",
    "-1",
    "1e309",
    "NaN",
    "9" * 40,
    "x" * 3000,
    "booking",
]
text = st.one_of(st.text(max_size=40), st.sampled_from(NASTY))
header_text = st.text(
    st.characters(min_codepoint=32, max_codepoint=126), max_size=80
).map(str.strip)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
dates = st.one_of(st.dates().map(str), text)
timezones = st.one_of(st.sampled_from(sorted(pytz.common_timezones)[::20]), text)
utc_starts = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")), text
)
emails = st.one_of(st.emails(), text)
hex_text = st.text(st.sampled_from("0123456789abcdef"), max_size=64)


def path_part(value):
    """``value`` as one path segment that reaches the addon's route: a "/"
    (even encoded) would make another path, which Odoo itself answers."""
    return quote(value.replace("/", "_"), safe="")


@tagged("post_install", "-at_install")
class TestFuzzPublicRoutes(BookingHttpCase):
    """Each test fuzzes one route family; the last one counts the requests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.request_count = 0
        cls.fuzzed = set()
        cls.started = time.monotonic()

    def setUp(self):
        super().setUp()
        self.problems = {}

    # ------------------------------------------------------------ helpers
    def hit(self, method, path, **kwargs):
        """Send one request; record it when it failed on the server's side."""
        type(self).request_count += 1
        kwargs.setdefault("timeout", 30)
        response = self.opener.request(
            method, self.base_url() + path, allow_redirects=False, **kwargs
        )
        leaks = [leak for leak in LEAKS if leak in response.text]
        if response.status_code >= 500 or leaks:
            what = f"{method} {path.split('?')[0][:60]} -> {response.status_code}"
            self.problems.setdefault(what, (path, kwargs.get("data"), leaks))
        return response

    def assert_no_problem(self, route):
        type(self).fuzzed.add(route)
        self.assertFalse(
            self.problems,
            "\n".join(
                f"{what}: path={path[:200]!r} data={str(data)[:300]!r} leaks={leaks}"
                for what, (path, data, leaks) in self.problems.items()
            ),
        )

    def free_starts(self):
        first, last = self.next_slot(days=2).date(), self.next_slot(days=9).date()
        response = self.hit(
            "GET", f"/book/{self.calendar.slug}/slots?start={first}&end={last}&tz=UTC"
        )
        return response.json()["slots"]

    # ------------------------------------------------------------ routes
    @mute_logger("odoo.http")
    def test_calendar_page(self):
        slugs = st.one_of(
            text,
            st.text(min_size=80, max_size=3000),
            st.just(self.calendar.slug).map(lambda s: s + "-x"),
            st.from_regex(r"\A[a-z0-9-]{1,90}\Z"),
        )

        @fuzz(150)
        @given(slug=slugs)
        def probe(slug):
            self.hit("GET", f"/book/{path_part(slug)}")

        probe()
        self.assert_no_problem("page")

    @mute_logger("odoo.http")
    def test_slots(self):
        slugs = st.one_of(st.just(self.calendar.slug), text)

        @fuzz(250)
        @given(
            slug=slugs,
            params=st.fixed_dictionaries(
                {},
                optional={"start": dates, "end": dates, "tz": timezones, "x": text},
            ),
        )
        def probe(slug, params):
            query = urlencode(params)
            self.hit("GET", f"/book/{path_part(slug)}/slots?{query}")

        probe()
        self.assert_no_problem("slots")

    @mute_logger("odoo.http")
    def test_booking_form(self):
        """Random answers to the booking form, with a valid CSRF token or not."""
        csrf = CSRF_RE.search(self.hit("GET", f"/book/{self.calendar.slug}").text)
        free = self.free_starts()
        starts = st.one_of(st.sampled_from(free), utc_starts)
        nearly_valid = st.fixed_dictionaries(
            {
                "start": st.sampled_from(free),
                "tz": st.one_of(st.just("Europe/Paris"), timezones),
                "name": text,
                "email": st.one_of(st.just("fuzz@example.com"), st.emails()),
                "phone": st.one_of(st.just(""), text),
                "notes": text,
                "csrf_token": st.just(csrf.group(1)),
            }
        )
        anything = st.fixed_dictionaries(
            {},
            optional={
                "start": starts,
                "tz": timezones,
                "name": text,
                "email": emails,
                "phone": st.one_of(st.from_regex(r"\A[0-9+ ]{0,20}\Z"), text),
                "notes": st.one_of(text, st.text(max_size=2100)),
                "csrf_token": st.one_of(st.just(csrf.group(1)), text),
                "start[]": text,
            },
        )

        valid = {
            "start": free[-1],
            "tz": "UTC",
            "name": "Nul\x00Guest",
            "email": "nul@example.com",
            "csrf_token": csrf.group(1),
        }

        @fuzz(300)
        @given(
            slug=st.one_of(st.just(self.calendar.slug), text),
            data=st.one_of(nearly_valid, anything),
            extra=st.dictionaries(text, text, max_size=3),
        )
        @example(slug=self.calendar.slug, data=valid, extra={})
        @example(slug=self.calendar.slug, data={**valid, "notes": "\x00"}, extra={})
        def probe(slug, data, extra):
            self.hit("POST", f"/book/{path_part(slug)}", data={**extra, **data})

        probe()
        self.assert_no_problem("form")

    @mute_logger("odoo.http")
    def test_booking_routes(self):
        """A guest's page, cancel, slots and reschedule, with tokens near the
        real one, and random answers."""
        self.book(self.next_slot(days=3))
        token = self.bookings().booking_access_token
        csrf = CSRF_RE.search(self.hit("GET", f"/book/{self.calendar.slug}").text)
        tokens = st.one_of(
            st.just(token),
            st.integers(0, 42).map(lambda i: token[:i] + "A" + token[i + 1 :]),
            st.integers(20, 40).map(lambda i: token[:i]),
            text,
            st.text(min_size=20, max_size=130),
        )
        routes = st.sampled_from(
            [
                ("GET", ""),
                ("GET", "/reschedule"),
                ("GET", "/slots"),
                ("POST", "/cancel"),
                ("POST", "/reschedule"),
            ]
        )
        data = st.fixed_dictionaries(
            {},
            optional={
                "csrf_token": st.one_of(st.just(csrf.group(1)), text),
                "start": utc_starts,
                "tz": timezones,
                "end": dates,
            },
        )

        @fuzz(250)
        @given(token=tokens, route=routes, data=data)
        @example(token="x" * 20 + "\x00", route=("GET", ""), data={})
        def probe(token, route, data):
            method, suffix = route
            path = f"/book/booking/{path_part(token)}{suffix}"
            if method == "GET":
                self.hit("GET", f"{path}?{urlencode(data)}")
            else:
                self.hit("POST", path, data=data)

        probe()
        self.assert_no_problem("booking")

    @mute_logger("odoo.http", "odoo.addons.zoom_booking.models.zoom_webhook_event")
    def test_webhook(self):
        """Random bodies, forged signatures, and well-signed odd events."""
        events = st.one_of(
            st.sampled_from(
                [
                    "meeting.deleted",
                    "meeting.updated",
                    "app_deauthorized",
                    "endpoint.url_validation",
                    "meeting.started",
                ]
            ),
            text,
            json_values,
        )
        meeting = st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(st.integers(), text),
                "uuid": text,
                "host_id": text,
                "start_time": utc_starts,
            },
        )
        payload = st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "account_id": st.one_of(text, json_values),
                    "user_id": st.one_of(text, json_values),
                    "plainToken": st.one_of(text, json_values),
                    "object": st.one_of(meeting, json_values),
                    "old_object": st.one_of(meeting, json_values),
                },
            ),
            json_values,
        )
        signed_bodies = st.fixed_dictionaries(
            {"event": events, "payload": payload},
            optional={"event_ts": st.one_of(st.integers(), text, json_values)},
        ).map(lambda data: json.dumps(data).encode())
        bodies = st.one_of(
            st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())
        )

        @fuzz(260)
        @given(
            signed=st.booleans(),
            body=st.one_of(signed_bodies, bodies),
            signature=header_text,
            timestamp=st.one_of(header_text, st.integers().map(str)),
            content_type=st.sampled_from(
                ["application/json", "text/plain", "application/x-www-form-urlencoded"]
            ),
        )
        @example(
            signed=True,
            body=b'{"event": "meeting.deleted\\u0000", "payload": {}}',
            signature="",
            timestamp="",
            content_type="application/json",
        )
        def probe(signed, body, signature, timestamp, content_type):
            headers = {"Content-Type": content_type}
            if signed:
                timestamp = str(int(time.time()))
                signature = sign(WEBHOOK_SECRET, timestamp, body)
            headers.update({"x-zm-request-timestamp": timestamp})
            headers.update({"x-zm-signature": signature})
            self.hit("POST", "/zoom_booking/webhook", data=body, headers=headers)

        probe()
        self.assert_no_problem("webhook")

    @mute_logger("odoo.http")
    def test_oauth_callback(self):
        """Zoom's way back, with answers Zoom never gives, signed in or not."""
        states = st.one_of(
            text,
            st.tuples(
                st.one_of(st.just(str(self.host.id)), text),
                st.one_of(st.integers(0, 2**40).map(str), text),
                text,
                st.one_of(hex_text, text, st.sampled_from(["é", "ß" * 64])),
            ).map(".".join),
        )
        params = st.fixed_dictionaries(
            {},
            optional={"code": text, "state": states, "error": text, "next": text},
        )

        @fuzz(100)
        @given(params=params)
        @example(params={"code": "x", "state": "1.2.nonce.é"})
        def probe_signed_in(params):
            self.hit("GET", f"/zoom_booking/oauth/callback?{urlencode(params)}")

        @fuzz(50)
        @given(params=params)
        def probe_anonymous(params):
            self.hit("GET", f"/zoom_booking/oauth/callback?{urlencode(params)}")

        self.authenticate(self.host.login, self.host.login)
        probe_signed_in()
        self.authenticate(None, None)
        probe_anonymous()
        self.assert_no_problem("oauth")

    @mute_logger("odoo.http")
    def test_calendar_settings(self):
        """A host's extreme numbers are refused by the calendar's constraints,
        or, when accepted, its public page and free slots still answer."""
        numbers = st.one_of(
            st.integers(-(10**12), 10**12),
            st.sampled_from([0, 1, -1, 59, 60, 1440, 1441, 3650, 3651, 10**9]),
        )
        hours = st.one_of(
            st.floats(-1e18, 1e18, allow_nan=False, allow_infinity=False),
            st.sampled_from([0.0, 0.5, 1e15, -1.0, 24 * 366.0]),
        )
        settings_ = st.fixed_dictionaries(
            {},
            optional={
                "duration": numbers,
                "max_days_ahead": numbers,
                "buffer_before": numbers,
                "buffer_after": numbers,
                "min_notice_hours": hours,
            },
        )
        first, last = self.next_slot(days=1).date(), self.next_slot(days=7).date()
        slots = f"/book/{self.calendar.slug}/slots?start={first}&end={last}&tz=UTC"

        @fuzz(80)
        @given(values=settings_)
        def probe(values):
            with self.env.cr.savepoint(flush=False) as savepoint:
                try:
                    self.calendar.write(values)
                    self.env.flush_all()
                except ValidationError:
                    pass
                else:
                    self.hit("GET", f"/book/{self.calendar.slug}")
                    self.hit("GET", slots)
                # Forget the refused or tried values, in cache and in the database.
                self.env.transaction.clear()
                savepoint.rollback()

        probe()
        self.assert_no_problem("calendar settings")

    def test_zz_enough_requests(self):
        """Runs last: the fuzzing above made at least MIN_REQUESTS requests."""
        if len(self.fuzzed) < 6:
            self.skipTest("counts only when the whole class runs")
        seconds = time.monotonic() - self.started
        self.assertGreaterEqual(
            self.request_count,
            MIN_REQUESTS,
            f"{self.request_count} requests in {seconds:.0f}s",
        )
