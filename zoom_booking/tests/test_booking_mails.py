"""Booking mails read as mails about a booking, from the company that sends
them, and the host finds in the event's chatter what each reader was sent."""

from odoo.tests import tagged

from .test_booking_flow import BookingHttpCase


@tagged("post_install", "-at_install")
class TestBookingMails(BookingHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.write(
            {"name": "Yamada Trading", "email": "hello@yamada.example"}
        )

    def outgoing(self, mail):
        """What the SMTP server receives for ``mail``, as Odoo's mail queue
        personalizes it for each recipient (the Unfollow link included)."""
        status = self.env["mail.followers"]._get_mail_recipients_follower_status(
            mail.ids
        )
        (email,) = mail._prepare_outgoing_list(recipients_follower_status=status)
        return email

    def test_a_booking_mail_names_the_company_and_no_odoo_internals(self):
        self.connect_host_zoom()
        self.book(self.next_slot())
        booking = self.bookings()
        mails = self.mails_of(booking, "Booking confirmed")
        self.assertEqual(
            mails.recipient_ids, booking.booking_guest_partner_id | self.host.partner_id
        )
        for mail in mails:
            email = self.outgoing(mail)
            self.assertIn("Yamada Trading", email["body"])
            self.assertIn("hello@yamada.example", email["body"])
            self.assertIn(booking.zoom_join_url, email["body"])
            for internal in ("Calendar Attendee", "Unfollow", "/mail/unfollow"):
                self.assertNotIn(internal, email["body"], mail.subject)
            self.assertEqual(
                email["headers"]["X-Odoo-Objects"], f"calendar.event-{booking.id}"
            )

    def test_the_host_reads_in_the_chatter_what_each_reader_was_sent(self):
        self.connect_host_zoom()
        self.book(self.next_slot())
        booking = self.bookings()
        # The host, an ordinary user, opens the event's chatter in the web client.
        self.authenticate(self.host.login, self.host.login)
        result = self.make_jsonrpc_request(
            "/mail/thread/messages",
            {"thread_model": "calendar.event", "thread_id": booking.id},
        )
        shown = {
            message["id"]: message
            for message in result["data"]["mail.message"]
            if message["id"] in result["messages"]
        }
        mailed = [
            m
            for m in shown.values()
            if m["subject"] == "Booking confirmed: " + booking.name
        ]
        self.assertEqual(len(mailed), 2, [m["subject"] for m in shown.values()])
        readers = set()
        for message in mailed:
            readers.update(
                message["recipients"] and [r["id"] for r in message["recipients"]] or []
            )
            self.assertIn(booking.zoom_join_url, str(message["body"]))
            # An internal note: a portal user or a guest never reads it.
            self.assertTrue(message["is_note"])
        self.assertEqual(
            readers, {booking.booking_guest_partner_id.id, self.host.partner_id.id}
        )

    def test_an_edited_template_is_mailed_as_edited(self):
        # Booking bodies are kept compiled between mails: an admin's edit of
        # the template (here without Zoom) shows in the very next booking.
        self.calendar.online_meeting_provider = "none"
        template = self.env.ref("zoom_booking.mail_template_booking_confirmed")
        self.book(self.next_slot(hour=10), email="first.guest@example.com")
        first = self.bookings()
        self.assertNotIn("Bring your questions", self.mails_of(first)[0].body_html)
        template.body_html = str(template.body_html).replace(
            "<table", "<p>Bring your questions.</p><table", 1
        )
        self.book(self.next_slot(hour=11), email="second.guest@example.com")
        second = self.bookings() - first
        mails = self.mails_of(second, "Booking confirmed")
        self.assertEqual(len(mails), 2)
        for mail in mails:
            self.assertIn("Bring your questions.", mail.body_html)
