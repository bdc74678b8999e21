"""A Zoom booking's mails are written while Zoom makes the meeting, with
stand-ins for what only Zoom's answer tells (join URL, meeting ID, passcode),
and filled in before anything leaves: host and guest read the same mails as if
they had been written after Zoom answered, and no one sees a stand-in."""

import json
import re

from odoo.tests import tagged
from odoo.tests.common import JsonRpcException

from .test_booking_flow import CSRF_RE
from .test_languages import JA_JOIN, JA_SUBJECT, install_japanese
from .test_zoom_meeting import ZoomMeetingCase

# Every stand-in holds this: "ZB" and 24 hex digits, then what it stands for.
STAND_IN_RE = re.compile(r"zoom\.invalid|ZB[0-9a-f]{24}[UIDP]")


@tagged("post_install", "-at_install")
class TestMailsWrittenWhileZoomAnswers(ZoomMeetingCase):
    def readers_messages(self, booking, subject_part):
        """The booking's messages to its readers, by subject."""
        domain = [("model", "=", "calendar.event"), ("res_id", "=", booking.id)]
        domain.append(("subject", "ilike", subject_part))
        return self.env["mail.message"].sudo().search(domain)

    def assert_no_stand_in(self, booking):
        """Nothing Odoo keeps or sends about the booking holds a stand-in."""
        messages = (
            self.env["mail.message"]
            .sudo()
            .search([("model", "=", "calendar.event"), ("res_id", "=", booking.id)])
        )
        for message in messages:
            self.assertNotRegex(str(message.body), STAND_IN_RE)
            self.assertNotRegex(message.subject or "", STAND_IN_RE)
            for attachment in message.attachment_ids:
                ics = attachment.raw.decode().replace("\r\n ", "")
                self.assertNotRegex(ics, STAND_IN_RE)
        for mail in self.mails_of(booking):
            self.assertNotRegex(mail.body_html, STAND_IN_RE)
        for bus in self.env["bus.bus"].sudo().search([]):
            self.assertNotRegex(bus.message, STAND_IN_RE)

    def test_the_mails_carry_zooms_answer_and_no_stand_in(self):
        booking, _page = self.book_zoom()
        self.assertEqual(booking.zoom_status, "created")
        self.assertTrue(booking.zoom_passcode)
        messages = self.readers_messages(booking, "Booking confirmed")
        # One mail per reader: nothing drafted twice, nothing left behind.
        self.assertEqual(
            messages.partner_ids,
            booking.booking_guest_partner_id | self.host.partner_id,
        )
        self.assertEqual(len(messages), 2)
        for message in messages:
            body = str(message.body)
            self.assertIn(booking.zoom_join_url.replace("&", "&amp;"), body)
            self.assertIn(booking.zoom_meeting_id_display, body)
            self.assertIn(booking.zoom_passcode, body)
            (invitation,) = message.attachment_ids
            # Unfolded: .ics lines are cut at 75 octets.
            ics = invitation.raw.decode().replace("\r\n ", "")
            self.assertIn("invitation.ics", invitation.name)
            self.assertIn(booking.zoom_passcode, ics)
            self.assertIn(f"URL:{booking.zoom_join_url}\r\n", ics)
        mails = self.mails_of(booking, "Booking confirmed")
        self.assertEqual(len(mails), 2)
        for mail in mails:
            self.assertIn(booking.zoom_meeting_id_display, mail.body_html)
            self.assertIn(booking.zoom_passcode, mail.body_html)
        self.assertTrue(booking.booking_confirmation_mailed)
        self.assertTrue(booking.zoom_link_mailed)
        self.assert_no_stand_in(booking)

    def test_a_host_who_reads_in_odoo_is_told_once_the_mail_is_complete(self):
        self.host.notification_type = "inbox"
        self.env["bus.bus"].sudo().search([]).unlink()
        booking, _page = self.book_zoom()
        (message,) = self.readers_messages(booking, "Booking confirmed").filtered(
            lambda m: self.host.partner_id in m.partner_ids
        )
        inbox = message.notification_ids.filtered(
            lambda n: n.notification_type == "inbox"
        )
        self.assertEqual(inbox.res_partner_id, self.host.partner_id)
        # The host's web client hears of it with the link, not a stand-in.
        told = [
            json.loads(bus.message)
            for bus in self.env["bus.bus"].sudo().search([])
            if json.loads(bus.message)["type"] == "mail.message/inbox"
        ]
        self.assertEqual(len(told), 1, told)
        self.assertIn(booking.zoom_meeting_id_display, json.dumps(told))
        self.assert_no_stand_in(booking)

    def test_a_passcode_zoom_adds_on_its_own_is_in_the_mails(self):
        # The calendar asks for none; the host's Zoom account requires one,
        # so Zoom makes it: the mails drafted without one are written again.
        self.calendar.zoom_passcode_required = False
        booking, _page = self.book_zoom()
        self.assertEqual(self.creates()[0]["json"].get("password"), None)
        self.assertTrue(booking.zoom_passcode)
        messages = self.readers_messages(booking, "Booking confirmed")
        self.assertEqual(len(messages), 2)
        for message in messages:
            self.assertIn(booking.zoom_passcode, str(message.body))
            self.assertEqual(len(message.attachment_ids), 1)
        self.assertEqual(len(self.mails_of(booking, "Booking confirmed")), 2)
        self.assert_no_stand_in(booking)

    def test_when_zoom_fails_the_drafts_give_way_to_the_plain_confirmation(self):
        self.host.notification_type = "inbox"
        self.zoom.add_fault(method="POST", path="/v2/users/me/meetings", status=503)
        booking, _page = self.book_zoom()
        self.assertEqual(booking.zoom_status, "pending")
        messages = self.readers_messages(booking, "Booking confirmed")
        self.assertEqual(len(messages), 2)
        for message in messages:
            self.assertNotIn("Join Zoom meeting", str(message.body))
            self.assertIn("as soon as Zoom confirms", str(message.body))
        # The host is told once, of the mail that went out.
        inbox = messages.notification_ids.filtered(
            lambda n: n.notification_type == "inbox"
        )
        self.assertEqual(len(inbox), 1)
        self.assert_no_stand_in(booking)
        # Zoom answers again: the link follows, in a mail of its own.
        self.run_cron()
        self.assertEqual(booking.zoom_status, "created")
        self.assertEqual(len(self.readers_messages(booking, "Zoom link")), 2)
        self.assert_no_stand_in(booking)

    def test_a_draft_shows_stand_ins_and_tells_no_one_until_filled(self):
        self.host.notification_type = "inbox"
        booking, _page = self.book_zoom()
        event = booking.sudo()
        draft = event._booking_mail_draft("zoom_link", passcode=True)
        messages = draft["messages"]
        self.assertEqual(len(messages), 2)
        for message in messages:
            self.assertRegex(str(message.body), STAND_IN_RE)
            self.assertFalse(message.attachment_ids)
        self.assertFalse(
            messages.notification_ids.filtered(lambda n: n.notification_type == "inbox")
        )
        # What the draft showed is the event's no longer: it reads its own.
        self.assertNotRegex(event.zoom_join_url, STAND_IN_RE)
        self.assertNotRegex(event.videocall_location, STAND_IN_RE)
        self.assertTrue(event._booking_mail_draft_send(draft))
        for message in messages:
            self.assertIn(event.zoom_passcode, str(message.body))
            self.assertEqual(len(message.attachment_ids), 1)
        self.assertEqual(
            len(
                messages.notification_ids.filtered(
                    lambda n: n.notification_type == "inbox"
                )
            ),
            1,
        )
        self.env.flush_all()
        self.assert_no_stand_in(booking)
        for mail in (
            self.env["mail.mail"]
            .sudo()
            .search([("mail_message_id", "in", messages.ids)])
        ):
            self.assertIn(event.zoom_meeting_id_display, mail.body_html)
            self.assertTrue(mail.attachment_ids.raw.startswith(b"BEGIN:VCALENDAR"))

    def test_a_draft_zoom_cannot_fill_is_dropped(self):
        booking, _page = self.book_zoom()
        event = booking.sudo()
        before = (
            self.env["mail.message"]
            .sudo()
            .search_count(
                [("model", "=", "calendar.event"), ("res_id", "=", booking.id)]
            )
        )
        # Drafted without a passcode, but the meeting has one.
        draft = event._booking_mail_draft("zoom_link", passcode=False)
        self.assertFalse(event._booking_mail_draft_send(draft))
        self.assertEqual(
            self.env["mail.message"]
            .sudo()
            .search_count(
                [("model", "=", "calendar.event"), ("res_id", "=", booking.id)]
            ),
            before,
        )

    def test_a_colleague_cannot_draft_or_send_over_rpc(self):
        booking, _page = self.book_zoom()
        messages = self.readers_messages(booking, "")
        self.authenticate(self.other_host.login, self.other_host.login)
        for method, args in (
            ("_booking_mail_draft", [booking.ids, "zoom_link", True]),
            ("_booking_mail_draft_send", [booking.ids, {}]),
            ("_booking_mail_draft_fill", [booking.ids, [], {}, "ZB"]),
        ):
            with self.subTest(method=method):
                with self.assertRaises(JsonRpcException) as refused:
                    self.call_kw("calendar.event", method, args)
                # Refused as private, before its arguments are even looked at.
                self.assertEqual(str(refused.exception), "odoo.exceptions.AccessError")
        self.assertEqual(self.readers_messages(booking, ""), messages)


