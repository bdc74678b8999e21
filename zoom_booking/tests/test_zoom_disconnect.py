"""Disconnecting, in Odoo or by removing the app in Zoom, removes every Zoom link,
meeting ID and passcode Odoo keeps for that user, as Zoom's policy requires."""

from datetime import datetime, timedelta, timezone

from odoo.tests import tagged

from .test_zoom_meeting import ZoomMeetingCase


class ZoomPurgeCase(ZoomMeetingCase):
    def setUp(self):
        super().setUp()
        self.other_calendar = self.create_other_calendar()
        self.other_connection = self.connect_zoom(self.other_host)

    def book_history(self):
        """Upcoming and past bookings with Zoom meetings, one moved (so an older
        link lives on in the chatter), one cancelled, and another host's."""
        upcoming, _url = self.book_zoom(self.next_slot(days=2))
        second, _url = self.book_zoom(self.next_slot(days=3))
        cancelled, _url = self.book_zoom(self.next_slot(days=4))
        moved_from_url = second.zoom_join_url
        # Deleted at Zoom, so moving it makes a new meeting and link.
        self.zoom.add_fault(
            method="PATCH", path=f"/v2/meetings/{second.zoom_meeting_id}", status=404
        )
        second.write({"start": second.start + timedelta(hours=1)})
        self.after_commit()
        self.assertNotEqual(second.zoom_join_url, moved_from_url)
        cancelled._booking_cancel()
        self.after_commit()
        past, _url = self.book_zoom(self.next_slot(days=5))
        self.env.cr.execute(
            "UPDATE calendar_event SET start = start - interval '30 days', "
            "stop = stop - interval '30 days' WHERE id = %s",
            [past.id],
        )
        others, _url = self.book_zoom(self.next_slot(days=2), slug="zb-other-call")
        self.env.invalidate_all()
        host_secrets = self.secrets_of(self.zoom.meetings(self.host.email))
        host_secrets.add(moved_from_url)
        other_secrets = self.secrets_of(self.zoom.meetings(self.other_host.email))
        self.assertTrue(host_secrets and other_secrets)
        return (
            (upcoming | second | past),
            cancelled,
            others,
            host_secrets,
            other_secrets,
        )

    @staticmethod
    def secrets_of(meetings):
        found = set()
        for meeting in meetings:
            found.update({meeting["join_url"], str(meeting["id"]), meeting["password"]})
        return found

    def tables_holding(self, value):
        """Every (table, column) of the database whose text holds ``value``."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT c.table_name, c.column_name
                 FROM information_schema.columns c
                 JOIN information_schema.tables t
                   ON t.table_name = c.table_name AND t.table_schema = c.table_schema
                WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
                  AND c.data_type IN ('text', 'character varying', 'jsonb')"""
        )
        found = []
        for table, column in self.env.cr.fetchall():
            self.env.cr.execute(
                f'SELECT 1 FROM "{table}" WHERE "{column}"::text LIKE %s LIMIT 1',  # noqa: S608
                [f"%{value}%"],
            )
            if self.env.cr.fetchone():
                found.append((table, column))
        return found

    def unsent_mails(self, events):
        """The events' mails still waiting to be sent, with their invitation."""
        mails = self.env["mail.mail"]
        for event in events:
            mails |= self.mails_of(event).filtered(lambda m: m.state == "outgoing")
        self.assertTrue(mails)
        self.assertTrue(all(m.attachment_ids for m in mails))
        return mails

    def assert_unsent_mails_kept_without_zoom(self, mails, secrets):
        """Nothing is lost on disconnect: the guests still get every mail, with
        its invitation, only without the Zoom details."""
        mails.invalidate_recordset()
        self.assertEqual(mails.exists(), mails)
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        for mail in mails:
            (invitation,) = mail.attachment_ids
            self.assertEqual(invitation.mimetype, "text/calendar")
            ics = invitation.raw.decode()
            self.assertIn("BEGIN:VEVENT", ics)
            for value in secrets:
                self.assertNotIn(value, mail.body_html or "", mail.subject)
                self.assertNotIn(value, ics, mail.subject)

    def assert_purged(self, host_secrets, other_secrets):
        for value in host_secrets:
            self.assertEqual(self.tables_holding(value), [], value)
        for value in other_secrets:
            if len(value) > 8:
                self.assertTrue(self.tables_holding(value), value)


