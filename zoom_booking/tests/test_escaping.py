"""What a guest types is shown as text everywhere: on the guest's pages, in
the mails to host and guest, and in the event's messages in the back-end."""

from lxml import html as lxml_html

from odoo.tests import tagged

from .test_booking_flow import CSRF_RE, BookingHttpCase

NAME = 'Eve <script>alert(1)</script> "><img src=x onerror=alert(1)> {{ 7*7 }}'
NOTES = (
    '<script>alert(1)</script>\n"><img src=x onerror=alert(1)>\n'
    '{{ 7*7 }} ${7*7} <t t-out="1"/> #{7*7} <%= 7*7 %>'
)
PHONE = '"><img src=x onerror=alert(1)>'
TZ = '"><script>alert(1)</script>'
# A plain address with the characters an address may have, shown as text.
EMAIL = "o'brien+{x}&~^_|@example.com"


@tagged("post_install", "-at_install")
class TestGuestTextIsEscaped(BookingHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plain_calendar = cls.create_booking_calendar(
            cls.host, all_week=True, name="Plain call", slug="zb-plain-call"
        )

    # ------------------------------------------------------------ helpers
    def assert_inert(self, markup, where):
        """No element, attribute or template code came from the guest's text."""
        self.assertTrue(markup, where)
        root = lxml_html.fromstring(markup)
        self.assertFalse(root.xpath('//script[contains(., "alert(1)")]'), where)
        self.assertFalse(root.xpath('//*[contains(@onerror, "alert")]'), where)
        self.assertFalse(root.xpath('//img[@src="x"]'), where)
        self.assertFalse(root.xpath("//t"), where)
        self.assertNotIn("<script>alert(1)", markup, where)
        return root

    def assert_shown_as_text(self, markup, values, where):
        text = self.assert_inert(markup, where).text_content()
        for value in values:
            for line in value.splitlines():
                self.assertIn(line, text, where)

    def book_with_tricky_text(self, calendar):
        self.authenticate(None, None)
        response = self.book(
            self.next_slot(),
            slug=calendar.slug,
            name=NAME,
            notes=NOTES,
            email=EMAIL,
        )
        self.assertEqual(response.status_code, 303, response.text[:1000])
        booking = self.bookings(calendar)
        self.assertEqual(booking.booking_guest_name, NAME)
        self.assertEqual(booking.booking_guest_notes, NOTES)
        return booking

    def assert_mails_escaped(self, booking, count):
        mails = self.mails_of(booking)
        self.assertEqual(len(mails), count, mails.mapped("subject"))
        for mail in mails:
            where = f"mail {mail.subject!r}"
            self.assert_shown_as_text(
                mail.body_html, [NAME, NOTES, booking.booking_guest_email], where
            )
            self.assertIn(NAME, mail.subject, where)
        # Their copies in the back-end: the messages in the event's chatter.
        messages = (
            self.env["mail.message"]
            .sudo()
            .search(
                [
                    ("model", "=", "calendar.event"),
                    ("res_id", "=", booking.id),
                ]
            )
        )
        for message in messages.filtered("body"):
            self.assert_inert(str(message.body), f"message {message.id}")

    def assert_guest_pages_escaped(self, booking):
        token = booking.booking_access_token
        page = self.url_open(f"/book/booking/{token}")
        self.assertEqual(page.status_code, 200)
        self.assert_shown_as_text(page.text, [NAME], "guest's page")
        page = self.url_open(f"/book/booking/{token}/reschedule")
        self.assertEqual(page.status_code, 200)
        self.assert_inert(page.text, "reschedule page")
        # A refused move shows the guest's answers back.
        page = self.url_open(
            f"/book/booking/{token}/reschedule",
            data={"start": NAME, "tz": TZ, "csrf_token": CSRF_RE.search(page.text)[1]},
        )
        self.assertEqual(page.status_code, 400)
        self.assert_inert(page.text, "refused reschedule")

    # ------------------------------------------------------------ stories
    def test_booking_without_online_meeting(self):
        booking = self.book_with_tricky_text(self.plain_calendar)
        self.assertIn(NAME, booking.name)
        self.assert_mails_escaped(booking, 2)
        self.assert_guest_pages_escaped(booking)

    def test_booking_with_zoom_meeting(self):
        self.connect_zoom(self.host)
        booking = self.book_with_tricky_text(self.calendar)
        self.assertTrue(booking.zoom_join_url)
        self.assert_mails_escaped(booking, 2)
        self.assert_guest_pages_escaped(booking)

    def test_rescheduled_mails(self):
        booking = self.book_with_tricky_text(self.plain_calendar)
        self.mails_of(booking).unlink()
        token = booking.booking_access_token
        page = self.url_open(f"/book/booking/{token}/reschedule")
        response = self.url_open(
            f"/book/booking/{token}/reschedule",
            data={
                "start": self.iso(self.next_slot(days=2)),
                "tz": "UTC",
                "csrf_token": CSRF_RE.search(page.text)[1],
            },
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 303, response.text[:1000])
        self.assert_mails_escaped(booking, 2)

    def test_refused_booking_form_shows_answers_as_values(self):
        """A refused booking (bad phone, bad timezone) fills the form again."""
        for values in ({"phone": PHONE}, {"tz": TZ}):
            with self.subTest(values=values):
                response = self.book(
                    self.next_slot(),
                    slug=self.plain_calendar.slug,
                    name=NAME,
                    notes=NOTES,
                    **values,
                )
                self.assertEqual(response.status_code, 400)
                root = self.assert_inert(response.text, f"refused {values}")
                form = root.xpath('//form[contains(@class, "o_booking_form")]')[0]
                self.assertEqual(form.xpath('.//input[@name="name"]/@value'), [NAME])
                self.assertEqual(
                    form.xpath('.//textarea[@name="notes"]')[0].text_content(), NOTES
                )
                if "phone" in values:
                    self.assertEqual(
                        form.xpath('.//input[@name="phone"]/@value'), [PHONE]
                    )
        self.assertFalse(self.bookings(self.plain_calendar))