@tagged("post_install", "-at_install")
class TestMailsWrittenWhileZoomAnswersInJapanese(ZoomMeetingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install_japanese(cls.env, cls.host)

    def test_a_japanese_guest_in_tokyo_reads_zooms_answer_in_japanese(self):
        headers = {"Accept-Language": "ja,en;q=0.5"}
        self.opener.cookies.clear()  # a guest's first visit
        page = self.url_open(f"/book/{self.calendar.slug}", headers=headers)
        start = self.next_slot(days=2, hour=1)  # 10:00 in Tokyo
        booking, _page = self.book_zoom(
            start,
            tz="Asia/Tokyo",
            email="hanako@example.jp",
            headers=headers,
            csrf=CSRF_RE.search(page.text).group(1),
        )
        self.assertEqual(booking.booking_guest_partner_id.lang, "ja_JP")
        messages = (
            self.env["mail.message"]
            .sudo()
            .search([("model", "=", "calendar.event"), ("res_id", "=", booking.id)])
        )
        guest = booking.booking_guest_partner_id
        (to_guest,) = messages.filtered(lambda m: guest in m.partner_ids)
        (to_host,) = messages.filtered(lambda m: self.host.partner_id in m.partner_ids)
        self.assertTrue(to_guest.subject.startswith(JA_SUBJECT), to_guest.subject)
        self.assertTrue(to_host.subject.startswith("Booking confirmed"))
        for message in to_guest | to_host:
            body = str(message.body)
            self.assertIn(booking.zoom_meeting_id_display, body)
            self.assertIn(booking.zoom_passcode, body)
            self.assertNotRegex(body, STAND_IN_RE)
        self.assertIn("10:00", str(to_guest.body))  # the guest's own time
        # One invitation per language, each with Zoom's link.
        guest_ics = to_guest.attachment_ids.raw.decode().replace("\r\n ", "")
        host_ics = to_host.attachment_ids.raw.decode().replace("\r\n ", "")
        self.assertNotEqual(to_guest.attachment_ids, to_host.attachment_ids)
        self.assertIn(JA_JOIN, guest_ics)
        self.assertIn("Join Zoom meeting", host_ics)
        for ics in (guest_ics, host_ics):
            self.assertIn(f"URL:{booking.zoom_join_url}\r\n", ics)
            self.assertNotRegex(ics, STAND_IN_RE)
