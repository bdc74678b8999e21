"""A host's own questions on the booking form: shown to the guest, checked on
the server, kept on the booking, shown to the host and in both mails."""

from odoo.fields import Command
from odoo.tests import tagged

from .test_booking_flow import CSRF_RE, BookingHttpCase

EVIL = '<img src=x onerror="alert(1)">'


@tagged("post_install", "-at_install")
class TestBookingQuestions(BookingHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.calendar.write(
            {
                "question_ids": [
                    Command.create(
                        {
                            "sequence": 1,
                            "name": "Company",
                            "question_type": "text",
                            "required": True,
                        }
                    ),
                    Command.create(
                        {
                            "sequence": 2,
                            "name": "Team size",
                            "question_type": "select",
                            "options": "1-10\n11-50\n51+",
                        }
                    ),
                    Command.create(
                        {
                            "sequence": 3,
                            "name": "What would you like to see?",
                            "question_type": "multiline",
                        }
                    ),
                    Command.create(
                        {
                            "sequence": 4,
                            "name": "I agree to be recorded",
                            "question_type": "checkbox",
                            "required": True,
                        }
                    ),
                ]
            }
        )
        cls.company_q, cls.size_q, cls.wish_q, cls.agree_q = cls.calendar.question_ids

    def answers(self, **overrides):
        values = {
            self.company_q._field_name(): "Yamada Trading",
            self.size_q._field_name(): "11-50",
            self.wish_q._field_name(): "The reports\r\nand the API",
            self.agree_q._field_name(): "on",
        }
        values.update(overrides)
        return {k: v for k, v in values.items() if v is not None}

    def test_the_page_shows_the_questions(self):
        page = self.url_open(f"/book/{self.calendar.slug}").text
        for question in self.calendar.question_ids:
            self.assertIn(f'name="{question._field_name()}"', page)
            self.assertIn(question.name, page)
        self.assertIn('<option value="51+">51+</option>', page)

    def test_answers_are_kept_shown_to_the_host_and_mailed_to_both(self):
        self.calendar.questions_in_zoom_agenda = True
        self.connect_host_zoom()
        response = self.book(self.next_slot(), **self.answers())
        self.assertEqual(response.status_code, 303, response.text[:500])
        booking = self.bookings()
        self.assertEqual(
            [(a.question, a.value) for a in booking.booking_answer_ids],
            [
                ("Company", "Yamada Trading"),
                ("Team size", "11-50"),
                ("What would you like to see?", "The reports\nand the API"),
                ("I agree to be recorded", "Yes"),
            ],
        )
        # The host reads them on the event, through the web client's RPC.
        self.authenticate(self.host.login, self.host.login)
        (values,) = self.make_jsonrpc_request(
            "/web/dataset/call_kw",
            {
                "model": "calendar.event",
                "method": "web_read",
                "args": [booking.ids],
                "kwargs": {
                    "specification": {
                        "booking_answer_ids": {"fields": {"question": {}, "value": {}}}
                    }
                },
            },
        )
        self.assertEqual(
            values["booking_answer_ids"][0],
            {
                "id": booking.booking_answer_ids[0].id,
                "question": "Company",
                "value": "Yamada Trading",
            },
        )
        mails = self.mails_of(booking, "Booking confirmed")
        self.assertEqual(len(mails), 2)
        for mail in mails:
            self.assertIn("Yamada Trading", mail.body_html)
            self.assertIn("Team size", mail.body_html)
        # In the Zoom meeting's agenda too, as the calendar asks.
        (create,) = self.zoom.requests(method="POST", path="/v2/users/me/meetings")
        self.assertIn("Company: Yamada Trading", create["json"]["agenda"])
        self.assertIn("Team size: 11-50", create["json"]["agenda"])

    def test_bad_or_missing_answers_get_a_clear_message_with_the_form_kept(self):
        cases = [
            ({self.company_q._field_name(): None}, "Please answer “Company”."),
            ({self.company_q._field_name(): "   "}, "Please answer “Company”."),
            (
                {self.size_q._field_name(): "5000"},
                "Please choose one of the options of “Team size”.",
            ),
            (
                {self.agree_q._field_name(): None},
                "Please tick “I agree to be recorded”.",
            ),
            (
                {self.company_q._field_name(): "a" * 501},
                "Company is too long (at most 500 characters).",
            ),
            (
                {self.company_q._field_name(): "two\nlines"},
                "Company must be on one line.",
            ),
            (
                {self.wish_q._field_name(): "bell\x07"},
                "What would you like to see? contains characters that can't be stored.",
            ),
        ]
        start = self.iso(self.next_slot())
        for overrides, message in cases:
            with self.subTest(overrides=overrides):
                response = self.book(start, **self.answers(**overrides))
                self.assertEqual(response.status_code, 400, response.text[:300])
                self.assertIn(message.replace("'", "&#39;"), response.text)
                # The form is kept: the chosen slot and the other answers.
                self.assertIn(start, response.text)
                self.assertIn("Gina Guest", response.text)
                if self.wish_q._field_name() not in overrides:
                    self.assertIn("The reports", response.text)
        self.assertFalse(self.bookings())

    def test_answers_are_escaped_everywhere(self):
        self.calendar.question_ids[0].name = f"Company {EVIL}"
        response = self.book(
            self.next_slot(), **self.answers(**{self.company_q._field_name(): EVIL})
        )
        self.assertEqual(response.status_code, 303, response.text[:300])
        booking = self.bookings()
        self.assertEqual(booking.booking_answer_ids[0].value, EVIL)
        page = self.url_open(f"/book/{self.calendar.slug}").text
        self.assertNotIn(EVIL, page)
        self.assertIn("&lt;img src=x onerror=", page)
        for mail in self.mails_of(booking):
            self.assertNotIn(EVIL, mail.body_html)
            self.assertIn("&lt;img src=x onerror=", mail.body_html)

    def test_a_select_needs_options(self):
        from odoo.exceptions import ValidationError

        with self.assertRaises(ValidationError):
            self.calendar.question_ids = [
                Command.create({"name": "Pick", "question_type": "select"})
            ]

    def test_tour_a_guest_books_a_team_calendar_answering_the_questions(self):
        self.calendar.write(
            {
                "assignment": "round_robin",
                "host_ids": [Command.set((self.host | self.other_host).ids)],
            }
        )
        self.start_tour(
            f"/book/{self.calendar.slug}",
            "zoom_booking_book_with_questions",
            login=None,
        )
        booking = self.bookings()
        self.assertEqual(booking.user_id, self.host)  # first in the team's order
        self.assertEqual(
            booking.booking_answer_ids.mapped("value"),
            ["Yamada Trading", "51+", "A demo\nof the reports", "Yes"],
        )
        # The next guest's booking goes to Oscar.
        csrf = CSRF_RE.search(self.url_open(f"/book/{self.calendar.slug}").text)
        response = self.book(
            booking.start, csrf=csrf.group(1), email="gus@example.com", **self.answers()
        )
        self.assertEqual(response.status_code, 303, response.text[:300])
        self.assertEqual(self.bookings().sorted("id")[-1].user_id, self.other_host)
