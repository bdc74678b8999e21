"""What real Zoom refuses, the module never asks: scopes checked on connect,
passcodes kept across a reschedule and made to the account's policy, Zoom's
final refusals final, and meetings adopted only by their exact reference."""

from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse

import requests

from odoo.tests import tagged

from ..tools.zoom_scopes import REQUIRED_SCOPES
from .test_zoom_meeting import ZoomMeetingCase

README_SCOPES = [
    "meeting:write:meeting",
    "meeting:update:meeting",
    "meeting:delete:meeting",
    "meeting:read:meeting",
    "meeting:read:list_meetings",
    "user:read:user",
    "user:read:settings",
]
STRICT_POLICY = {
    "length": 10,
    "have_number": True,
    "have_upper_and_lower_characters": True,
    "have_special_character": True,
    "consecutive_characters_length": 3,
}


@tagged("post_install", "-at_install")
class TestZoomScopes(ZoomMeetingCase):
    def test_the_readme_lists_every_scope_the_code_uses(self):
        self.assertEqual(sorted(REQUIRED_SCOPES), sorted(README_SCOPES))
        configure = (Path(__file__).parents[1] / "readme" / "CONFIGURE.md").read_text()
        for scope in README_SCOPES:
            self.assertIn(f"`{scope}`", configure)
        # The double grants exactly those by default, as a well-configured app.
        self.assertEqual(
            sorted(self.connection.sudo().scopes.split()), sorted(README_SCOPES)
        )

    def test_connect_tells_which_scope_the_app_lacks(self):
        self.zoom._set_config(
            {
                "granted_scopes": " ".join(
                    s for s in README_SCOPES if s != "meeting:read:list_meetings"
                )
            }
        )
        self.zoom.clear_requests()
        self.authenticate(self.other_host.login, self.other_host.login)
        response = self.url_open("/zoom_booking/oauth/connect", allow_redirects=False)
        callback = self.zoom.approve(response.headers["Location"])
        response = self.url_open(
            "/zoom_booking/oauth/callback?" + urlparse(callback).query,
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("meeting:read:list_meetings", response.text)
        self.assertIn("App Marketplace", response.text)
        self.assertEqual(self.other_host.zoom_connection_state, "not_connected")
        # Nothing of that authorization is kept, at Odoo or at Zoom.
        (revoke,) = self.zoom.requests(method="POST", path="/oauth/revoke")
        self.assertEqual(revoke["status"], 200)
        self.assertFalse(self.zoom.requests(path="/v2/users/me"))

    def test_a_create_that_timed_out_is_adopted_with_the_readme_scopes(self):
        self.zoom_creates_without_answering()
        booking, _url = self.book_zoom()
        self.zoom.clear_faults()
        self.run_cron()
        (listing,) = self.zoom.requests(method="GET", path="/v2/users/me/meetings")
        self.assertEqual(listing["status"], 200)
        (meeting,) = self.zoom.meetings()
        self.assertEqual(booking.zoom_meeting_id, str(meeting["id"]))


@tagged("post_install", "-at_install")
class TestZoomPasscodes(ZoomMeetingCase):
    def test_a_reschedule_keeps_the_passcode_and_the_mailed_link_joins(self):
        booking, _url = self.book_zoom(self.next_slot(days=2))
        link, passcode = booking.zoom_join_url, booking.zoom_passcode
        self.assertTrue(passcode)
        new_start = self.next_slot(days=3)
        response = self.reschedule(booking, new_start, "Europe/Paris")
        self.assertEqual(response.status_code, 303, response.text[:500])
        (move,) = self.zoom.requests(method="PATCH")
        self.assertNotIn("password", move["json"])
        # Odoo re-reads what Zoom holds after the change.
        self.assertTrue(
            self.zoom.requests(
                method="GET", path=f"/v2/meetings/{booking.zoom_meeting_id}"
            )
        )
        booking.invalidate_recordset()
        (meeting,) = self.zoom.meetings()
        self.assertEqual(meeting["start_time"], self.iso(new_start))
        self.assertEqual(
            (booking.zoom_join_url, booking.zoom_passcode),
            (meeting["join_url"], meeting["password"]),
        )
        self.assertEqual(
            (booking.zoom_join_url, booking.zoom_passcode), (link, passcode)
        )
        # The link and passcode mailed about the move let the guest in.
        for mail in self.mails_of(booking, "moved"):
            self.assertIn(meeting["join_url"], mail.body_html)
            self.assertIn(meeting["password"], mail.body_html)
        joined = requests.get(booking.zoom_join_url, timeout=10)
        self.assertEqual(joined.headers["X-Zoom-Double-Join"], "joined")

    def test_passcodes_meet_the_accounts_policy(self):
        self.zoom.set_user_settings(self.host.email, passcode_policy=STRICT_POLICY)
        self.connection = self.connect_zoom(self.host)
        self.zoom.clear_requests()
        booking, _url = self.book_zoom()
        (create,) = self.creates()
        self.assertEqual(create["status"], 201)
        passcode = create["json"]["password"]
        self.assertEqual(len(passcode), 10)
        self.assertTrue(any(c in "@-_*" for c in passcode))
        self.assertEqual(booking.zoom_passcode, passcode)
        self.assertEqual(booking.zoom_status, "created")

    def test_a_policy_made_stricter_after_connecting_is_read_again(self):
        self.zoom.set_user_settings(self.host.email, passcode_policy=STRICT_POLICY)
        booking, _url = self.book_zoom()
        statuses = [r["status"] for r in self.creates()]
        self.assertEqual(statuses, [400, 201])
        self.assertTrue(self.zoom.requests(method="GET", path="/v2/users/me/settings"))
        self.assertEqual(booking.zoom_status, "created")
        self.assertEqual(len(booking.zoom_passcode), 10)


@tagged("post_install", "-at_install")
class TestZoomFinalRefusals(ZoomMeetingCase):
    def test_deleting_an_ended_meeting_is_not_retried(self):
        booking, _url = self.book_zoom()
        self.zoom.set_meeting_status(booking.zoom_meeting_id, "finished")
        booking._booking_cancel()
        self.after_commit()
        (delete,) = self.zoom.requests(method="DELETE")
        self.assertEqual(delete["status"], 400)
        booking.invalidate_recordset()
        self.assertEqual(booking.zoom_status, "cleared")
        self.assertIn("ended", booking.zoom_last_error)
        self.assertFalse(self.env["zoom.meeting.job"].search([]))
        self.run_cron()
        self.assertEqual(len(self.zoom.requests(method="DELETE")), 1)

    def test_a_meeting_zoom_refuses_fails_for_good_with_its_reason(self):
        self.zoom_refuses_meetings()
        booking, _url = self.book_zoom()
        self.assertEqual(booking.zoom_status, "failed")
        self.assertTrue(booking.zoom_last_error)
        self.assertFalse(booking.zoom_pending)
        self.run_cron()
        self.assertEqual(len(self.creates()), 1)


@tagged("post_install", "-at_install")
class TestZoomAdoption(ZoomMeetingCase):
    def test_a_guest_cannot_make_odoo_adopt_another_meeting(self):
        # The host's own meeting, made with Odoo for another booking.
        first, _url = self.book_zoom(self.next_slot(days=2))
        other_reference = first.sudo().zoom_reference
        self.zoom.clear_requests()
        # A guest types that reference into the notes of a booking whose
        # create goes unanswered.
        self.zoom_creates_without_answering()
        second, _url = self.book_zoom(
            self.next_slot(days=3), notes=f"Hello\n{other_reference}"
        )
        self.zoom.clear_faults()
        self.run_cron()
        self.assertNotEqual(second.zoom_meeting_id, first.zoom_meeting_id)
        meetings = {str(m["id"]): m for m in self.zoom.meetings()}
        self.assertEqual(len(meetings), 2)
        mine = meetings[second.zoom_meeting_id]
        self.assertEqual(mine["agenda"].splitlines()[-1], second.sudo().zoom_reference)
        self.assertEqual(mine["start_time"], self.iso(second.start))
        # The first booking's meeting was left as it was.
        self.assertEqual(
            meetings[first.zoom_meeting_id]["start_time"], self.iso(first.start)
        )
        self.assertEqual(first.stop - first.start, timedelta(minutes=30))


@tagged("post_install", "-at_install")
class TestZoomDailyLimit(ZoomMeetingCase):
    def test_the_daily_limit_waits_for_zooms_reset_and_the_host_is_told(self):
        self.zoom._set_config({"daily_meeting_limit": 0})
        first, page_url = self.book_zoom(self.next_slot(days=2))
        second, _url = self.book_zoom(self.next_slot(days=3))
        # Both bookings hold, told their link follows.
        self.assertEqual((first | second).mapped("zoom_status"), ["pending"] * 2)
        self.assertIn("The Zoom link will follow", self.url_open(page_url).text)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        midnight = (now + timedelta(days=1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        for booking in first | second:
            wait_ends = booking.zoom_next_attempt
            self.assertLess(abs((wait_ends - midnight).total_seconds()), 60)
        # The host is told once, not once per booking.
        notices = self.env["mail.message"].search(
            [
                ("partner_ids", "in", self.host.partner_id.ids),
                ("subject", "ilike", "daily limit"),
            ]
        )
        self.assertEqual(len(notices), 1)
        self.assertIn("00:00", notices.body)
        # A cron run before the reset asks Zoom nothing more.
        self.zoom.clear_requests()
        self.env["zoom.meeting.job"]._cron_run()
        self.assertFalse(self.creates())


@tagged("post_install", "-at_install")
class TestZoomXmlErrors(ZoomMeetingCase):
    def test_an_expired_token_answered_in_xml_is_refreshed(self):
        self.zoom._set_config({"xml_error_statuses": [401]})
        self.zoom.expire_access_tokens(self.host.email)
        booking, _url = self.book_zoom()
        self.assertEqual(booking.zoom_status, "created")
        self.assertEqual([r["status"] for r in self.creates()], [401, 201])
        self.assertEqual(len(self.zoom.requests(method="POST", path="/oauth/token")), 1)


@tagged("post_install", "-at_install")
class TestZoomMeetingEditedInZoom(ZoomMeetingCase):
    def test_only_a_new_time_is_worth_telling_the_host(self):
        booking, _url = self.book_zoom()
        webhook_url = self.base_url() + "/zoom_booking/webhook"
        notes = booking.message_ids
        response = self.zoom.host_edits_meeting(
            booking.zoom_meeting_id, webhook_url, topic="Renamed in Zoom"
        )
        self.assertEqual(response.status_code, 200, response.text[:300])
        booking.invalidate_recordset()
        self.assertEqual(booking.message_ids, notes)
        moved = self.iso(booking.start + timedelta(hours=2))
        response = self.zoom.host_edits_meeting(
            booking.zoom_meeting_id, webhook_url, start_time=moved
        )
        self.assertEqual(response.status_code, 200, response.text[:300])
        booking.invalidate_recordset()
        (notice,) = booking.message_ids - notes
        self.assertIn("moved in Zoom", notice.body)
        self.assertIn(self.host.partner_id, notice.partner_ids)