@tagged("post_install", "-at_install")
class TestDisconnectInOdoo(ZoomPurgeCase):
    def test_preview_then_disconnect_removes_everything(self):
        kept, cancelled, others, host_secrets, other_secrets = self.book_history()
        for value in host_secrets:
            if len(value) > 8:
                self.assertTrue(self.tables_holding(value), value)
        meetings_at_zoom = len(self.zoom.meetings(self.host.email))
        unsent = self.unsent_mails(kept | cancelled)
        self.assertTrue(any(self.mails_of(e, "Booking cancelled") for e in cancelled))

        self.authenticate(self.host.login, self.host.login)
        action = self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {
                "model": "res.users",
                "method": "action_zoom_disconnect",
                "args": [[self.host.id]],
                "kwargs": {},
            },
        )
        wizard = self.env["zoom.disconnect.wizard"].browse(action["res_id"])
        # Two upcoming bookings hold a Zoom meeting; the past and cancelled don't.
        self.assertEqual(wizard.upcoming_count, 2)
        self.assertEqual(
            wizard.preview,
            "2 upcoming bookings will lose their Zoom link in Odoo; "
            "the meetings stay in your Zoom account.",
        )
        self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {
                "model": "zoom.disconnect.wizard",
                "method": "action_disconnect",
                "args": [wizard.ids],
                "kwargs": {},
            },
        )
        self.env.invalidate_all()
        self.assertEqual(self.host.zoom_connection_state, "not_connected")
        self.assertEqual(
            len(self.zoom.requests(method="POST", path="/oauth/revoke")), 1
        )
        # The meetings stay in the host's Zoom account.
        self.assertEqual(len(self.zoom.meetings(self.host.email)), meetings_at_zoom)
        for event in kept | cancelled:
            self.assertFalse(event.zoom_join_url or event.zoom_meeting_id)
            self.assertFalse(event.zoom_passcode or event.zoom_call_log_ids)
            self.assertFalse(event.videocall_location)
        self.assertEqual(kept.mapped("zoom_status"), ["cleared"] * 3)
        self.assert_purged(host_secrets, other_secrets)
        self.assert_unsent_mails_kept_without_zoom(unsent, host_secrets)
        # Other users' data is untouched.
        self.assertEqual(others.zoom_status, "created")
        self.assertTrue(others.zoom_call_log_ids)
        # The audit line says who, when and how much, never the values.
        audit = self.env["zoom.data.purge"].search([("user_id", "=", self.host.id)])
        self.assertEqual(len(audit), 1)
        self.assertEqual(audit.reason, "disconnect")
        self.assertEqual(audit.done_by_id, self.host)
        self.assertEqual(audit.event_count, 4)
        self.assertGreater(audit.call_log_count, 0)

    def test_disconnect_when_zoom_is_down_still_purges(self):
        kept, _cancelled, _others, host_secrets, other_secrets = self.book_history()
        self.zoom.add_fault(method="POST", path="/oauth/revoke", action="drop")
        self.host.with_user(self.host).action_zoom_disconnect()
        wizard = self.env["zoom.disconnect.wizard"].search([], order="id desc", limit=1)
        wizard.with_user(self.host).action_disconnect()
        self.after_commit()
        self.assertEqual(self.host.zoom_connection_state, "not_connected")
        self.assert_purged(host_secrets, other_secrets)

    def test_reconnect_does_not_restore_then_issue_new_meetings(self):
        kept, _cancelled, _others, host_secrets, _other = self.book_history()
        self.host.with_user(self.host).action_zoom_disconnect()
        wizard = self.env["zoom.disconnect.wizard"].search([], order="id desc", limit=1)
        wizard.with_user(self.host).action_disconnect()
        self.after_commit()
        self.connect_zoom(self.host)
        self.env.invalidate_all()
        self.assertFalse(kept.filtered("zoom_join_url"))
        for value in host_secrets:
            self.assertEqual(self.tables_holding(value), [], value)

        upcoming = kept.filtered(lambda e: e.start > e.create_date)
        self.assertEqual(self.host.zoom_reissue_count, 2)
        creates_before = len(self.creates())
        self.authenticate(self.host.login, self.host.login)
        self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {
                "model": "res.users",
                "method": "action_zoom_issue_new_meetings",
                "args": [[self.host.id]],
                "kwargs": {},
            },
        )
        self.env.invalidate_all()
        self.assertEqual(len(self.creates()) - creates_before, 2)
        self.assertEqual(upcoming.mapped("zoom_status"), ["created", "created"])
        self.assertEqual(len(set(upcoming.mapped("zoom_meeting_id"))), 2)
        for event in upcoming:
            self.assertNotIn(event.zoom_join_url, host_secrets)
            # The new link goes to host and guest once each; the unsent mails
            # of before were kept, without the old link.
            mails = self.mails_of(event, "Your Zoom link")
            with_link = mails.filtered(
                lambda m, url=event.zoom_join_url: url in m.body_html
            )
            self.assertEqual(len(with_link), 2)
            self.assertEqual(len(self.mails_of(event, "Booking confirmed")), 2)
        self.assertEqual(self.host.zoom_reissue_count, 0)

    def test_the_pages_say_what_a_disconnection_changed(self):
        booking, page_url = self.book_zoom()
        page = self.url_open(f"/book/{self.calendar.slug}").text
        self.assertIn("Zoom meeting", page)
        self.host._zoom_connection()._disconnect()
        self.after_commit()
        # The guest's page explains the missing link.
        page = self.url_open(page_url).text
        self.assertIn("The Zoom link of this booking was removed", page)
        self.assertNotIn("o_booking_zoom_join", page)
        # The booking page promises what a booking now gets: the fallback.
        self.calendar.zoom_fallback = "discuss"
        page = self.url_open(f"/book/{self.calendar.slug}").text
        self.assertNotIn("Zoom meeting", page)
        self.assertIn("Odoo Discuss video call", page)
        self.calendar.zoom_fallback = "none"
        page = self.url_open(f"/book/{self.calendar.slug}").text
        self.assertNotIn("o_booking_provider", page)

    def test_new_bookings_while_disconnected_use_the_fallback(self):
        self.host._zoom_connection()._disconnect()
        self.after_commit()
        self.calendar.zoom_fallback = "discuss"
        booking, page_url = self.book_zoom()
        self.assertEqual(booking.booking_state, "confirmed")
        self.assertFalse(booking.zoom_status)
        self.assertIn("/calendar/join_videocall/", booking.videocall_location)
        page = self.url_open(page_url).text
        self.assertIn("Zoom account is not connected", page)
        self.assertIn("Odoo Discuss", page)
        self.assertEqual(len(self.mails_of(booking, "Booking confirmed")), 2)
        self.assertIn(
            self.calendar.zoom_warning or "", self.calendar.zoom_warning or "x"
        )
        self.assertTrue(self.calendar.zoom_warning)
        # Connected again: the next booking gets Zoom, with nothing re-saved.
        self.connect_zoom(self.host)
        self.env.invalidate_all()
        self.assertFalse(self.calendar.zoom_warning)
        again, _url = self.book_zoom(self.next_slot(days=3))
        self.assertEqual(again.zoom_status, "created")


