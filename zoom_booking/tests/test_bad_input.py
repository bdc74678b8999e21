"""Bad input gets a clear 4xx, never a 500: the guest's form, extreme dates,
absurd numbers in a calendar's settings, a monstrous webhook timestamp."""

import time
from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import config

from .test_booking_flow import BookingHttpCase


@tagged("post_install", "-at_install")
class TestGuestInput(BookingHttpCase):
    def test_one_plain_email_address(self):
        refused = [
            "svg/onload=alert`1`//@example.com",
            '"Gina" <gina@example.com>',
            'x"y"@example.com',
            "<a href=x>@example.com",
            "gina@example.com, other@example.com",
            "gina@localhost",
            "gina @example.com",
        ]
        for index, email in enumerate(refused):
            with self.subTest(email=email):
                response = self.book(self.next_slot(days=index + 1), email=email)
                self.assertEqual(response.status_code, 400, response.text[:300])
                self.assertIn("valid email address", response.text)
                self.assertNotIn("Traceback", response.text)
        self.assertFalse(self.bookings())
        response = self.book(self.next_slot(days=9), email="O'Brien+zoom@Example.COM")
        self.assertEqual(response.status_code, 303, response.text[:300])
        self.assertEqual(
            self.bookings().booking_guest_email, "o'brien+zoom@example.com"
        )

    def test_name_and_phone_on_one_line_notes_with_crlf(self):
        for field in ("name", "phone"):
            with self.subTest(field=field):
                response = self.book(self.next_slot(), **{field: "Gina\nGuest"})
                self.assertEqual(response.status_code, 400, response.text[:300])
                self.assertIn("must be on one line", response.text)
        # A real browser sends CRLF from a textarea: kept as lines.
        response = self.book(self.next_slot(), notes="Line one\r\nLine two\rthree")
        self.assertEqual(response.status_code, 303, response.text[:300])
        self.assertEqual(
            self.bookings().booking_guest_notes, "Line one\nLine two\nthree"
        )
        self.assertEqual(self.bookings().booking_guest_name, "Gina Guest")

    def test_slots_at_the_ends_of_time(self):
        base = f"/book/{self.calendar.slug}/slots?tz=UTC"
        for start, end in (
            ("0001-01-01", "0001-01-02"),
            ("9999-12-30", "9999-12-31"),
            ("2000-01-01", "2000-01-02"),
        ):
            with self.subTest(start=start):
                response = self.url_open(f"{base}&start={start}&end={end}")
                self.assertEqual(response.status_code, 400, response.text[:300])
                self.assertIn("within", response.json()["error"])

    def test_booking_and_reschedule_at_the_ends_of_time(self):
        for start in (
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59-01:00",
            "0001-01-01T00:00:00+01:00",
        ):
            with self.subTest(start=start):
                response = self.book(start)
                self.assertEqual(response.status_code, 400, response.text[:300])
                self.assertNotIn("Traceback", response.text)
        self.book(self.next_slot())
        booking = self.bookings()
        response = self.reschedule(booking, "9999-12-31T23:59:59Z", "UTC")
        self.assertEqual(response.status_code, 400, response.text[:300])

    def test_calendar_settings_are_bounded(self):
        for values in (
            {"max_days_ahead": 10**9},
            {"max_days_ahead": 0},
            {"min_notice_hours": 1e15},
            {"min_notice_hours": -1},
            {"buffer_before": 10**6},
            {"slot_interval": 10**6},
        ):
            with self.subTest(values=values):
                try:
                    with self.env.cr.savepoint():
                        self.calendar.write(values)
                except ValidationError:
                    pass
                else:
                    self.fail(f"{values} accepted")
        self.assertEqual(self.url_open(f"/book/{self.calendar.slug}").status_code, 200)

    def test_a_monstrous_webhook_timestamp_is_refused(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "zoom_booking.webhook_secret_token", "secret"
        )
        self.env.flush_all()
        for ts in ("9" * 5000, str(int(time.time())) + "0" * 10, "-1", "1e9"):
            with self.subTest(ts=ts[:20]):
                response = self.opener.post(
                    self.base_url() + "/zoom_booking/webhook",
                    data=b'{"event":"x","payload":{}}',
                    headers={
                        "Content-Type": "application/json",
                        "x-zm-request-timestamp": ts,
                        "x-zm-signature": "v0=00",
                    },
                    timeout=12,
                )
                self.assertEqual(response.status_code, 401, response.text[:300])


