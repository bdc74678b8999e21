"""Nobody drives a Zoom account or a booking that isn't theirs: over JSON-RPC as
a plain colleague, whatever the field, the button or the context, the Zoom
double sees nothing; the host and a booking manager still can."""

from odoo.tests import tagged

from .common import make_user
from .test_security_rpc import SecurityCase


@tagged("post_install", "-at_install")
class TestNobodyTouchesWhatIsntTheirs(SecurityCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = make_user(
            cls.env,
            "zb_manager",
            "Mia Manager",
            "base.group_user,zoom_booking.group_booking_manager",
        )

    def setUp(self):
        super().setUp()
        self.authenticate(self.colleague.login, self.colleague.login)
        self.zoom.clear_requests()

    def assert_zoom_saw_nothing(self):
        self.env.cr.postcommit.run()
        self.assertEqual(self.zoom.requests(), [])

    def own_event(self, **values):
        return self.call_kw(
            "calendar.event",
            "create",
            [
                dict(
                    {
                        "name": "Mine",
                        "start": "2030-01-07 10:00:00",
                        "stop": "2030-01-07 10:30:00",
                    },
                    **values,
                )
            ],
        )

    def test_no_zoom_field_is_writable_over_rpc(self):
        event_id = self.own_event()
        meeting_id = self.booking.zoom_meeting_id
        for values in (
            {"zoom_host_id": self.host.id},
            {"zoom_meeting_id": meeting_id},
            {"zoom_join_url": "https://evil.example/j/1"},
            {"zoom_status": "failed"},
            {"booking_calendar_id": self.calendar.id},
            {"booking_state": "confirmed"},
        ):
            self.assert_refused("calendar.event", "write", [[event_id], values])
            self.assert_refused(
                "calendar.event",
                "create",
                [
                    dict(
                        values,
                        name="X",
                        start="2030-01-08 10:00:00",
                        stop="2030-01-08 10:30:00",
                    )
                ],
            )
        # Even with the module's own context key.
        self.assert_refused(
            "calendar.event",
            "write",
            [[event_id], {"zoom_host_id": self.host.id}],
            {"context": {"zoom_booking_sync": True}},
        )
        self.assert_zoom_saw_nothing()

    def test_a_colleague_cannot_retry_or_add_a_meeting_in_the_hosts_zoom(self):
        self.assert_refused("calendar.event", "action_zoom_retry", [self.booking.ids])
        hosts_event = (
            self.env["calendar.event"]
            .with_user(self.colleague)
            .create(
                {
                    "name": "For the host",
                    "start": "2030-01-09 10:00:00",
                    "stop": "2030-01-09 10:30:00",
                    "user_id": self.host.id,
                }
            )
        )
        self.env.flush_all()
        self.assert_refused(
            "calendar.event", "action_zoom_add_meeting", [hosts_event.ids]
        )
        self.assert_zoom_saw_nothing()

    def test_a_colleague_cannot_move_cancel_or_delete_a_booking(self):
        start = self.booking.start
        for method, args in (
            ("write", [self.booking.ids, {"active": False}]),
            ("write", [self.booking.ids, {"start": "2030-02-01 10:00:00"}]),
            ("write", [self.booking.ids, {"user_id": self.colleague.id}]),
            ("action_archive", [self.booking.ids]),
            ("unlink", [self.booking.ids]),
            ("action_booking_cancel", [self.booking.ids]),
        ):
            self.assert_refused("calendar.event", method, args)
        self.booking.invalidate_recordset()
        self.assertEqual(
            (self.booking.active, self.booking.booking_state, self.booking.start),
            (True, "confirmed", start),
        )
        self.assertFalse(self.mails_of(self.booking, "cancelled"))
        self.assert_zoom_saw_nothing()

    def test_only_a_manager_hands_a_calendar_to_another_host(self):
        self.authenticate(self.host.login, self.host.login)
        self.assert_refused(
            "booking.calendar",
            "write",
            [self.calendar.ids, {"host_id": self.colleague.id}],
        )
        self.assert_refused(
            "booking.calendar",
            "create",
            [{"name": "Theirs", "host_id": self.other_host.id}],
        )
        self.assertEqual(self.calendar.host_id, self.host)
        self.authenticate(self.manager.login, self.manager.login)
        self.call_kw(
            "booking.calendar",
            "write",
            [self.calendar.ids, {"host_id": self.other_host.id}],
        )
        self.calendar.invalidate_recordset()
        self.assertEqual(self.calendar.host_id, self.other_host)

    def test_the_host_and_a_manager_still_manage_bookings(self):
        meeting_id = self.booking.zoom_meeting_id
        self.authenticate(self.host.login, self.host.login)
        self.call_kw("calendar.event", "action_booking_cancel", [self.booking.ids])
        self.env.cr.postcommit.run()
        (delete,) = self.zoom.requests(method="DELETE")
        self.assertEqual(delete["path"], f"/v2/meetings/{meeting_id}")
        self.authenticate(self.manager.login, self.manager.login)
        self.call_kw(
            "calendar.event", "write", [self.other_booking.ids, {"active": False}]
        )
        self.env.cr.postcommit.run()
        self.assertEqual(len(self.zoom.requests(method="DELETE")), 2)

    def test_colleagues_see_the_host_busy_and_nothing_more(self):
        fields = [
            "name",
            "booking_guest_name",
            "booking_guest_email",
            "booking_guest_phone",
            "booking_guest_notes",
            "zoom_join_url",
            "zoom_passcode",
            "zoom_meeting_id",
            "location",
            "videocall_location",
            "start",
        ]
        self.assertEqual(self.booking.privacy, "private")
        (seen,) = self.call_kw("calendar.event", "read", [self.booking.ids, fields])
        self.assertEqual(seen["name"], "Busy")
        self.assertTrue(seen["start"])
        for field in fields[1:-1]:
            self.assertFalse(seen[field], field)
        # The host sees their booking in full.
        self.authenticate(self.host.login, self.host.login)
        (own,) = self.make_jsonrpc_request(
            "/web/dataset/call_kw/calendar.event/read",
            {
                "model": "calendar.event",
                "method": "read",
                "args": [self.booking.ids, fields],
                "kwargs": {},
            },
        )
        self.assertEqual(own["booking_guest_email"], "gina.guest@example.com")
        self.assertEqual(own["zoom_join_url"], self.booking.zoom_join_url)

    def test_a_public_calendar_shares_its_bookings_details(self):
        self.calendar.booking_privacy = "public"
        self.authenticate(None, None)
        response = self.book(self.next_slot(days=2), email="pia.public@example.com")
        self.assertEqual(response.status_code, 303, response.text[:300])
        booking = self.bookings().filtered(
            lambda b: b.booking_guest_email == "pia.public@example.com"
        )
        self.assertEqual(booking.privacy, "public")
        self.authenticate(self.colleague.login, self.colleague.login)
        (seen,) = self.call_kw(
            "calendar.event", "read", [booking.ids, ["booking_guest_email"]]
        )
        self.assertEqual(seen["booking_guest_email"], "pia.public@example.com")
