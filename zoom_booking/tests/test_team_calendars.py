"""Team booking calendars: one page, several hosts. Round robin gives each
booking to one free host, fairly, in that host's own Zoom account; collective
needs every host free and puts them all in the owner's meeting."""

from datetime import date, datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.fields import Command
from odoo.tests import Form, tagged

from ..tools.zoom_client import ZoomRequestError
from .common import make_user
from .test_booking_flow import CSRF_RE, BookingHttpCase


def dt(*args):
    return datetime(*args)


class TeamCase(BookingHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.third_host = make_user(
            cls.env,
            "zb_third_host",
            "Tara Third",
            tz="America/New_York",
            email="tara.third@example.com",
        )
        cls.hosts = cls.host | cls.other_host | cls.third_host
        cls.team = cls.create_team("round_robin")

    @classmethod
    def create_team(cls, assignment, slug=None, **values):
        return cls.create_booking_calendar(
            cls.host,
            all_week=True,
            name=f"Team {assignment}",
            slug=slug or f"zb-team-{assignment.replace('_', '-')}",
            assignment=assignment,
            host_ids=[Command.set(cls.hosts.ids)],
            **values,
        )

    def book_team(self, start, calendar=None, email="gina.guest@example.com", **values):
        calendar = calendar or self.team
        response = self.book(start, slug=calendar.slug, email=email, **values)
        self.assertEqual(response.status_code, 303, response.text[:500])
        return self.bookings(calendar).sorted("id")[-1]


@tagged("post_install", "-at_install")
class TestTeamSlots(TeamCase):
    """Slots of each mode, hosts in Tokyo, Berlin and New York."""

    def test_the_team_is_the_owner_first_then_the_others(self):
        self.assertEqual(
            self.team._team_hosts().ids,
            (self.host | (self.hosts - self.host).sorted()).ids,
        )
        single = self.create_booking_calendar(
            self.host, host_ids=[Command.set(self.hosts.ids)], slug="zb-single"
        )
        self.assertEqual(single._team_hosts(), self.host)
        # The team's page names every host.
        page = self.url_open(f"/book/{self.team.slug}").text
        self.assertIn("Hana Host, Oscar Other, Tara Third", page)
        # The owner can't be taken off the team.
        self.team.host_ids = [Command.unlink(self.host.id)]
        self.assertIn(self.host, self.team.host_ids)

    @freeze_time("2027-03-01 00:00:00")
    def test_round_robin_is_free_when_any_host_is(self):
        for host in self.hosts - self.third_host:
            self.busy_event(dt(2027, 3, 2, 10), dt(2027, 3, 2, 11), user=host)
        self.busy_event(dt(2027, 3, 2, 12), dt(2027, 3, 2, 13), user=self.third_host)
        slots = self.team._get_free_slots(date(2027, 3, 2), date(2027, 3, 2), "UTC")
        self.assertIn(dt(2027, 3, 2, 10), slots)  # Tara is free
        self.assertIn(dt(2027, 3, 2, 12), slots)  # the others are
        self.busy_event(dt(2027, 3, 2, 10), dt(2027, 3, 2, 11), user=self.third_host)
        slots = self.team._get_free_slots(date(2027, 3, 2), date(2027, 3, 2), "UTC")
        self.assertNotIn(dt(2027, 3, 2, 10), slots)
        self.assertEqual(
            self.team._free_hosts_at(dt(2027, 3, 2, 12)), self.host | self.other_host
        )

    @freeze_time("2027-03-01 00:00:00")
    def test_collective_is_free_only_when_every_host_is(self):
        team = self.create_team("collective")
        self.busy_event(dt(2027, 3, 2, 10), dt(2027, 3, 2, 11), user=self.other_host)
        slots = team._get_free_slots(date(2027, 3, 2), date(2027, 3, 2), "UTC")
        self.assertNotIn(dt(2027, 3, 2, 10), slots)
        self.assertIn(dt(2027, 3, 2, 11), slots)
        self.assertEqual(len(slots), 48 - 2)

    @freeze_time("2027-03-01 00:00:00")
    def test_each_hosts_all_day_event_is_their_own_day_across_daylight_saving(self):
        # New York springs forward on 14 March 2027: Tara's all-day event that
        # day runs from 05:00 UTC (EST) to 04:00 UTC the next day (EDT).
        team = self.create_team("collective")
        self.day_off(date(2027, 3, 14), user=self.third_host)
        slots = team._get_free_slots(date(2027, 3, 14), date(2027, 3, 15), "UTC")
        self.assertIn(dt(2027, 3, 14, 4, 30), slots)
        self.assertNotIn(dt(2027, 3, 14, 5), slots)
        self.assertNotIn(dt(2027, 3, 15, 3, 30), slots)
        self.assertIn(dt(2027, 3, 15, 4), slots)
        # Hana's all-day event in Tokyo (UTC+9, no daylight saving): 15:00 UTC
        # the day before to 15:00 UTC.
        self.day_off(date(2027, 3, 20), user=self.host)
        slots = team._get_free_slots(date(2027, 3, 19), date(2027, 3, 20), "UTC")
        self.assertIn(dt(2027, 3, 19, 14, 30), slots)
        self.assertNotIn(dt(2027, 3, 19, 15), slots)
        self.assertNotIn(dt(2027, 3, 20, 14, 30), slots)
        self.assertIn(dt(2027, 3, 20, 15), slots)

    @freeze_time("2027-03-01 00:00:00")
    def test_one_query_for_every_hosts_busy_time(self):
        for day in range(2, 9):
            for host in self.hosts:
                self.busy_event(dt(2027, 3, day, 9), dt(2027, 3, day, 10), user=host)
        self.env.flush_all()
        self.team._get_free_slots(date(2027, 3, 2), date(2027, 3, 8), "UTC")
        before = self.cr.sql_log_count
        self.team._get_free_slots(date(2027, 3, 2), date(2027, 3, 8), "UTC")
        self.assertEqual(self.cr.sql_log_count - before, 1)


@tagged("post_install", "-at_install")
class TestRoundRobin(TeamCase):
    def test_thirty_bookings_on_three_equally_free_hosts_give_ten_each(self):
        start = self.next_slot(days=2, hour=0)
        for index in range(30):
            self.team._book_slot(
                self.iso(start + timedelta(minutes=30 * index)),
                {"name": f"G {index}", "email": f"g{index}@example.com", "tz": "UTC"},
            )
        bookings = self.bookings(self.team)
        self.assertEqual(len(bookings), 30)
        for host in self.hosts:
            self.assertEqual(
                len(bookings.filtered(lambda b, h=host: b.user_id == h)), 10, host.name
            )
        # Each booking is in its host's calendar, with the guest; no other host.
        for booking in bookings:
            self.assertEqual(
                booking.partner_ids,
                booking.user_id.partner_id | booking.booking_guest_partner_id,
            )
        # The first three went in the team's order.
        self.assertEqual(
            bookings.sorted("start")[:3].user_id.ids, self.team._team_hosts().ids
        )

    def test_a_host_without_zoom_gets_a_booking_only_when_no_connected_host_is_free(
        self,
    ):
        self.team.online_meeting_provider = "zoom"
        self.connect_zoom(self.other_host, "oscar@zoom.example")
        self.logout()
        start = self.next_slot(days=2)
        # Everyone free: Oscar, the only one who can have the Zoom meeting.
        first = self.book_team(start)
        self.assertEqual(first.user_id, self.other_host)
        self.assertEqual(first.zoom_status, "created")
        # Oscar busy then: Hana (first in the team's order), with the fallback.
        later = start + timedelta(hours=2)
        self.busy_event(later, later + timedelta(hours=1), user=self.other_host)
        second = self.book_team(later, email="gus@example.com")
        self.assertEqual(second.user_id, self.host)
        self.assertFalse(second.zoom_status)
        self.assertFalse(second.zoom_join_url)


@tagged("post_install", "-at_install")
class TestTeamZoomAccounts(TeamCase):
    """Every meeting in the right Zoom account, checked at the double."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team.online_meeting_provider = "zoom"

    def setUp(self):
        super().setUp()
        self.zoom_email = {
            self.host: "hana@zoom.example",
            self.other_host: "oscar@zoom.example",
            self.third_host: "tara@zoom.example",
        }
        for host, email in self.zoom_email.items():
            self.connect_zoom(host, email)
        self.logout()
        self.zoom.clear_requests()

    def zoom_users_of(self, method):
        return [r["zoom_user"] for r in self.zoom.requests(method=method)]

    def test_create_reschedule_reassign_cancel_disconnect(self):
        start = self.next_slot(days=2)
        bookings = [
            self.book_team(start + timedelta(hours=i), email=f"g{i}@example.com")
            for i in range(3)
        ]
        # One booking per host, each meeting in its host's own Zoom account.
        self.assertEqual([b.user_id for b in bookings], list(self.team._team_hosts()))
        self.assertEqual(
            self.zoom_users_of("POST"),
            [self.zoom_email[b.user_id] for b in bookings],
        )
        for booking in bookings:
            (meeting,) = [
                m
                for m in self.zoom.meetings(self.zoom_email[booking.user_id])
                if str(m["id"]) == booking.zoom_meeting_id
            ]
            self.assertEqual(booking.zoom_host_id, booking.user_id)
        hana, oscar, tara = bookings
        # The guest moves Hana's booking: the same meeting moves, in Hana's Zoom.
        self.zoom.clear_requests()
        response = self.reschedule(hana, start + timedelta(hours=5), "UTC")
        self.assertEqual(response.status_code, 303, response.text[:500])
        self.assertEqual(hana.user_id, self.host)
        self.assertEqual(self.zoom_users_of("PATCH"), [self.zoom_email[self.host]])
        self.assertFalse(self.zoom.requests(method="POST"))
        # A manager gives Oscar's booking to Hana: a new meeting in Hana's Zoom,
        # the old one deleted from Oscar's, the guest mailed the new link.
        self.zoom.clear_requests()
        old_meeting = oscar.zoom_meeting_id
        with self.assertRaises(AccessError):
            oscar.with_user(self.host)._booking_reassign(self.host)
        oscar.with_user(self.booking_admin)._booking_reassign(self.host)
        self.env.flush_all()  # as the request's commit does, before Zoom's turn
        self.env.cr.postcommit.run()
        oscar.invalidate_recordset()
        self.assertEqual(oscar.user_id, self.host)
        self.assertEqual(oscar.zoom_host_id, self.host)
        self.assertNotEqual(oscar.zoom_meeting_id, old_meeting)
        self.assertEqual(self.zoom_users_of("POST"), [self.zoom_email[self.host]])
        (delete,) = self.zoom.requests(method="DELETE")
        self.assertEqual(delete["zoom_user"], self.zoom_email[self.other_host])
        self.assertEqual(delete["path"], f"/v2/meetings/{old_meeting}")
        self.assertNotIn(self.other_host.partner_id, oscar.partner_ids)
        self.assertIn(self.host.partner_id, oscar.partner_ids)
        link_mail = self.mails_of(oscar, "Your Zoom link").filtered(
            lambda m: m.recipient_ids == oscar.booking_guest_partner_id
        )
        self.assertIn(oscar.zoom_join_url, link_mail.body_html)
        # Only to a free host of the team.
        self.busy_event(tara.start, tara.stop, user=self.host)
        with self.assertRaisesRegex(UserError, "Hana Host is not free at this time"):
            tara.with_user(self.booking_admin)._booking_reassign(self.host)
        with self.assertRaises(UserError):
            tara.with_user(self.booking_admin)._booking_reassign(self.booking_admin)
        # Tara's guest cancels: deleted from Tara's Zoom.
        self.zoom.clear_requests()
        page = self.url_open(tara._booking_path()).text
        self.url_open(
            tara._booking_path("cancel"),
            data={"csrf_token": CSRF_RE.search(page).group(1)},
            allow_redirects=False,
        )
        self.assertEqual(
            self.zoom_users_of("DELETE"), [self.zoom_email[self.third_host]]
        )
        # Hana disconnects: only Hana's Zoom data goes.
        # (Oscar and Tara have none left: Oscar, first of the two by name.)
        kept = self.book_team(start + timedelta(hours=8), email="kept@example.com")
        self.assertEqual(kept.user_id, self.other_host)
        self.host._zoom_connection()._disconnect()
        for booking in (hana, oscar):
            booking.invalidate_recordset()
            self.assertFalse(booking.zoom_join_url)
        self.assertTrue(kept.zoom_join_url)


@tagged("post_install", "-at_install")
class TestCollective(TeamCase):
    def test_every_host_attends_the_owners_meeting(self):
        team = self.create_team("collective", online_meeting_provider="zoom")
        # Oscar's Zoom user is in Hana's Zoom account; Tara's has its own.
        self.zoom.add_user("hana@zoom.example", first_name="Hana")
        self.zoom.add_user(
            "oscar@zoom.example",
            first_name="Oscar",
            same_account_as="hana@zoom.example",
        )
        for host, email in (
            (self.host, "hana@zoom.example"),
            (self.other_host, "oscar@zoom.example"),
            (self.third_host, "tara@zoom.example"),
        ):
            self.zoom.set_authorizing_user(email)
            self.connect_zoom(host, email)
        self.logout()
        self.zoom.clear_requests()
        booking = self.book_team(self.next_slot(days=2), calendar=team)
        self.assertEqual(booking.user_id, self.host)
        self.assertEqual(
            booking.partner_ids,
            self.hosts.partner_id | booking.booking_guest_partner_id,
        )
        (create,) = self.zoom.requests(method="POST", path="/v2/users/me/meetings")
        self.assertEqual(create["zoom_user"], "hana@zoom.example")
        # Zoom takes only a user of the owner's account as alternative host.
        self.assertEqual(
            create["json"]["settings"]["alternative_hosts"], "oscar@zoom.example"
        )
        # Every host, and the guest, gets the mail with the join link.
        mails = self.mails_of(booking, "Booking confirmed")
        readers = self.hosts.partner_id | booking.booking_guest_partner_id
        self.assertEqual(mails.recipient_ids, readers)
        for mail in mails:
            self.assertIn(booking.zoom_join_url, mail.body_html)

    def test_zoom_refuses_an_alternative_host_of_another_account(self):
        """The double as strict as Zoom: an alternative host must be a user of
        the host's own Zoom account."""
        self.connect_zoom(self.host, "hana@zoom.example")
        self.zoom.add_user("tara@zoom.example")
        connection = self.host._zoom_connection()
        with self.assertRaises(ZoomRequestError) as caught:
            connection._zoom_api().create_meeting(
                {
                    "topic": "Team",
                    "type": 2,
                    "start_time": self.iso(self.next_slot(days=2)),
                    "duration": 30,
                    "settings": {"alternative_hosts": "tara@zoom.example"},
                }
            )
        self.assertEqual((caught.exception.status, caught.exception.code), (400, 1114))
        self.assertIn("tara@zoom.example", str(caught.exception))


@tagged("post_install", "-at_install")
class TestReassignWizard(TeamCase):
    def test_a_manager_picks_among_the_other_hosts_of_the_team(self):
        booking = self.book_team(self.next_slot(days=2))
        self.assertEqual(booking.user_id, self.host)
        action = booking.with_user(self.booking_admin).action_booking_reassign()
        wizard = Form(
            self.env[action["res_model"]]
            .with_user(self.booking_admin)
            .with_context(**action["context"])
        )
        self.assertEqual(
            set(wizard.host_choice_ids.ids),
            set((self.other_host | self.third_host).ids),
        )
        wizard.new_host_id = self.third_host
        wizard.save().action_reassign()
        self.assertEqual(booking.user_id, self.third_host)
        self.assertEqual(
            booking.partner_ids,
            self.third_host.partner_id | booking.booking_guest_partner_id,
        )
        # A host is no manager: the wizard isn't theirs to open.
        with self.assertRaises(AccessError):
            self.env["booking.reassign.wizard"].with_user(self.host).create(
                {"event_id": booking.id, "new_host_id": self.other_host.id}
            )


@tagged("post_install", "-at_install")
class TestTeamOverRpc(TeamCase):
    """What each person may do to a team calendar and its bookings, tried
    through JSON-RPC as the web client would: the owner, a host of the team
    who isn't its owner, and a colleague outside it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.colleague = make_user(cls.env, "zb_team_colleague", "Cody Colleague")
        cls.question = cls.env["booking.question"].create(
            {"calendar_id": cls.team.id, "name": "What brings you?"}
        )

    def call(self, user, model, method, args, kwargs=None):
        self.authenticate(user.login, user.login)
        return self.json_rpc(model, method, args, kwargs)

    def rpc(self, user, model, method, args, kwargs=None):
        result, error = self.call(user, model, method, args, kwargs)
        self.assertFalse(error)
        return result

    def assert_refused(self, user, model, method, args, kwargs=None):
        """The call is refused as an access error; its message."""
        with self.subTest(user=user.login, model=model, method=method):
            result, error = self.call(user, model, method, args, kwargs)
            self.assertTrue(error, f"allowed, answered {result!r}")
            self.assertEqual(error["data"]["name"], "odoo.exceptions.AccessError")
            return error["data"]["message"]

    def test_each_person_reaches_only_their_part_of_a_team(self):
        field = f"question_{self.question.id}"
        mine = self.book_team(
            self.next_slot(days=2), email="ann@example.com", **{field: "Owner's"}
        )
        theirs = self.book_team(
            self.next_slot(days=2), email="bo@example.com", **{field: "Oscar's"}
        )
        self.assertEqual((mine.user_id, theirs.user_id), (self.host, self.other_host))
        oscar, owner, cody = self.other_host, self.host, self.colleague

        # Each host reads the answers of their own bookings only.
        answers = self.rpc(
            oscar, "booking.answer", "search_read", [[]], {"fields": ["value"]}
        )
        self.assertEqual([a["value"] for a in answers], ["Oscar's"])
        self.assert_refused(
            oscar, "booking.answer", "read", [mine.booking_answer_ids.ids]
        )
        self.assertEqual(self.rpc(cody, "booking.answer", "search", [[]]), [])
        self.assert_refused(
            cody, "booking.answer", "read", [theirs.booking_answer_ids.ids]
        )
        # Nobody rewrites a guest's answer, not even the owner.
        self.assert_refused(
            owner,
            "booking.answer",
            "write",
            [mine.booking_answer_ids.ids, {"value": "x"}],
        )

        # Only the owner shapes the calendar: not a host of the team, not a colleague.
        for user in (oscar, cody):
            self.assert_refused(
                user,
                "booking.calendar",
                "write",
                [self.team.ids, {"assignment": "collective"}],
            )
            self.assert_refused(
                user,
                "booking.calendar",
                "write",
                [self.team.ids, {"host_ids": [Command.link(user.id)]}],
            )
            self.assert_refused(
                user,
                "booking.question",
                "create",
                [{"calendar_id": self.team.id, "name": "Your password?"}],
            )
            self.assert_refused(
                user,
                "booking.question",
                "write",
                [self.question.ids, {"name": "Hacked"}],
            )
            self.assert_refused(user, "booking.question", "unlink", [self.question.ids])
        question_id = self.rpc(
            owner,
            "booking.question",
            "create",
            [{"calendar_id": self.team.id, "name": "Company?"}],
        )
        self.assertTrue(self.env["booking.question"].browse(question_id).exists())
        # The owner, being no manager, brings no one else onto the team.
        message = self.assert_refused(
            owner,
            "booking.calendar",
            "write",
            [self.team.ids, {"host_ids": [Command.link(cody.id)]}],
        )
        self.assertIn("Only a booking manager", message)

        # Moving a booking to another host is a manager's: no one here can.
        for user in (owner, oscar, cody):
            self.assert_refused(
                user,
                "booking.reassign.wizard",
                "create",
                [{"event_id": theirs.id, "new_host_id": user.id}],
            )
            self.assert_refused(
                user, "calendar.event", "_booking_reassign", [theirs.ids, user.id]
            )
        self.env.invalidate_all()
        self.assertEqual((mine.user_id, theirs.user_id), (self.host, self.other_host))
        self.assertEqual(self.team.host_ids, self.hosts)
        self.assertEqual(self.team.assignment, "round_robin")
        self.assertEqual(self.question.name, "What brings you?")