@tagged("post_install", "-at_install")
class TestBookingLimits(BookingHttpCase):
    def setUp(self):
        super().setUp()
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("zoom_booking.bookings_per_address_hour", 4)
        params.set_param("zoom_booking.bookings_per_email_day", 2)

    def test_one_email_address_books_a_calendar_at_most_twice_a_day(self):
        for day in (1, 2):
            response = self.book(self.next_slot(days=day))
            self.assertEqual(response.status_code, 303, response.text[:300])
        response = self.book(self.next_slot(days=3))
        self.assertEqual(response.status_code, 429)
        self.assertIn("already has 2 bookings", response.text)
        self.assertEqual(len(self.bookings()), 2)
        # Another address is welcome.
        response = self.book(self.next_slot(days=3), email="other.guest@example.com")
        self.assertEqual(response.status_code, 303, response.text[:300])

    def test_one_client_address_books_at_most_four_an_hour(self):
        for day in range(1, 5):
            response = self.book(self.next_slot(days=day), email=f"g{day}@example.com")
            self.assertEqual(response.status_code, 303, response.text[:300])
        response = self.book(self.next_slot(days=5), email="g5@example.com")
        self.assertEqual(response.status_code, 429)
        self.assertIn("Too many bookings", response.text)
        self.assertNotIn("Traceback", response.text)
        self.assertEqual(len(self.bookings()), 4)
        address = self.bookings().sudo().mapped("booking_guest_address")
        self.assertEqual(set(address), {"127.0.0.1"})

    def test_behind_a_proxy_the_limit_counts_each_guests_address(self):
        """With Odoo's proxy_mode, the address is the one the proxy forwards;
        without it, a forged X-Forwarded-For changes nothing."""

        def via_proxy(address):
            return {"X-Forwarded-Host": "book.example.com", "X-Forwarded-For": address}

        with patch.dict(config.options, {"proxy_mode": True}):
            for day in range(1, 5):
                response = self.book(
                    self.next_slot(days=day),
                    email=f"p{day}@example.com",
                    headers=via_proxy("203.0.113.7"),
                )
                self.assertEqual(response.status_code, 303, response.text[:300])
            response = self.book(
                self.next_slot(days=5),
                email="p5@example.com",
                headers=via_proxy("203.0.113.7"),
            )
            self.assertEqual(response.status_code, 429)
            # Another guest behind the same proxy is not held back.
            response = self.book(
                self.next_slot(days=5),
                email="p6@example.com",
                headers=via_proxy("198.51.100.9"),
            )
            self.assertEqual(response.status_code, 303, response.text[:300])
        addresses = self.bookings().sudo().mapped("booking_guest_address")
        self.assertEqual(sorted(set(addresses)), ["198.51.100.9", "203.0.113.7"])
        # Without proxy_mode the header is the client's word only: ignored.
        response = self.book(
            self.next_slot(days=6),
            email="p7@example.com",
            headers=via_proxy("192.0.2.1"),
        )
        self.assertEqual(response.status_code, 303, response.text[:300])
        newest = self.bookings().sorted("id")[-1].sudo()
        self.assertEqual(newest.booking_guest_address, "127.0.0.1")


@tagged("post_install", "-at_install")
class TestBookingCaptcha(BookingHttpCase):
    """The booking form goes through Odoo's captcha hook: installing Odoo's
    reCAPTCHA (or Turnstile) and setting its keys protects it, with no code.
    The test database has google_recaptcha installed for this."""

    def test_the_booking_form_asks_odoos_captcha(self):
        module = self.env["ir.module.module"]._get("google_recaptcha")
        self.assertEqual(module.state, "installed", "the test setup installs it")
        # Installed without keys: bookings go through as before.
        response = self.book(self.next_slot(days=1))
        self.assertEqual(response.status_code, 303, response.text[:300])
        # With its secret key set, a booking without a valid token is refused
        # (the test can't reach Google: Odoo's hook says the request is invalid)
        # with a clear message, the guest's form kept, nothing booked.
        self.env["ir.config_parameter"].sudo().set_param("recaptcha_private_key", "k")
        response = self.book(
            self.next_slot(days=2),
            email="robot@example.com",
            recaptcha_token_response="forged",
        )
        self.assertEqual(response.status_code, 403)
        self.assertIn("The request is invalid or malformed.", response.text)
        self.assertIn('value="robot@example.com"', response.text)
        self.assertNotIn("Traceback", response.text)
        self.assertEqual(len(self.bookings()), 1)
        # Moving a booking needs its secret link, not a captcha.
        booking = self.bookings()
        response = self.url_open(
            f"/book/booking/{booking.sudo().booking_access_token}/reschedule",
            data={
                "csrf_token": self.csrf(),
                "start": self.iso(self.next_slot(days=3)),
                "tz": "UTC",
            },
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303, response.text[:300])
