"""Bad input over HTTP gets a clear 4xx and stores nothing; who may do what."""

from datetime import timedelta

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .test_booking_flow import BookingHttpCase


@tagged("post_install", "-at_install")
class TestBookingBadInput(BookingHttpCase):
    def setUp(self):
        super().setUp()
        self.partner_count = self.env["res.partner"].search_count([])

    def assert_nothing_stored(self):
        self.assertFalse(self.bookings())
        self.assertEqual(self.env["res.partner"].search_count([]), self.partner_count)

    def test_unknown_or_unpublished_calendar(self):
        unpublished = self.create_booking_calendar(
            self.host, all_week=True, name="Hidden", is_published=False
        )
        archived = self.create_booking_calendar(
            self.host, all_week=True, name="Old", active=False
        )
        for slug in (
            "no-such-calendar",
            unpublished.slug,
            archived.slug,
            "booking",
            "Bad%20Slug",
            "x" * 300,
        ):
            with self.subTest(slug=slug):
                response = self.url_open(f"/book/{slug}")
                self.assertEqual(response.status_code, 404)
                self.assertIn("This booking page does not exist", response.text)
                response = self.url_open(
                    f"/book/{slug}/slots?start=2026-12-01&end=2026-12-01&tz=UTC"
                )
                self.assertEqual(response.status_code, 404)
        response = self.book(self.next_slot(), slug=unpublished.slug, csrf=self.csrf())
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.bookings(unpublished))

    def test_bad_slots_requests(self):
        base = f"/book/{self.calendar.slug}/slots"
        for query in (
            "start=2026-13-01&end=2026-12-02&tz=UTC",
            "start=tomorrow&end=2026-12-02&tz=UTC",
            "start=2026-12-01&tz=UTC",
            "start=2026-12-05&end=2026-12-01&tz=UTC",
            "start=2026-01-01&end=2026-12-31&tz=UTC",
            "start=2026-12-01&end=2026-12-02&tz=Mars/Olympus",
            "start=2026-12-01&end=2026-12-02",
        ):
            with self.subTest(query=query):
                response = self.url_open(f"{base}?{query}")
                self.assertEqual(response.status_code, 400)
                self.assertTrue(response.json()["error"])

    def test_bad_booking_requests(self):
        busy = self.next_slot(days=3)
        self.busy_event(busy, busy + timedelta(hours=1))
        free = self.iso(self.next_slot())
        cases = [
            ({"start": self.iso(busy)}, 409, "just taken"),
            ({"start": self.iso(self.next_slot(days=-1))}, 400, "in the past"),
            ({"start": self.iso(self.next_slot(days=45))}, 400, "at most 30 days"),
            ({"start": "2026-02-30T10:00:00Z"}, 400, "choose a time slot"),
            ({"start": "soon"}, 400, "choose a time slot"),
            ({"start": ""}, 400, "choose a time slot"),
            (
                {"start": self.iso(self.next_slot()).replace(":00:00", ":07:00")},
                409,
                "just taken",
            ),
            ({"start": free, "tz": "Nowhere/Town"}, 400, "Unknown timezone"),
            ({"start": free, "email": "not-an-email"}, 400, "valid email"),
            ({"start": free, "email": "a@b"}, 400, "valid email"),
            ({"start": free, "name": "  "}, 400, "enter your name"),
            ({"start": free, "name": "n" * 129}, 400, "Name is too long"),
            (
                {"start": free, "email": "e" * 250 + "@example.com"},
                400,
                "Email is too long",
            ),
            ({"start": free, "phone": "1" * 33}, 400, "Phone is too long"),
            ({"start": free, "phone": "call me"}, 400, "phone number"),
            ({"start": free, "notes": "x" * 2001}, 400, "Notes is too long"),
            ({"start": free, "csrf_token": "forged"}, 400, "session has expired"),
            ({"start": free, "csrf_token": ""}, 400, "session has expired"),
        ]
        csrf = self.csrf()
        for values, status, message in cases:
            with self.subTest(values={k: v[:40] for k, v in values.items()}):
                values.setdefault("csrf_token", csrf)
                response = self.book(values.pop("start"), **values)
                self.assertEqual(response.status_code, status, response.text[:500])
                self.assertIn(message, response.text)
                self.assertIn("o_booking_error", response.text)
                self.assert_nothing_stored()

    def test_bad_tokens(self):
        self.book(self.next_slot())
        booking = self.bookings()
        token = booking.booking_access_token
        for bad in ("nope", token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 200):
            with self.subTest(token=bad):
                self.assertEqual(self.url_open(f"/book/booking/{bad}").status_code, 404)
                response = self.url_open(
                    f"/book/booking/{bad}/cancel", data={"csrf_token": self.csrf()}
                )
                self.assertEqual(response.status_code, 404)
                self.assertEqual(
                    self.url_open(f"/book/booking/{bad}/reschedule").status_code, 404
                )
        # A cancel without a valid CSRF token is refused.
        response = self.url_open(
            f"/book/booking/{token}/cancel", data={"csrf_token": "forged"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(booking.booking_state, "confirmed")
        # Rescheduling onto a busy slot: clear message, nothing moved.
        other_start = self.next_slot(days=2)
        self.busy_event(other_start, other_start + timedelta(hours=1))
        old_start = booking.start
        response = self.url_open(
            f"/book/booking/{token}/reschedule",
            data={
                "start": self.iso(other_start),
                "tz": "UTC",
                "csrf_token": self.csrf(),
            },
        )
        self.assertEqual(response.status_code, 409)
        self.assertIn("just taken", response.text)
        self.assertEqual(booking.start, old_start)

    @mute_logger("odoo.http")
    def test_wrong_methods_are_not_500(self):
        response = self.url_open(
            f"/book/{self.calendar.slug}/slots?start=2026-12-01&end=2026-12-01&tz=UTC",
            data={"x": "1"},
        )
        self.assertLess(response.status_code, 500)
        self.assertGreaterEqual(response.status_code, 400)


@tagged("post_install", "-at_install")
class TestBookingCalendarAccess(BookingHttpCase):
    def test_hosts_manage_their_own(self):
        Calendar = self.env["booking.calendar"]
        own = Calendar.with_user(self.host).create({"name": "Mine"})
        self.assertEqual(own.host_id, self.host)
        own.with_user(self.host).write({"duration": 45})
        # Everyone internal can read, only the host changes.
        self.assertEqual(own.with_user(self.other_host).name, "Mine")
        with self.assertRaises(AccessError):
            own.with_user(self.other_host).write({"duration": 15})
        with self.assertRaises(AccessError):
            own.with_user(self.other_host).unlink()
        with self.assertRaises(AccessError):
            own.availability_ids[0].with_user(self.other_host).write({"hour_to": 18})
        with self.assertRaises(AccessError):
            Calendar.with_user(self.other_host).create(
                {"name": "For Hana", "host_id": self.host.id}
            )
        # Booking administrators manage all.
        own.with_user(self.booking_admin).write({"duration": 15})
        Calendar.with_user(self.booking_admin).create(
            {"name": "Made for Hana", "host_id": self.host.id}
        )
        own.with_user(self.booking_admin).unlink()

    def test_portal_user_has_no_back_end_access(self):
        with self.assertRaises(AccessError):
            self.calendar.with_user(self.portal_user).read(["name"])

    def test_token_is_secret(self):
        self.book(self.next_slot())
        self.book(self.next_slot(days=2), email="other.guest@example.com")
        first, second = self.bookings().sorted("start")
        self.assertNotEqual(first.booking_access_token, second.booking_access_token)
        page = self.url_open(f"/book/booking/{first.booking_access_token}")
        self.assertNotIn("other.guest@example.com", page.text)
        self.assertFalse(first.copy().booking_access_token)

    def test_zoom_warning(self):
        self.assertIn("has not connected a Zoom account", self.calendar.zoom_warning)
        self.calendar.online_meeting_provider = "discuss"
        self.assertFalse(self.calendar.zoom_warning)
