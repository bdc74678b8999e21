"""Each person who can reach Odoo, one after the other, tries the same things on
a host's booking: an outsider, a portal user, a plain employee, the host, and a
booking manager. Over JSON-RPC and HTTP, only the host and the manager move,
cancel, archive or delete it, only the manager hands the calendar over, nobody
points an event at someone's Zoom meeting; and the Zoom double sees a request
only for what was allowed, and only in the host's own Zoom account."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tests.common import JsonRpcException

from .common import make_user
from .test_security_rpc import SecurityCase

HOST_ONLY = {"host", "manager"}


@tagged("post_install", "-at_install")
class TestEveryRoleTriesTheSameThings(SecurityCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = make_user(
            cls.env,
            "zb_role_manager",
            "Max Manager",
            "base.group_user,zoom_booking.group_booking_manager",
        )
        cls.users = {
            "outsider": None,
            "portal": cls.portal_user,
            "employee": cls.colleague,
            "host": cls.host,
            "manager": cls.manager,
        }

    # ------------------------------------------------------------ helpers
    def sign_in(self, role):
        """Sign in as ``role``, the double's log emptied of earlier steps."""
        user = self.users[role]
        self.authenticate(user and user.login, user and user.login)
        self.env.cr.postcommit.run()
        self.zoom.clear_requests()

    def rpc(self, model, method, args, kwargs=None):
        """A JSON-RPC call; True when Odoo did it, False when it refused."""
        _result, error = self.json_rpc(model, method, args, kwargs)
        return not error

    def fresh_booking(self, day):
        """A new booking of the host's calendar, its Zoom meeting made."""
        self.authenticate(None, None)
        response = self.book(self.slot(day), email=f"guest{day}@example.com")
        self.assertEqual(response.status_code, 303, response.text[:300])
        booking = self.bookings().filtered(lambda b: b.start == self.slot(day))
        self.assertTrue(booking.zoom_meeting_id)
        self.zoom.clear_requests()
        return booking

    def slot(self, day):
        return self.next_slot(days=day, hour=12)

    def zoom_traffic(self):
        """(method, path, Zoom account) of each request after commit."""
        self.env.cr.postcommit.run()
        return [
            (r["method"], r["path"], r["zoom_user"])
            for r in self.zoom.requests()
            if r["path"].startswith("/v2/")
        ]

    def assert_allowed_only_for(self, role, allowed, done, what):
        if role in allowed:
            self.assertTrue(done, f"{role} should be able to {what}")
        else:
            self.assertFalse(done, f"{role} must not {what}")

    # ------------------------------------------------------------ the story
    def try_everything_as(self, role):
        host_zoom = self.host.email.lower()
        attacks = [
            ("move the booking", self.move, "PATCH"),
            ("cancel the booking", self.cancel, "DELETE"),
            ("archive the booking", self.archive, "DELETE"),
            ("delete the booking", self.delete, "DELETE"),
        ]
        for day, (what, attack, zoom_method) in enumerate(attacks, start=2):
            with self.subTest(role=role, attempt=what):
                booking = self.fresh_booking(day)
                meeting = booking.zoom_meeting_id
                self.sign_in(role)
                done = attack(booking)
                self.assert_allowed_only_for(role, HOST_ONLY, done, what)
                traffic = self.zoom_traffic()
                if done:
                    self.assertIn(
                        (zoom_method, f"/v2/meetings/{meeting}", host_zoom), traffic
                    )
                    self.assertEqual({account for *_, account in traffic}, {host_zoom})
                else:
                    self.assertEqual(traffic, [])
                    booking.invalidate_recordset()
                    self.assertEqual(
                        (booking.active, booking.booking_state, booking.start),
                        (True, "confirmed", self.slot(day)),
                    )
                    still = {str(m["id"]) for m in self.zoom.meetings(host_zoom)}
                    self.assertIn(meeting, still)
        with self.subTest(role=role, attempt="use the host's Zoom meeting"):
            self.sign_in(role)
            self.assertFalse(self.point_own_event_at(self.booking.zoom_meeting_id))
            self.assertEqual(self.zoom_traffic(), [])
        with self.subTest(role=role, attempt="hand the calendar to another host"):
            self.sign_in(role)
            done = self.rpc(
                "booking.calendar",
                "write",
                [self.calendar.ids, {"host_id": self.other_host.id}],
            )
            self.assert_allowed_only_for(role, {"manager"}, done, "hand it over")
            self.assertEqual(self.zoom_traffic(), [])
            self.calendar.invalidate_recordset()
            self.assertEqual(
                self.calendar.host_id, self.other_host if done else self.host
            )
        with self.subTest(role=role, attempt="read the guest's details"):
            self.sign_in(role)
            self.assert_guest_details_seen_by(role)
        with self.subTest(role=role, attempt="book typing a colleague's email"):
            self.book_typing_the_colleagues_email(role)

    def move(self, booking):
        start = booking.start + timedelta(hours=1)
        return self.rpc(
            "calendar.event",
            "write",
            [
                booking.ids,
                {
                    "start": fields.Datetime.to_string(start),
                    "stop": fields.Datetime.to_string(start + timedelta(minutes=30)),
                },
            ],
        )

    def cancel(self, booking):
        return self.rpc("calendar.event", "action_booking_cancel", [booking.ids])

    def archive(self, booking):
        return self.rpc("calendar.event", "write", [booking.ids, {"active": False}])

    def delete(self, booking):
        return self.rpc("calendar.event", "unlink", [booking.ids])

    def point_own_event_at(self, meeting_id):
        """Create an event of one's own carrying the host's meeting, or write it
        on one: nobody may, as the engine owns the field."""
        created = self.rpc(
            "calendar.event",
            "create",
            [
                {
                    "name": "Mine",
                    "start": "2030-01-07 10:00:00",
                    "stop": "2030-01-07 10:30:00",
                    "zoom_meeting_id": meeting_id,
                }
            ],
        )
        written = self.rpc(
            "calendar.event",
            "write",
            [self.booking.ids, {"zoom_host_id": self.other_host.id}],
        )
        return created or written

    def assert_guest_details_seen_by(self, role):
        fields_ = ["booking_guest_email", "booking_guest_phone", "zoom_passcode"]
        try:
            (seen,) = self.make_jsonrpc_request(
                "/web/dataset/call_kw/calendar.event/read",
                {
                    "model": "calendar.event",
                    "method": "read",
                    "args": [self.booking.ids, fields_],
                    "kwargs": {},
                },
            )
        except JsonRpcException:
            seen = None
        if role in ("outsider", "portal"):
            self.assertIsNone(seen, f"{role} reads no booking at all")
        elif role == "employee":
            self.assertEqual([seen[f] for f in fields_], [False] * 3)
        else:
            self.assertEqual(seen["booking_guest_email"], "gina.guest@example.com")
            self.assertTrue(seen["zoom_passcode"])

    def book_typing_the_colleagues_email(self, role):
        """Only the colleague, logged in, books as themself; anyone else who
        types their email is an outside guest who doesn't touch their calendar."""
        self.sign_in(role)
        self.zoom.clear_requests()
        start = self.next_slot(days=9, hour=14)
        response = self.book(
            start, slug=self.other_calendar.slug, email=self.colleague.email
        )
        self.assertEqual(response.status_code, 303, response.text[:300])
        booking = self.bookings(self.other_calendar).filtered(
            lambda b: b.start == start
        )
        in_their_calendar = self.colleague.partner_id in booking.partner_ids
        self.assertEqual(in_their_calendar, role == "employee")
        traffic = self.zoom_traffic()
        self.assertEqual(
            {(m, account) for m, _path, account in traffic if m == "POST"},
            {("POST", self.other_host.email.lower())},
        )

    # ------------------------------------------------------------ each role
    def test_an_outsider(self):
        self.try_everything_as("outsider")

    def test_a_portal_user(self):
        self.try_everything_as("portal")

    def test_a_plain_employee(self):
        self.try_everything_as("employee")

    def test_the_host(self):
        self.try_everything_as("host")

    def test_a_booking_manager(self):
        self.try_everything_as("manager")
