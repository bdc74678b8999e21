"""A booking on a Zoom calendar gets exactly one Zoom meeting, whatever Zoom does."""

import base64
import time
from datetime import datetime, timedelta

import vobject
from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import tagged

from ..models.zoom_meeting_job import PROBE_INTERVAL
from .test_booking_flow import BookingHttpCase


class ZoomMeetingCase(BookingHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.calendar.write(
            {
                "name": "Intro call",
                "zoom_waiting_room": True,
                "zoom_join_before_host": False,
                "zoom_passcode_required": True,
                "zoom_auto_recording": "cloud",
            }
        )

    def setUp(self):
        super().setUp()
        self.connection = self.connect_zoom(self.host)
        self.zoom.clear_requests()

    def book_zoom(self, start=None, **values):
        start = start or self.next_slot(days=2)
        response = self.book(start, **values)
        self.assertEqual(response.status_code, 303, response.text[:1000])
        calendar = self.env["booking.calendar"].search(
            [("slug", "=", values.get("slug") or self.calendar.slug)]
        )
        booking = self.bookings(calendar).filtered(lambda e: e.start == start)
        self.assertEqual(len(booking), 1)
        return booking, response.headers["Location"]

    def zoom_creates_without_answering(self):
        """Zoom makes the next meeting but its answer comes too late (after
        11 s: Odoo's test harness raises HTTP timeouts to 10 s)."""
        self.zoom.add_fault(
            method="POST",
            path="/v2/users/me/meetings",
            action="timeout_after_success",
            delay_ms=11000,
        )

    def creates(self):
        return self.zoom.requests(method="POST", path="/v2/users/me/meetings")

    def after_commit(self):
        """What a real commit does next: flush, then the post-commit hooks."""
        self.env.flush_all()
        self.env.cr.postcommit.run()
        self.env.invalidate_all()

    def zoom_refuses_meetings(self):
        """Zoom answers the next create with a validation error."""
        self.zoom.add_fault(
            method="POST",
            path="/v2/users/me/meetings",
            status=400,
            body={"code": 300, "message": "Validation Failed."},
        )

    def run_cron(self):
        """The Zoom cron, as if its time had come."""
        self.env["zoom.meeting.job"].search([]).write(
            {"next_attempt": datetime.now() - timedelta(seconds=1)}
        )
        self.env["zoom.meeting.job"]._cron_run()
        self.env.invalidate_all()

    def ics_of(self, mail):
        (attachment,) = mail.attachment_ids.filtered(
            lambda a: a.mimetype == "text/calendar"
        )
        return vobject.readOne(base64.b64decode(attachment.datas).decode())


@tagged("post_install", "-at_install")
class TestZoomMeetingOfABooking(ZoomMeetingCase):
    def test_booking_creates_the_meeting(self):
        start = self.next_slot(days=3, hour=1)
        booking, page_url = self.book_zoom(start, notes="Rollout <b>plan</b>")

        (create,) = self.creates()
        body = create["json"]
        self.assertEqual(body["type"], 2)
        self.assertEqual(body["start_time"], self.iso(start))
        self.assertTrue(body["start_time"].endswith("Z"))
        self.assertEqual(body["duration"], 30)
        self.assertEqual(body["timezone"], "Asia/Tokyo")
        self.assertEqual(body["topic"], "Intro call – Gina Guest")
        self.assertIn("Rollout <b>plan</b>", body["agenda"])
        # The last line is a random reference: no id, nothing of the token.
        reference = body["agenda"].splitlines()[-1]
        self.assertRegex(reference, r"^Ref: ZB-[0-9a-f]{24}$")
        # Random hex may contain the id's digits by chance: only a reference
        # made from the id (decimal or hex, zero-padded) is a leak.
        made_from_id = reference.removeprefix("Ref: ZB-").lstrip("0")
        self.assertNotIn(made_from_id, {str(booking.id), f"{booking.id:x}"})
        self.assertNotIn(booking.booking_access_token[:8], body["agenda"])
        self.assertLessEqual(len(body["agenda"]), 2000)
        self.assertEqual(
            body["settings"],
            {
                "waiting_room": True,
                "join_before_host": False,
                "jbh_time": 0,
                "auto_recording": "cloud",
                "approval_type": 2,
            },
        )
        self.assertTrue(body["password"])

        (meeting,) = self.zoom.meetings()
        self.assertRecordValues(
            booking,
            [
                {
                    "zoom_status": "created",
                    "zoom_meeting_id": str(meeting["id"]),
                    "zoom_join_url": meeting["join_url"],
                    "zoom_passcode": meeting["password"],
                    "videocall_location": meeting["join_url"],
                    "location": meeting["join_url"],
                    "videocall_source": "zoom",
                    "zoom_pending": False,
                }
            ],
        )
        digits = str(meeting["id"])
        self.assertEqual(
            booking.zoom_meeting_id_display,
            f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        )
        # Every call is logged on the event, without secrets.
        self.assertEqual(
            booking.zoom_call_log_ids.mapped("path"), ["/v2/users/me/meetings"]
        )
        self.assertEqual(booking.zoom_call_log_ids.status, 201)

        page = self.url_open(page_url)
        self.assertIn(meeting["join_url"], page.text)
        self.assertIn("o_booking_zoom_join", page.text)
        self.assertIn(booking.zoom_meeting_id_display, page.text)
        self.assertIn(meeting["password"], page.text)
        self.assertNotIn("start_url", page.text)

        # Host and guest each get one confirmation with the link and an .ics.
        mails = self.mails_of(booking, "Booking confirmed")
        self.assertEqual(
            mails.recipient_ids, self.host.partner_id | booking.booking_guest_partner_id
        )
        for mail in mails:
            self.assertIn(meeting["join_url"], mail.body_html)
            self.assertIn(booking.zoom_meeting_id_display, mail.body_html)
            self.assertIn(meeting["password"], mail.body_html)
            self.assertIn("Rollout &lt;b&gt;plan&lt;/b&gt;", mail.body_html)
            ics = self.ics_of(mail)
            self.assertEqual(ics.method.value, "REQUEST")
            self.assertEqual(ics.vevent.location.value, meeting["join_url"])
            self.assertEqual(ics.vevent.sequence.value, "0")
            # RFC 5546: the organizer and every attendee.
            self.assertEqual(
                ics.vevent.organizer.value.lower(), "mailto:hana.host@example.com"
            )
            self.assertEqual(
                sorted(line.value.lower() for line in ics.vevent.attendee_list),
                ["mailto:gina.guest@example.com", "mailto:hana.host@example.com"],
            )
            self.assertEqual(ics.vevent.dtstart.value.replace(tzinfo=None), start)
        guest_mail = mails.filtered(
            lambda m: booking.booking_guest_partner_id in m.recipient_ids
        )
        self.assertIn(booking.booking_url, guest_mail.body_html)
        self.assertIn("Europe/Paris", guest_mail.body_html)
        host_mail = mails - guest_mail
        self.assertIn("/mail/view?model=calendar.event", host_mail.body_html)
        self.assertIn("Asia/Tokyo", host_mail.body_html)

    def test_host_only_start_url_is_never_stored(self):
        booking, page_url = self.book_zoom()
        (meeting,) = self.zoom.meetings()
        start_url = meeting["start_url"]
        self.env.flush_all()
        for table, column in [
            ("calendar_event", "zoom_join_url"),
            ("calendar_event", "location"),
            ("calendar_event", "description"),
            ("mail_mail", "body_html"),
            ("mail_message", "body"),
            ("zoom_call_log", "path"),
        ]:
            self.env.cr.execute(
                f"SELECT count(*) FROM {table} WHERE {column}::text LIKE %s",  # noqa: S608
                [f"%{start_url}%"],
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0, table)
        self.assertNotIn(start_url, self.url_open(page_url).text)

    def test_meeting_times_across_daylight_saving_and_timezones(self):
        berlin = self.create_booking_calendar(
            self.other_host,
            name="Berlin call",
            slug="zb-berlin",
            online_meeting_provider="zoom",
            tz="Europe/Berlin",
        )
        new_york = self.env["res.users"].browse(self.other_host.id)
        cases = [
            # (host tz, naive UTC start, duration): the days clocks change
            ("Europe/Berlin", datetime(2027, 3, 28, 8, 0), 45),
            ("Europe/Berlin", datetime(2027, 10, 31, 9, 0), 60),
            ("America/New_York", datetime(2027, 3, 14, 14, 0), 30),
            ("Asia/Tokyo", datetime(2027, 3, 28, 1, 0), 30),
        ]
        for tz, start, minutes in cases:
            with self.subTest(tz=tz, start=start):
                new_york.tz = tz
                event = self.env["calendar.event"].create(
                    {
                        "name": "x",
                        "start": start,
                        "stop": start + timedelta(minutes=minutes),
                        "user_id": self.other_host.id,
                        "booking_calendar_id": berlin.id,
                        "booking_guest_name": "Guy",
                        "zoom_host_id": self.other_host.id,
                    }
                )
                body = event._zoom_meeting_body()
                self.assertEqual(body["start_time"], self.iso(start))
                self.assertEqual(body["duration"], minutes)
                self.assertEqual(body["timezone"], tz)
                self.assertEqual(body["topic"], "Berlin call – Guy")

    def test_times_read_as_each_reader_expects(self):
        booking, _url = self.book_zoom()
        booking.start = datetime(2027, 3, 28, 1, 0)
        booking.stop = datetime(2027, 3, 28, 1, 30)
        self.assertEqual(
            booking._booking_when_parts("Asia/Tokyo", "ja_JP"),
            ("2027年3月28日日曜日 10:00", "10:30"),
        )
        self.assertEqual(
            booking._booking_when_parts("America/New_York", "en_US"),
            ("Sat, Mar 27, 2027 21:00", "21:30"),
        )
        # The host reads in Tokyo time; the guest in Paris time.
        self.assertEqual(booking.booking_when_host, "Sun, Mar 28, 2027 10:00 – 10:30")
        self.assertEqual(booking.booking_when_guest, "Sun, Mar 28, 2027 03:00 – 03:30")
        mails = self.mails_of(booking, "Booking confirmed")
        self.assertEqual(len(mails), 2)

    def test_topic_and_agenda_fit_zoom_limits(self):
        booking, _url = self.book_zoom(name="G" * 128, notes="n" * 2000)
        (create,) = self.creates()
        self.assertLessEqual(len(create["json"]["topic"]), 200)
        self.assertLessEqual(len(create["json"]["agenda"]), 2000)
        self.assertRegex(
            create["json"]["agenda"].splitlines()[-1], r"^Ref: ZB-[0-9a-f]{24}$"
        )
        self.assertEqual(booking.zoom_status, "created")


@tagged("post_install", "-at_install")
class TestZoomMeetingFollowsTheBooking(ZoomMeetingCase):
    def test_guest_reschedules(self):
        booking, _url = self.book_zoom()
        meeting_id = booking.zoom_meeting_id
        new_start = self.next_slot(days=4, hour=5)
        response = self.reschedule(booking, new_start, "Europe/Paris")
        self.assertEqual(response.status_code, 303, response.text[:500])
        (patch_call,) = self.zoom.requests(method="PATCH")
        self.assertEqual(patch_call["path"], f"/v2/meetings/{meeting_id}")
        self.assertEqual(patch_call["json"]["start_time"], self.iso(new_start))
        self.assertEqual(patch_call["json"]["duration"], 30)
        booking.invalidate_recordset()
        self.assertEqual(booking.zoom_meeting_id, meeting_id)
        self.assertFalse(booking.zoom_pending)
        self.assertEqual(self.zoom.meetings()[0]["start_time"], self.iso(new_start))
        # Both sides are told, with an .ics that updates the same item.
        first = self.ics_of(self.mails_of(booking, "Booking confirmed")[0])
        moved = self.mails_of(booking, "Booking moved")
        self.assertEqual(len(moved), 2)
        for mail in moved:
            ics = self.ics_of(mail)
            self.assertEqual(ics.vevent.uid.value, first.vevent.uid.value)
            self.assertGreater(
                int(ics.vevent.sequence.value), int(first.vevent.sequence.value)
            )
            self.assertEqual(ics.vevent.dtstart.value.replace(tzinfo=None), new_start)

    def test_host_moves_the_event_in_odoo(self):
        booking, _url = self.book_zoom()
        new_start = booking.start + timedelta(days=1)
        self.authenticate(self.host.login, self.host.login)
        self.make_jsonrpc_request(
            "/web/dataset/call_kw/calendar.event/write",
            {
                "model": "calendar.event",
                "method": "write",
                "args": [
                    booking.ids,
                    {
                        "start": new_start.strftime("%Y-%m-%d %H:%M:%S"),
                        "stop": (new_start + timedelta(minutes=30)).strftime(
                            "%Y-%m-%d %H:%M:%S"
                        ),
                    },
                ],
                "kwargs": {},
            },
        )
        (patch_call,) = self.zoom.requests(method="PATCH")
        self.assertEqual(patch_call["json"]["start_time"], self.iso(new_start))
        self.assertEqual(len(self.mails_of(booking, "Booking moved")), 2)

    def test_reschedule_when_meeting_was_deleted_at_zoom(self):
        booking, _url = self.book_zoom()
        old_id = booking.zoom_meeting_id
        self.zoom.add_fault(
            method="PATCH",
            path=f"/v2/meetings/{old_id}",
            status=404,
            body={"code": 3001, "message": f"Meeting does not exist: {old_id}."},
        )
        booking.write({"start": booking.start + timedelta(hours=2)})
        self.after_commit()
        booking.invalidate_recordset()
        self.assertEqual(booking.zoom_status, "created")
        self.assertNotEqual(booking.zoom_meeting_id, old_id)
        self.assertEqual(len(self.creates()), 2)
        self.assertEqual(booking.zoom_join_url, self.zoom.meetings()[-1]["join_url"])
        self.assertEqual(booking.location, booking.zoom_join_url)
        self.assertTrue(self.mails_of(booking, "Your Zoom link"))

    def test_guest_cancels(self):
        booking, _url = self.book_zoom()
        meeting_id = booking.zoom_meeting_id
        token = booking.booking_access_token
        response = self.url_open(
            f"/book/booking/{token}/cancel",
            data={"csrf_token": self.csrf_of(f"/book/booking/{token}")},
            allow_redirects=False,
        )
        self.assertIn(response.status_code, (200, 303))
        (delete,) = self.zoom.requests(method="DELETE")
        self.assertEqual(delete["path"], f"/v2/meetings/{meeting_id}")
        self.assertEqual(self.zoom.meetings(), [])
        booking.invalidate_recordset()
        self.assertEqual(booking.zoom_status, "cleared")
        self.assertFalse(booking.zoom_join_url or booking.videocall_location)
        cancellations = self.mails_of(booking, "Booking cancelled")
        self.assertEqual(len(cancellations), 2)
        # The .ics cancels the same calendar item, for both attendees.
        first = self.ics_of(self.mails_of(booking, "Booking confirmed")[0])
        for mail in cancellations:
            ics = self.ics_of(mail)
            self.assertEqual(ics.method.value, "CANCEL")
            self.assertEqual(ics.vevent.status.value, "CANCELLED")
            self.assertEqual(ics.vevent.uid.value, first.vevent.uid.value)
            self.assertGreater(int(ics.vevent.sequence.value), 0)
            self.assertEqual(len(ics.vevent.attendee_list), 2)
            self.assertNotIn("location", ics.vevent.contents)

    def test_host_archives_or_deletes(self):
        archived, _url = self.book_zoom(self.next_slot(days=2))
        deleted, _url = self.book_zoom(self.next_slot(days=3))
        self.zoom.clear_requests()
        archived.with_user(self.host).action_archive()
        deleted_meeting = deleted.zoom_meeting_id
        deleted.with_user(self.host).unlink()
        self.after_commit()
        paths = sorted(r["path"] for r in self.zoom.requests(method="DELETE"))
        self.assertEqual(len(paths), 2)
        self.assertIn(f"/v2/meetings/{deleted_meeting}", paths)
        self.assertEqual(self.zoom.meetings(), [])
        self.assertEqual(archived.booking_state, "cancelled")

    def test_event_deleted_while_zoom_is_down(self):
        booking, _url = self.book_zoom()
        meeting_id = booking.zoom_meeting_id
        self.zoom.add_fault(
            method="DELETE", path="^/v2/meetings/", action="drop", times=None
        )
        booking.with_user(self.host).unlink()
        self.after_commit()
        # The meeting is still owed a deletion, and nothing is lost.
        job = self.env["zoom.meeting.job"].search([("meeting_id", "=", meeting_id)])
        self.assertRecordValues(
            job, [{"event_id": False, "work": "delete", "attempts": 1}]
        )
        self.assertTrue(job.last_error)
        self.assertEqual(len(self.zoom.meetings()), 1)
        self.zoom.clear_faults()
        job.next_attempt = datetime.now() - timedelta(seconds=1)
        self.env["zoom.meeting.job"]._cron_run()
        self.assertFalse(job.exists())
        self.assertEqual(self.zoom.meetings(), [])

    def test_cancel_when_meeting_already_gone(self):
        booking, _url = self.book_zoom()
        self.zoom.add_fault(
            method="DELETE",
            path=f"/v2/meetings/{booking.zoom_meeting_id}",
            status=404,
            body={"code": 3001, "message": "Meeting does not exist."},
        )
        booking._booking_cancel()
        self.after_commit()
        booking.invalidate_recordset()
        self.assertEqual(booking.zoom_status, "cleared")
        self.assertFalse(booking.zoom_pending)


@tagged("post_install", "-at_install")
class TestNothingLostWhenZoomFails(ZoomMeetingCase):
    def assert_pending_and_told(self, booking, page_url):
        self.assertEqual(booking.booking_state, "confirmed")
        self.assertEqual(booking.zoom_status, "pending")
        self.assertEqual(booking.zoom_pending, "create")
        page = self.url_open(page_url)
        self.assertIn("The Zoom link will follow by email", page.text)
        mails = self.mails_of(booking, "Booking confirmed")
        self.assertEqual(len(mails), 2)
        self.assertIn("The Zoom link will follow", mails[0].body_html)

    def assert_recovers_with_one_meeting(self, booking):
        self.zoom.clear_faults()
        self.run_cron()
        booking.invalidate_recordset()
        self.assertEqual(booking.zoom_status, "created")
        self.assertEqual(len(self.zoom.meetings()), 1)
        self.assertEqual(booking.zoom_join_url, self.zoom.meetings()[0]["join_url"])
        link_mails = self.mails_of(booking, "Your Zoom link")
        self.assertEqual(len(link_mails), 2)
        self.assertIn(booking.zoom_join_url, link_mails[0].body_html)
        # Nothing more to do, and no second mail on the next run.
        self.run_cron()
        self.assertEqual(len(self.mails_of(booking, "Your Zoom link")), 2)
        self.assertEqual(len(self.zoom.meetings()), 1)

    def test_zoom_down(self):
        for action, status in [("status", 503), ("drop", 0)]:
            with self.subTest(action=action):
                self.zoom.reset()
                self.connection = self.connect_zoom(self.host)
                self.zoom.add_fault(
                    method="POST",
                    path="/v2/users/me/meetings",
                    action=action,
                    status=status or 503,
                    times=None,
                )
                booking, page_url = self.book_zoom(self.next_slot(days=2 + status % 7))
                self.assert_pending_and_told(booking, page_url)
                self.assertTrue(booking.zoom_next_attempt)
                self.assertTrue(booking.zoom_last_error)
                self.assert_recovers_with_one_meeting(booking)

    def test_zoom_back_means_waiting_work_is_done_at_once(self):
        self.zoom.add_fault(
            method="POST", path="/v2/users/me/meetings", action="drop", times=2
        )
        first, _url = self.book_zoom(self.next_slot(days=2))
        second, _url = self.book_zoom(self.next_slot(days=3))
        self.assertEqual((first | second).mapped("zoom_status"), ["pending"] * 2)
        self.assertTrue(first.zoom_next_attempt > datetime.now())
        # Zoom answers again for the next booking: the waiting ones need not
        # wait for the end of their backoff.
        third, _url = self.book_zoom(self.next_slot(days=4))
        self.assertEqual(third.zoom_status, "created")
        self.env.invalidate_all()
        self.assertTrue(first.zoom_next_attempt <= datetime.now())
        self.env["zoom.meeting.job"]._cron_run()
        self.env.invalidate_all()
        self.assertEqual((first | second).mapped("zoom_status"), ["created"] * 2)
        self.assertEqual(len(self.zoom.meetings()), 3)

    def test_while_zoom_is_down_one_job_probes_it_every_few_seconds(self):
        """Recovery after an outage doesn't wait for the backoffs: one job of
        the host tries again within PROBE_INTERVAL; once Zoom answers it, the
        rest are due at once (and the cron is triggered for them)."""
        self.zoom.add_fault(
            method="POST", path="/v2/users/me/meetings", action="drop", times=None
        )
        bookings = self.env["calendar.event"]
        for days in (2, 3, 4):
            bookings |= self.book_zoom(self.next_slot(days=days))[0]
        self.env.invalidate_all()
        waits = sorted(
            (b.zoom_next_attempt - datetime.now()).total_seconds() for b in bookings
        )
        self.assertLessEqual(waits[0], PROBE_INTERVAL)
        self.assertGreater(waits[1], 20)  # the others keep their backoff
        self.zoom.clear_faults()
        with freeze_time(datetime.now() + timedelta(seconds=PROBE_INTERVAL + 1)):
            self.env["zoom.meeting.job"]._cron_run()  # the probe
            self.env.invalidate_all()
            self.assertEqual(sorted(bookings.mapped("zoom_status"))[0], "created")
            self.env["zoom.meeting.job"]._cron_run()  # as triggered by the probe
        self.env.invalidate_all()
        self.assertEqual(bookings.mapped("zoom_status"), ["created"] * 3)
        self.assertEqual(len(self.zoom.meetings()), 3)

    def test_the_cron_stays_for_a_probe_and_wakes_the_cron_workers(self):
        """With a probe due in a moment, the real cron (progress API) says it
        has more to do and, after its commit, notifies the cron workers, who
        would otherwise sleep up to a minute before running it again."""
        self.zoom.add_fault(
            method="POST", path="/v2/users/me/meetings", action="drop", times=None
        )
        booking = self.book_zoom()[0]
        cron = self.env.ref("zoom_booking.ir_cron_zoom_meeting_sync")
        cron, progress = cron._add_progress()

        def cron_workers_told():
            # The stay's own notification, not a trigger's (bound to a cron).
            return any(
                getattr(func, "__name__", None) == "_notifydb" and not func.__self__
                for func in self.env.cr.postcommit._funcs
            )

        self.env.cr.postcommit.clear()
        cron.env["zoom.meeting.job"]._cron_run()
        self.assertEqual((progress.done, progress.remaining), (1, 1))
        self.assertTrue(cron_workers_told())
        self.env.cr.postcommit.clear()
        # Nothing due soon (Zoom back, the meeting made): the cron is done.
        self.zoom.clear_faults()
        cron, progress = cron._add_progress()
        with freeze_time(datetime.now() + timedelta(seconds=PROBE_INTERVAL + 1)):
            cron.env["zoom.meeting.job"]._cron_run()
        booking.invalidate_recordset()
        self.assertEqual(booking.zoom_status, "created")
        self.assertEqual(progress.remaining, 0)
        self.assertFalse(cron_workers_told())

    def test_rate_limited_honours_retry_after(self):
        self.zoom.add_fault(
            method="POST",
            path="/v2/users/me/meetings",
            action="rate_limit",
            headers={"Retry-After": "120"},
        )
        booking, page_url = self.book_zoom()
        self.assert_pending_and_told(booking, page_url)
        wait = (booking.zoom_next_attempt - datetime.now()).total_seconds()
        self.assertTrue(100 < wait <= 121, wait)
        self.assertFalse(booking.zoom_create_unsure)
        self.assert_recovers_with_one_meeting(booking)

    def test_expired_access_token_is_refreshed_once(self):
        self.zoom.expire_access_tokens(self.host.email)
        booking, _url = self.book_zoom()
        self.assertEqual(booking.zoom_status, "created")
        statuses = [r["status"] for r in self.creates()]
        self.assertEqual(statuses, [401, 201])
        self.assertEqual(len(self.zoom.requests(method="POST", path="/oauth/token")), 1)

    def test_host_must_reconnect_then_meetings_follow(self):
        self.zoom.deauthorize(self.host.email)
        self.connection.sudo().token_expires_at = datetime.now()
        self.connection.flush_recordset()
        booking, page_url = self.book_zoom()
        self.assert_pending_and_told(booking, page_url)
        self.assertEqual(self.host.zoom_connection_state, "needs_reconnect")
        self.assertFalse(self.zoom.meetings())
        # No re-save of anything: reconnecting creates the waiting meeting.
        self.connect_zoom(self.host)
        booking.invalidate_recordset()
        self.assertEqual(booking.zoom_status, "created")
        self.assertEqual(len(self.zoom.meetings()), 1)
        self.assertEqual(len(self.mails_of(booking, "Your Zoom link")), 2)

    def test_create_timed_out_after_zoom_made_it(self):
        self.zoom_creates_without_answering()
        booking, page_url = self.book_zoom()
        self.assertEqual(len(self.zoom.meetings()), 1)
        self.assert_pending_and_told(booking, page_url)
        self.assertTrue(booking.zoom_create_unsure)
        self.zoom.clear_faults()
        self.run_cron()
        booking.invalidate_recordset()
        # Adopted, not made twice.
        self.assertEqual(len(self.creates()), 1)
        (meeting,) = self.zoom.meetings()
        self.assertEqual(booking.zoom_meeting_id, str(meeting["id"]))
        self.assertEqual(booking.zoom_status, "created")
        self.assertTrue(self.zoom.requests(method="GET", path="/v2/users/me/meetings"))

    def test_zoom_refuses_the_meeting(self):
        self.zoom_refuses_meetings()
        booking, _url = self.book_zoom()
        self.assertEqual(booking.booking_state, "confirmed")
        self.assertEqual(booking.zoom_status, "failed")
        self.assertEqual(booking.zoom_last_error, "Validation Failed.")
        # The host retries from the event form.
        booking.with_user(self.host).action_zoom_retry()
        self.after_commit()
        booking.invalidate_recordset()
        self.assertEqual(booking.zoom_status, "created")

    def book_in_process(self, days):
        """A guest's booking as its request makes it, up to its commit: the
        Zoom work planned after it has not run yet."""
        public = self.env.ref("base.public_user")
        return (
            self.calendar.with_user(public)
            .sudo()
            ._book_slot(
                self.iso(self.next_slot(days=days)),
                {"name": "Lea Lease", "email": f"lea{days}@example.com", "tz": "UTC"},
            )
        )

    def test_a_new_bookings_meeting_is_made_by_its_own_request(self):
        """Between the booking's commit and its request's call to Zoom, the
        cron (of this node or another) leaves the job alone: it was made
        claimed, so the meeting is made once, by the request."""
        booking = self.book_in_process(days=2)
        job = booking.sudo().zoom_job_ids
        self.env.flush_all()
        self.assertEqual(
            (job.work, job.attempts, job.create_unsure), ("create", 1, True)
        )
        self.assertGreater(job.lease_until, datetime.now())
        self.env["zoom.meeting.job"]._cron_run()  # a cron worker, meanwhile
        self.assertEqual(self.zoom.meetings(), [])
        self.after_commit()  # the request, after its commit
        self.assertEqual(booking.zoom_status, "created")
        self.assertEqual(len(self.zoom.meetings()), 1)
        self.assertFalse(booking.sudo().zoom_job_ids)

    def test_out_of_time_the_cron_makes_the_meeting_at_once(self):
        """A request out of time for Zoom gives its claimed jobs back: the
        cron does them at its next run, not when their lease would end."""
        booking = self.book_in_process(days=3)
        job = booking.sudo().zoom_job_ids
        self.env.cr.postcommit.clear()
        self.env["zoom.meeting.job"].with_context(
            zoom_booking_deadline=time.monotonic() - 1
        )._run(job.ids, claimed=True)
        self.env.invalidate_all()
        self.assertEqual((job.attempts, job.create_unsure), (0, False))
        self.assertFalse(job.lease_until)
        self.assertEqual(self.zoom.meetings(), [])
        self.env["zoom.meeting.job"]._cron_run()
        self.env.invalidate_all()
        self.assertEqual(booking.zoom_status, "created")
        self.assertEqual(len(self.zoom.meetings()), 1)


@tagged("post_install", "-at_install")
class TestZoomBlockOfTheEventForm(ZoomMeetingCase):
    def test_tour_failed_meeting_then_retry_now(self):
        self.zoom_refuses_meetings()
        booking, _url = self.book_zoom()
        self.assertEqual(booking.zoom_status, "failed")
        self.start_tour(
            f"/odoo/calendar/{booking.id}",
            "zoom_booking_event_form",
            login=self.host.login,
        )
        booking.invalidate_recordset()
        self.assertEqual(booking.zoom_status, "created")
        self.assertEqual(len(self.zoom.meetings()), 1)


@tagged("post_install", "-at_install")
class TestZoomOnOrdinaryEvents(ZoomMeetingCase):
    def test_add_zoom_meeting_to_an_event_made_by_hand(self):
        start = self.next_slot(days=5)
        event = (
            self.env["calendar.event"]
            .with_user(self.host)
            .create(
                {
                    "name": "Team sync",
                    "start": start,
                    "stop": start + timedelta(hours=1),
                }
            )
        )
        event.action_zoom_add_meeting()
        self.after_commit()
        event.invalidate_recordset()
        self.assertEqual(event.zoom_status, "created")
        self.assertEqual(event.videocall_location, event.zoom_join_url)
        (create,) = self.creates()
        self.assertEqual(create["json"]["topic"], "Team sync")
        self.assertEqual(create["json"]["duration"], 60)

    def test_other_users_cannot_touch_the_meeting(self):
        booking, _url = self.book_zoom()
        with self.assertRaises(AccessError):
            booking.with_user(self.other_host).action_zoom_retry()


@tagged("post_install", "-at_install")
class TestCalendarSyncCarriesZoom(ZoomMeetingCase):
    def test_google_and_microsoft_payloads(self):
        booking, _url = self.book_zoom()
        join_url = booking.zoom_join_url
        event_model = type(self.env["calendar.event"])
        if not hasattr(event_model, "_google_values") or not hasattr(
            event_model, "_microsoft_values"
        ):
            self.skipTest("google_calendar and microsoft_calendar are not installed")
        google = booking._google_values()
        self.assertEqual(google["location"], join_url)
        self.assertNotIn("conferenceData", google)
        microsoft = booking._microsoft_values(
            ["name", "location", "videocall_location", "start", "stop"]
        )
        self.assertEqual(microsoft["location"], {"displayName": join_url})
        self.assertFalse(microsoft.get("isOnlineMeeting"))
        self.assertNotIn("onlineMeetingProvider", microsoft)


@tagged("post_install", "-at_install")
class TestZoomChangesSeenInOdoo(ZoomMeetingCase):
    def webhook(self, event, meeting, old=None):
        payload = {"account_id": "acc", "object": meeting}
        if old is not None:
            payload["old_object"] = old
        response = self.zoom.send_webhook(
            self.base_url() + "/zoom_booking/webhook", event, payload
        )
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.env.invalidate_all()

    def host_notes(self, booking):
        """The notes telling the host about Zoom (not the booking mails)."""
        return booking.message_ids.filtered(
            lambda m: (
                self.host.partner_id in m.partner_ids
                and m.email_layout_xmlid != "zoom_booking.mail_notification_booking"
            )
        )

    def test_meeting_deleted_in_zoom(self):
        booking, page_url = self.book_zoom()
        (meeting,) = self.zoom.meetings()
        zoom_user_id = self.connection.zoom_user_id
        payload = {
            "id": meeting["id"],
            "uuid": meeting["uuid"],
            "host_id": zoom_user_id,
        }
        self.webhook("meeting.deleted", payload)
        self.assertEqual(booking.zoom_status, "cleared")
        self.assertFalse(booking.zoom_join_url)
        self.assertFalse(booking.videocall_location)
        self.assertNotIn(meeting["join_url"], self.url_open(page_url).text)
        (note,) = self.host_notes(booking)
        self.assertIn("deleted in Zoom", note.body)
        # From OdooBot, not from the public user the webhook runs as.
        self.assertEqual(note.author_id, self.env.ref("base.partner_root"))
        self.assertTrue(note.email_from)
        # Zoom's retry of the same event changes nothing more.
        self.webhook("meeting.deleted", payload)
        self.assertEqual(len(self.host_notes(booking)), 1)

    def test_meeting_moved_in_zoom(self):
        booking, _url = self.book_zoom()
        (meeting,) = self.zoom.meetings()
        moved = dict(meeting, start_time=self.iso(booking.start + timedelta(hours=3)))
        self.webhook(
            "meeting.updated",
            {k: moved[k] for k in ("id", "uuid", "start_time", "duration")},
            old={"id": meeting["id"], "start_time": meeting["start_time"]},
        )
        (note,) = self.host_notes(booking)
        self.assertIn("moved in Zoom", note.body)
        self.assertEqual(booking.zoom_status, "created")
        # A change that keeps the booking's time says nothing.
        self.webhook(
            "meeting.updated",
            {
                "id": meeting["id"],
                "topic": "New topic",
                "start_time": meeting["start_time"],
            },
            old={"id": meeting["id"], "topic": meeting["topic"]},
        )
        self.assertEqual(len(self.host_notes(booking)), 1)


@tagged("post_install", "-at_install")
class TestZoomMeetingTour(BookingHttpCase):
    def test_tour_book_on_a_zoom_calendar(self):
        self.connect_zoom(self.host)
        self.start_tour(
            f"/book/{self.calendar.slug}", "zoom_booking_book_zoom_meeting", login=None
        )
        booking = self.bookings()
        self.assertEqual(booking.booking_guest_email, "zara.zoomer@example.com")
        self.assertEqual(booking.zoom_status, "created")
        self.assertEqual(len(self.zoom.meetings()), 1)
