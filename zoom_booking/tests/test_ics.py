"""The .ics of a booking, as a calendar program reads it."""

from datetime import datetime

import vobject

from odoo.tests import BaseCase, tagged

from ..tools import ics


@tagged("post_install", "-at_install")
class TestInvitationFile(BaseCase):
    def invitation(self, **values):
        event = {
            "uid": "zoom-booking-7-abcd@odoo",
            "sequence": 2,
            "dtstamp": datetime(2026, 12, 1, 9, 0),
            "start": datetime(2026, 12, 3, 10, 0),
            "stop": datetime(2026, 12, 3, 10, 30),
            "summary": "Intro call with Zoë",
            "status": "CONFIRMED",
            **values,
        }
        return ics.invitation(
            "REQUEST",
            event,
            ("host@example.com", 'Hana "the host"'),
            [("guest@example.com", "Zoë; Guest, Jr.", "REQ-PARTICIPANT", "ACCEPTED")],
        )

    def test_a_calendar_reads_what_the_invitation_says(self):
        description = "Join Zoom meeting: https://zoom.us/j/1?pwd=a,b\nPasscode: 12;3"
        raw = self.invitation(
            location="https://zoom.us/j/1?pwd=a,b",
            url="https://zoom.us/j/1?pwd=a,b",
            description=description,
        )
        cal = vobject.readOne(raw.decode())
        self.assertEqual(cal.method.value, "REQUEST")
        vevent = cal.vevent
        self.assertEqual(vevent.uid.value, "zoom-booking-7-abcd@odoo")
        self.assertEqual(vevent.sequence.value, "2")
        self.assertEqual(vevent.summary.value, "Intro call with Zoë")
        self.assertEqual(vevent.description.value, description)
        self.assertEqual(vevent.location.value, "https://zoom.us/j/1?pwd=a,b")
        self.assertEqual(vevent.dtstart.value.isoformat(), "2026-12-03T10:00:00+00:00")
        self.assertEqual(vevent.dtend.value.isoformat(), "2026-12-03T10:30:00+00:00")
        self.assertEqual(vevent.organizer.value, "mailto:host@example.com")
        self.assertEqual(vevent.organizer.params["CN"], ["Hana 'the host'"])
        self.assertEqual(vevent.attendee.params["CN"], ["Zoë; Guest, Jr."])
        self.assertEqual(vevent.attendee.params["PARTSTAT"], ["ACCEPTED"])
        self.assertTrue(raw.endswith(b"END:VCALENDAR\r\n"))

    def test_long_lines_are_folded_between_characters(self):
        # Japanese takes three octets a character: a fold inside one would
        # break it for the reader.
        summary = "オンライン相談" * 20
        raw = self.invitation(summary=summary)
        for line in raw.split(b"\r\n"):
            self.assertLessEqual(len(line), 75)
            line.decode()  # each folded line is whole UTF-8
        self.assertEqual(vobject.readOne(raw.decode()).vevent.summary.value, summary)

    def test_no_value_can_add_a_line(self):
        raw = self.invitation(
            summary="Call\r\nATTENDEE:mailto:evil@example.com",
            url="https://zoom.us/j/1\r\nATTENDEE:mailto:evil@example.com",
        )
        cal = vobject.readOne(raw.decode())
        self.assertEqual(len(cal.vevent.attendee_list), 1)
        self.assertNotIn(b"\r\nATTENDEE:mailto:evil", raw)
