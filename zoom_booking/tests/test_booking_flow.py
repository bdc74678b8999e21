"""A guest books over HTTP, sees, cancels and reschedules; and the browser tour."""

import re
from datetime import timedelta
from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import BookingCalendarMixin, ZoomBookingCase, make_user

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
BOOKING_MAIL_LAYOUT = "zoom_booking.mail_notification_booking"
# A 1x1 PNG, as a company's logo.
LOGO_PNG = (
    b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAW"
    b"jR9awAAAABJRU5ErkJggg=="
)


class BookingHttpCase(BookingCalendarMixin, ZoomBookingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.calendar = cls.create_booking_calendar(
            cls.host,
            all_week=True,
            name="Intro call",
            slug="zb-intro-call",
            online_meeting_provider="zoom",
        )

    def csrf(self, slug=None):
        response = self.url_open(f"/book/{slug or self.calendar.slug}")
        self.assertEqual(response.status_code, 200)
        return CSRF_RE.search(response.text).group(1)

    def book(self, start, slug=None, csrf=None, headers=None, **values):
        data = {
            "start": self.iso(start) if not isinstance(start, str) else start,
            "tz": "Europe/Paris",
            "name": "Gina Guest",
            "email": "gina.guest@example.com",
            "phone": "+33 1 23 45 67 89",
            "notes": "About the rollout",
            "csrf_token": csrf if csrf is not None else self.csrf(slug),
        }
        data.update(values)
        return self.url_open(
            f"/book/{slug or self.calendar.slug}",
            data=data,
            headers=headers,
            allow_redirects=False,
        )

    def bookings(self, calendar=None):
        return (
            self.env["calendar.event"]
            .with_context(active_test=False)
            .search([("booking_calendar_id", "=", (calendar or self.calendar).id)])
        )

    def connect_host_zoom(self):
        """The host connects their Zoom account, then guests book anonymously."""
        self.connect_zoom(self.host)
        self.logout()
        self.zoom.clear_requests()

    def csrf_of(self, url):
        """The CSRF token of the form on the page at ``url``."""
        return CSRF_RE.search(self.url_open(url).text).group(1)

    def reschedule(self, booking, start, tz):
        """The guest moves ``booking`` to ``start`` from their booking link."""
        url = f"/book/booking/{booking.booking_access_token}/reschedule"
        return self.url_open(
            url,
            data={
                "start": start if isinstance(start, str) else self.iso(start),
                "tz": tz,
                "csrf_token": self.csrf_of(url),
            },
            allow_redirects=False,
        )

    def mails_of(self, booking, subject_part=""):
        """The booking mails sent to the booking's attendees, by subject."""
        return (
            self.env["mail.mail"]
            .sudo()
            .search(
                [
                    ("model", "=", "calendar.event"),
                    ("res_id", "=", booking.id),
                    ("email_layout_xmlid", "=", BOOKING_MAIL_LAYOUT),
                    ("subject", "ilike", subject_part),
                ]
            )
        )


@tagged("post_install", "-at_install")
class TestBookingFlow(BookingHttpCase):
    def test_page(self):
        # The host's Zoom isn't connected: the page promises no Zoom meeting.
        response = self.url_open(f"/book/{self.calendar.slug}")
        self.assertNotIn("Zoom meeting", response.text)
        self.connect_host_zoom()
        response = self.url_open(f"/book/{self.calendar.slug}")
        self.assertEqual(response.status_code, 200)
        self.assertIn("Hana Host", response.text)
        self.assertIn("Zoom meeting", response.text)
        self.assertIn("30", response.text)
        self.assertRegex(response.text, CSRF_RE)

    def test_slots_route(self):
        start = self.next_slot(days=2)
        response = self.url_open(
            f"/book/{self.calendar.slug}/slots?start={start.date()}"
            f"&end={start.date()}&tz=UTC"
        )
        self.assertEqual(response.status_code, 200)
        data = response.json()
        self.assertEqual(data["tz"], "UTC")
        self.assertEqual(len(data["slots"]), 48)
        self.assertEqual(data["slots"][20], self.iso(start))

    def test_book_end_to_end(self):
        start = self.next_slot()
        with patch.object(
            type(self.env["booking.calendar"]), "_online_meeting_zoom", autospec=True
        ) as hook:
            response = self.book(start)
        self.assertEqual(response.status_code, 303, response.text[:1000])
        booking = self.bookings()
        self.assertEqual(len(booking), 1)
        # The calendar's provider, Zoom, gave the booking its meeting.
        hook.assert_called_once()
        self.assertEqual(hook.call_args.args[1], booking)
        self.assertTrue(
            response.headers["Location"].endswith(
                f"/book/booking/{booking.booking_access_token}?notice=booked"
            )
        )
        self.assertEqual(len(booking.booking_access_token), 43)
        self.assertEqual(
            (booking.start, booking.stop), (start, start + timedelta(minutes=30))
        )
        self.assertEqual(booking.user_id, self.host)
        self.assertEqual(booking.booking_state, "confirmed")
        guest = booking.booking_guest_partner_id
        self.assertEqual(guest.email, "gina.guest@example.com")
        self.assertEqual(booking.partner_ids, self.host.partner_id | guest)
        self.assertRecordValues(
            booking,
            [
                {
                    "booking_guest_name": "Gina Guest",
                    "booking_guest_email": "gina.guest@example.com",
                    "booking_guest_phone": "+33 1 23 45 67 89",
                    "booking_guest_notes": "About the rollout",
                    "booking_guest_tz": "Europe/Paris",
                    "show_as": "busy",
                }
            ],
        )
        self.assertEqual(self.calendar.upcoming_booking_count, 1)
        # The guest's page, in the guest's timezone (Paris = UTC+1 in winter,
        # UTC+2 in summer).
        page = self.url_open(response.headers["Location"])
        self.assertEqual(page.status_code, 200)
        self.assertIn("Your booking is confirmed", page.text)
        self.assertIn('id="booking_online_meeting"', page.text)
        self.assertIn("Europe/Paris", page.text)
        self.assertIn(booking._booking_public_values()["when"], page.text)
        # The slot is taken now.
        self.assertNotIn(
            start, self.calendar._get_free_slots(start.date(), start.date(), "UTC")
        )

    def test_an_anonymous_guest_typing_a_colleagues_email(self):
        """Only a guest logged in as that user books in the user's calendar."""
        colleague = make_user(
            self.env, "zb_colleague", "Cole League", email="Colleague@Example.com"
        )
        start = self.next_slot()
        response = self.book(start, email="colleague@example.com")
        self.assertEqual(response.status_code, 303, response.text[:1000])
        booking = self.bookings()
        guest = booking.booking_guest_partner_id
        self.assertNotEqual(guest, colleague.partner_id)
        self.assertEqual(guest.email_normalized, "colleague@example.com")
        self.assertFalse(guest.user_ids)
        self.assertNotIn(colleague.partner_id, booking.partner_ids)
        # Not in the colleague's calendar, and not their busy time.
        self.assertNotIn(
            booking,
            self.env["calendar.event"].search(
                [("partner_ids", "in", colleague.partner_id.id)]
            ),
        )
        other = self.create_booking_calendar(
            colleague, all_week=True, slug="zb-colleague"
        )
        self.assertIn(start, other._get_free_slots(start.date(), start.date(), "UTC"))

    def test_a_logged_in_user_books_in_their_own_calendar(self):
        colleague = make_user(
            self.env, "zb_colleague", "Cole League", email="Colleague@Example.com"
        )
        self.authenticate("zb_colleague", "zb_colleague")
        response = self.book(self.next_slot(), email="colleague@example.com")
        self.assertEqual(response.status_code, 303, response.text[:1000])
        booking = self.bookings()
        self.assertEqual(booking.booking_guest_partner_id, colleague.partner_id)
        self.assertIn(colleague.partner_id, booking.partner_ids)

    def test_existing_contact_is_reused(self):
        contact = self.env["res.partner"].create(
            {"name": "Gina G.", "email": "gina.guest@example.com"}
        )
        self.book(self.next_slot())
        self.assertEqual(self.bookings().booking_guest_partner_id, contact)

    def test_providers(self):
        cases = {
            "none": lambda url: self.assertFalse(url),
            "custom": lambda url: self.assertEqual(url, "https://meet.example.com/r"),
            "discuss": lambda url: self.assertIn("/calendar/join_videocall/", url),
        }
        for index, (provider, check) in enumerate(cases.items()):
            with self.subTest(provider=provider):
                calendar = self.create_booking_calendar(
                    self.host,
                    all_week=True,
                    name=provider,
                    online_meeting_provider=provider,
                    custom_url="https://meet.example.com/r",
                )
                response = self.book(self.next_slot(days=index + 1), slug=calendar.slug)
                self.assertEqual(response.status_code, 303, response.text[:1000])
                booking = self.bookings(calendar)
                check(booking.videocall_location)
                page = self.url_open(response.headers["Location"])
                if booking.videocall_location:
                    self.assertIn(booking.videocall_location, page.text)

    def test_a_cancel_reason_too_long_is_refused_and_nothing_cancelled(self):
        location = self.book(self.next_slot()).headers["Location"]
        booking = self.bookings()
        csrf = CSRF_RE.search(self.url_open(location).text).group(1)
        response = self.url_open(
            booking._booking_path("cancel"),
            data={"csrf_token": csrf, "reason": "x" * 1001},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("Reason is too long (at most 1000 characters).", response.text)
        self.assertEqual(booking.booking_state, "confirmed")
        self.assertFalse(self.mails_of(booking, "Booking cancelled"))

    def test_guest_cancels(self):
        self.connect_host_zoom()
        start = self.next_slot()
        location = self.book(start).headers["Location"]
        booking = self.bookings()
        meeting_id = booking.zoom_meeting_id
        self.assertTrue(meeting_id)
        token = booking.booking_access_token
        csrf = CSRF_RE.search(self.url_open(location).text).group(1)
        response = self.url_open(
            f"/book/booking/{token}/cancel",
            data={"csrf_token": csrf},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303, response.text[:1000])
        # The cancel deleted the meeting in the host's Zoom.
        (delete,) = self.zoom.requests(method="DELETE")
        self.assertEqual(delete["path"], f"/v2/meetings/{meeting_id}")
        self.assertEqual(self.zoom.meetings(), [])
        self.assertRecordValues(
            booking, [{"booking_state": "cancelled", "active": False}]
        )
        page = self.url_open(location)
        self.assertIn("This booking is cancelled", page.text)
        self.assertNotIn("o_booking_reschedule", page.text)
        self.assertIn(
            start, self.calendar._get_free_slots(start.date(), start.date(), "UTC")
        )
        # Twice: a clear message, no error.
        response = self.url_open(
            f"/book/booking/{token}/cancel",
            data={"csrf_token": csrf},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("already cancelled", response.text)

    def test_guest_reschedules(self):
        self.calendar.duration = 60
        self.calendar.slot_interval = 30
        self.connect_host_zoom()
        start = self.next_slot()
        self.book(start)
        booking = self.bookings()
        meeting_id = booking.zoom_meeting_id
        self.assertTrue(meeting_id)
        token = booking.booking_access_token
        page = self.url_open(f"/book/booking/{token}/reschedule")
        self.assertEqual(page.status_code, 200)
        # Its own time is free for the booking being moved, not for others.
        new_start = start + timedelta(minutes=30)
        slots = self.url_open(
            f"/book/booking/{token}/slots?start={start.date()}&end={start.date()}"
            "&tz=UTC"
        ).json()["slots"]
        self.assertIn(self.iso(new_start), slots)
        public = self.url_open(
            f"/book/{self.calendar.slug}/slots?start={start.date()}&end={start.date()}"
            "&tz=UTC"
        ).json()["slots"]
        self.assertNotIn(self.iso(new_start), public)
        response = self.reschedule(booking, new_start, "Asia/Tokyo")
        self.assertEqual(response.status_code, 303, response.text[:1000])
        # The move moved the meeting in the host's Zoom.
        (move,) = self.zoom.requests(method="PATCH")
        self.assertEqual(move["path"], f"/v2/meetings/{meeting_id}")
        (meeting,) = self.zoom.meetings()
        self.assertEqual(meeting["start_time"], self.iso(new_start))
        self.assertEqual(meeting["duration"], 60)
        self.assertEqual(self.bookings(), booking)
        self.assertEqual(
            (booking.start, booking.stop), (new_start, new_start + timedelta(hours=1))
        )
        self.assertEqual(booking.booking_guest_tz, "Asia/Tokyo")

    def test_host_cancels_from_back_end(self):
        self.connect_host_zoom()
        self.book(self.next_slot())
        booking = self.bookings()
        meeting_id = booking.zoom_meeting_id
        with self.assertRaises(AccessError):
            booking.with_user(self.other_host).action_booking_cancel()
        booking.with_user(self.host).action_booking_cancel()
        # What a real commit does next: flush, then the post-commit hooks.
        self.env.flush_all()
        self.env.cr.postcommit.run()
        self.env.invalidate_all()
        (delete,) = self.zoom.requests(method="DELETE")
        self.assertEqual(delete["path"], f"/v2/meetings/{meeting_id}")
        self.assertEqual(self.zoom.meetings(), [])
        self.assertRecordValues(
            booking, [{"booking_state": "cancelled", "active": False}]
        )


@tagged("post_install", "-at_install")
class TestBookingTour(BookingHttpCase):
    def test_tour_book_a_slot(self):
        self.connect_host_zoom()
        self.start_tour(
            f"/book/{self.calendar.slug}", "zoom_booking_book_a_slot", login=None
        )
        booking = self.bookings()
        self.assertEqual(len(booking), 1)
        self.assertEqual(booking.booking_guest_email, "tour.guest@example.com")
        self.assertEqual(booking.booking_guest_name, "Tess Tour")
        self.assertTrue(booking.booking_guest_tz)

    def test_tour_a_refused_form_keeps_the_chosen_slot(self):
        self.start_tour(
            f"/book/{self.calendar.slug}",
            "zoom_booking_form_error_keeps_the_slot",
            login=None,
        )
        booking = self.bookings()
        self.assertEqual(len(booking), 1)
        self.assertEqual(booking.booking_guest_phone, "+81 3 1234 5678")
        # The slot of the second week's last day, chosen before the error.
        self.assertGreaterEqual(
            (booking.start.date() - self.next_slot(0).date()).days, 7
        )


@tagged("post_install", "-at_install")
class TestTheGuestsPages(BookingHttpCase):
    """What the guest's own pages tell and offer: where the mail went, their
    own calendars, the current time when moving, book again once cancelled."""

    def setUp(self):
        super().setUp()
        self.connect_host_zoom()

    def test_the_pages_carry_the_name_and_logo_of_the_hosts_company(self):
        company = self.host.company_id
        company.write({"name": "Yamada Trading", "logo": LOGO_PNG})
        pages = [f"/book/{self.calendar.slug}"]
        self.book(self.next_slot())
        booking = self.bookings()
        pages += [booking._booking_path(), booking._booking_path("reschedule")]
        on_website = "website" in self.env
        for path in pages:
            page = self.url_open(path).text
            if on_website:
                # The website's own header and footer frame the page instead.
                self.assertIn("o_booking_on_website", page, path)
                self.assertIn('id="top"', page, path)
                continue
            self.assertIn(
                'class="fw-bold o_booking_company_name">Yamada Trading<', page
            )
            self.assertIn(f'src="/logo.png?company={company.id}"', page, path)
            self.assertIn("o_booking_company_footer", page, path)
        logo = self.url_open(f"/logo.png?company={company.id}")
        self.assertEqual(logo.status_code, 200)
        self.assertEqual(logo.headers["Content-Type"], "image/png")

    def test_the_confirmation_says_where_the_mail_went_and_adds_to_calendars(self):
        start = self.next_slot()
        location = self.book(start).headers["Location"]
        self.assertTrue(location.endswith("?notice=booked"))
        page = self.url_open(location).text
        self.assertIn("We have sent the details to", page)
        self.assertIn("gina.guest@example.com", page)
        booking = self.bookings()
        dates = f"{start:%Y%m%dT%H%M%SZ}%2F{booking.stop:%Y%m%dT%H%M%SZ}"
        self.assertIn("https://calendar.google.com/calendar/render?", page)
        self.assertIn(f"dates={dates}", page)
        self.assertIn("https://outlook.live.com/calendar/0/deeplink/compose?", page)
        self.assertIn(f"startdt={start:%Y-%m-%dT%H%%3A%M%%3A%SZ}", page)
        ics = self.url_open(booking._booking_path("invitation.ics"))
        self.assertEqual(ics.status_code, 200)
        self.assertTrue(ics.headers["Content-Type"].startswith("text/calendar"))
        self.assertIn("attachment", ics.headers["Content-Disposition"])
        text = ics.text.replace("\r\n ", "")
        self.assertIn(booking._booking_ics_uid(), text)
        self.assertIn(booking.zoom_join_url, text)
        # Without the notice (the link from the mail), no claim about mail.
        self.assertNotIn("We have sent", self.url_open(booking._booking_path()).text)

    def test_moving_shows_the_current_time_then_says_it_moved(self):
        self.book(self.next_slot())
        booking = self.bookings()
        page = self.url_open(booking._booking_path("reschedule")).text
        self.assertIn("Now booked for", page)
        when = booking._booking_public_values()["when"]
        self.assertIn(when, page)
        response = self.url_open(
            booking._booking_path("reschedule"),
            data={
                "csrf_token": CSRF_RE.search(page).group(1),
                "start": self.iso(self.next_slot(days=2)),
                "tz": "Europe/Paris",
            },
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303, response.text[:300])
        self.assertTrue(response.headers["Location"].endswith("?notice=moved"))
        page = self.url_open(response.headers["Location"]).text
        booking.invalidate_recordset()
        self.assertIn("Your booking has moved to", page)
        self.assertIn(booking._booking_public_values()["when"], page)

    def test_tour_cancelling_asks_first_then_offers_to_book_again(self):
        self.book(self.next_slot())
        booking = self.bookings()
        path = booking._booking_path()
        self.start_tour(path, "zoom_booking_cancel_asks_first", login=None)
        booking.invalidate_recordset()
        self.assertEqual(booking.booking_state, "cancelled")
        # The guest's optional message reached the host, not the guest's own mail.
        self.assertEqual(booking.booking_cancel_reason, "Something came up.\nSorry!")
        mails = self.mails_of(booking, "Booking cancelled")
        to_host = mails.filtered(lambda m: m.recipient_ids == self.host.partner_id)
        self.assertIn("Something came up.", to_host.body_html)
        self.assertNotIn("Something came up.", (mails - to_host).body_html)
        page = self.url_open(path).text
        self.assertIn(f'href="/book/{self.calendar.slug}"', page)
        self.assertNotIn("calendar.google.com", page)
        self.assertEqual(
            self.url_open(booking._booking_path("invitation.ics")).status_code, 404
        )