@tagged("post_install", "-at_install")
class TestAppRemovedInZoom(ZoomPurgeCase):
    def test_deauthorized_webhook_purges(self):
        kept, _cancelled, others, host_secrets, other_secrets = self.book_history()
        webhook_url = self.base_url() + "/zoom_booking/webhook"
        result = self.zoom.deauthorize(self.host.email, webhook_url=webhook_url)
        self.assertEqual(result["status"], 200)
        self.env.invalidate_all()
        self.assertEqual(self.host.zoom_connection_state, "not_connected")
        self.assertFalse(self.zoom.requests(method="POST", path="/oauth/revoke"))
        self.assert_purged(host_secrets, other_secrets)
        audit = self.env["zoom.data.purge"].search([("user_id", "=", self.host.id)])
        self.assertEqual(audit.reason, "deauthorized")
        self.assertEqual(others.zoom_status, "created")
        # Zoom's retry of the same notice changes nothing more.
        again = self.zoom.deauthorize(self.host.email, webhook_url=webhook_url)
        self.assertEqual(again["status"], 200)
        self.assertEqual(
            len(self.env["zoom.data.purge"].search([("user_id", "=", self.host.id)])),
            1,
        )

    def test_late_retry_of_an_old_deauthorization_keeps_the_new_connection(self):
        connection = self.host._zoom_connection()
        an_hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        )
        response = self.zoom.send_webhook(
            self.base_url() + "/zoom_booking/webhook",
            "app_deauthorized",
            {
                "account_id": connection.zoom_account_id,
                "user_id": connection.zoom_user_id,
                "signature": "x",
                "deauthorization_time": an_hour_ago,
                "client_id": "c",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        self.assertEqual(self.host.zoom_connection_state, "connected")


@tagged("post_install", "-at_install")
class TestDisconnectTour(ZoomPurgeCase):
    def test_tour_disconnect_with_preview(self):
        self.book_zoom(self.next_slot(days=2))
        self.start_tour(
            "/odoo/my-zoom", "zoom_booking_disconnect", login=self.host.login
        )
        self.assertEqual(self.host.zoom_connection_state, "not_connected")
        booking = self.bookings()
        self.assertFalse(booking.zoom_join_url)
