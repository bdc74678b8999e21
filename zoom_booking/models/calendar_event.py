"""Calendar events booked by guests through a booking calendar, and their
Zoom meetings."""

import logging
import re
import secrets
import time
from datetime import datetime, timedelta

import babel
import psycopg2
import pytz
import vobject
from babel.dates import format_skeleton
from markupsafe import Markup, escape
from psycopg2.extras import execute_values

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.modules.registry import Registry
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import html2plaintext

from ..tools.zoom_client import (
    ZoomError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomUnavailable,
)
from .booking_calendar import BookingError, run_in_own_transaction
from .zoom_connection import ZoomNeedsReconnect

_logger = logging.getLogger(__name__)

# How long a worker may take to do an event's Zoom work before another may.
ZOOM_LEASE = timedelta(minutes=2)
# The longest a request waits on Zoom after its commit (the cron has no limit).
GUEST_WAIT_SECONDS = 5.0


TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,128}")
MEETING_PATH_RE = re.compile(r"/meetings/(\d{6,})")
JOIN_URL_RE = re.compile(r"(https?://[^\s\"'<>]+/j/(\d{6,})[^\s\"'<>]*)")


def scrub(text, secrets_):
    """``text`` without any of ``secrets_`` (also in their HTML-escaped form)."""
    for value in sorted(secrets_, key=len, reverse=True):
        for form in {value, str(escape(value))}:
            text = text.replace(form, "[removed]")
    return text


def format_meeting_id(meeting_id):
    """Zoom's way of showing a meeting ID: ``926 7439 2836``, ``123 456 7890``."""
    digits = "".join(ch for ch in str(meeting_id or "") if ch.isdigit())
    sizes = {9: (3, 3, 3), 10: (3, 3, 4), 11: (3, 4, 4)}.get(len(digits))
    if not sizes:
        return digits
    parts, position = [], 0
    for size in sizes:
        parts.append(digits[position : position + size])
        position += size
    return " ".join(parts)


class CalendarEvent(models.Model):
    _inherit = "calendar.event"

    booking_calendar_id = fields.Many2one(
        "booking.calendar",
        "Booking calendar",
        index="btree_not_null",
        ondelete="restrict",
        copy=False,
        readonly=True,
    )
    booking_state = fields.Selection(
        [("confirmed", "Confirmed"), ("cancelled", "Cancelled")],
        "Booking status",
        copy=False,
        readonly=True,
    )
    booking_access_token = fields.Char(
        "Booking access token",
        copy=False,
        readonly=True,
        index="btree_not_null",
        groups="base.group_system",
        help="Secret part of the guest's link to this booking.",
    )
    booking_guest_name = fields.Char("Guest name", readonly=True, copy=False)
    booking_guest_email = fields.Char("Guest email", readonly=True, copy=False)
    booking_guest_phone = fields.Char("Guest phone", readonly=True, copy=False)
    booking_guest_notes = fields.Text("Guest notes", readonly=True, copy=False)
    booking_guest_tz = fields.Char("Guest timezone", readonly=True, copy=False)
    booking_guest_partner_id = fields.Many2one(
        "res.partner", "Guest", readonly=True, copy=False, index="btree_not_null"
    )
    booking_when_guest = fields.Char(
        "When (for the guest)", compute="_compute_booking_when"
    )
    booking_when_host = fields.Char(
        "When (for the host)", compute="_compute_booking_when"
    )
    booking_url = fields.Char(
        "Guest's booking link",
        compute="_compute_booking_url",
        help="Shown to the host and booking administrators only: whoever has it "
        "can cancel or move the booking.",
    )

    _sql_constraints = [
        (
            "booking_access_token_unique",
            "unique(booking_access_token)",
            "A booking access token must be unique.",
        ),
    ]

    @api.depends("booking_access_token")
    @api.depends_context("uid")
    def _compute_booking_url(self):
        base_url = self[:1].get_base_url()
        user = self.env.user
        manager = self.env.su or user.has_group("zoom_booking.group_booking_admin")
        for event in self:
            token = event.sudo().booking_access_token
            allowed = manager or user in (
                event.user_id | event.booking_calendar_id.host_id
            )
            event.booking_url = (
                token and allowed and f"{base_url}/book/booking/{token}" or False
            )

    # ------------------------------------------------------------ public API
    @api.model
    def _get_booking_by_token(self, token):
        """The booking with this guest access token (sudo), or an empty recordset.

        Archived (cancelled) bookings are found too, so the guest can see that
        their booking was cancelled.
        """
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            return self.sudo().browse()
        return (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("booking_access_token", "=", token),
                    ("booking_calendar_id", "!=", False),
                ],
                limit=1,
            )
        )

    def _booking_public_values(self, error=None):
        """Values of the guest's booking page: times in the guest's timezone."""
        self.ensure_one()
        event = self.sudo()
        tz = event.booking_guest_tz or event.booking_calendar_id.tz or "UTC"
        when, until = event._booking_when_parts(tz, self.env.lang)
        return {
            "booking": event,
            "calendar": event.booking_calendar_id,
            "host_name": event.user_id.name,
            "when": when,
            "until": until,
            "tz": tz,
            "can_change": event._booking_can_change(),
            "error": error,
        }

    def _booking_when_parts(self, tz, lang):
        """Day and start time, and end time, as a reader of ``lang`` in ``tz``
        expects them (e.g. ``2026年12月1日火曜日 10:00`` and ``10:30``)."""
        self.ensure_one()
        try:
            locale = babel.Locale.parse(lang or "en_US")
        except (ValueError, babel.UnknownLocaleError):
            locale = babel.Locale.parse("en_US")
        zone = pytz.timezone(tz or "UTC")
        start = self.start.replace(tzinfo=pytz.utc)
        stop = self.stop.replace(tzinfo=pytz.utc)
        day = format_skeleton("yMMMMEEEEd", start, tzinfo=zone, locale=locale)
        start_time = format_skeleton("Hm", start, tzinfo=zone, locale=locale)
        end_time = format_skeleton("Hm", stop, tzinfo=zone, locale=locale)
        return f"{day} {start_time}", end_time

    @api.depends(
        "start",
        "stop",
        "booking_guest_tz",
        "booking_guest_partner_id.lang",
        "user_id.tz",
        "user_id.lang",
    )
    def _compute_booking_when(self):
        for event in self:
            if not (event.start and event.stop):
                event.booking_when_guest = event.booking_when_host = False
                continue
            calendar_tz = event.booking_calendar_id.tz or "UTC"
            guest = event._booking_when_parts(
                event.booking_guest_tz or calendar_tz,
                event.booking_guest_partner_id.lang,
            )
            host = event._booking_when_parts(
                event.user_id.tz or calendar_tz, event.user_id.lang
            )
            event.booking_when_guest = " – ".join(guest)
            event.booking_when_host = " – ".join(host)

    def _booking_can_change(self):
        """Whether the guest may still cancel or reschedule this booking."""
        self.ensure_one()
        return self.booking_state == "confirmed" and self.start > fields.Datetime.now()

    def _booking_cancel(self):
        """Cancel the booking: archive the event and tell the Zoom part."""
        for event in self.sudo():
            if event.booking_state != "confirmed":
                raise BookingError(_("This booking is already cancelled."))
            event.write({"booking_state": "cancelled", "active": False})
            event._zoom_booking_cancelled()
        return True

    def _booking_guest_cancel(self):
        """Cancel from the guest's link: only a confirmed booking not started yet."""
        self.ensure_one()
        if self.booking_state == "confirmed" and not self._booking_can_change():
            raise BookingError(
                _("This booking has already started and can't be cancelled.")
            )
        return self._booking_cancel()

    def _booking_reschedule_committed(self, start, tz_name=None):
        """Move the booking in a transaction of its own, committed, retried at
        once when another booking of the same host wins the race."""
        self.ensure_one()
        return run_in_own_transaction(
            self.env,
            lambda env: self.with_env(env)._booking_reschedule(start, tz_name).id,
        )

    def _booking_reschedule(self, start, tz_name=None):
        """Move the booking to another free slot of its calendar.

        :param start: ISO-8601 UTC start chosen by the guest
        :raise BookingError: with a message for the guest; nothing is changed then
        """
        self.ensure_one()
        event = self.sudo()
        if not event._booking_can_change():
            raise BookingError(_("This booking can no longer be rescheduled."))
        calendar = event.booking_calendar_id
        if not calendar.active:
            raise BookingError(_("This booking calendar is no longer available."))
        if tz_name:
            tz_name = calendar._check_timezone(tz_name)
        with self.env.cr.savepoint():
            calendar._lock_host()
            new_start = calendar._check_start(start, exclude_event=event)
            vals = {
                "start": new_start,
                "stop": new_start + timedelta(minutes=calendar.duration),
            }
            if tz_name:
                vals["booking_guest_tz"] = tz_name
            event.write(vals)
            event._zoom_booking_rescheduled()
        return event

    def action_booking_cancel(self):
        """Back-end button: the host (or a booking administrator) cancels."""
        self.booking_calendar_id._check_host_access()
        if any(event.booking_state != "confirmed" for event in self):
            raise UserError(_("Only confirmed bookings can be cancelled."))
        self._booking_cancel()
        return True

    # ------------------------------------------------------------ Zoom meeting
    videocall_source = fields.Selection(
        selection_add=[("zoom", "Zoom")], ondelete={"zoom": "set null"}
    )
    zoom_host_id = fields.Many2one(
        "res.users",
        "Zoom host",
        copy=False,
        readonly=True,
        index="btree_not_null",
        help="The user whose Zoom account holds this event's meeting.",
    )
    zoom_meeting_id = fields.Char(
        "Zoom meeting ID", copy=False, readonly=True, index="btree_not_null"
    )
    zoom_join_url = fields.Char("Zoom join URL", copy=False, readonly=True)
    zoom_passcode = fields.Char("Zoom passcode", copy=False, readonly=True)
    zoom_status = fields.Selection(
        [
            ("pending", "Pending"),
            ("created", "Created"),
            ("failed", "Failed"),
            ("cleared", "Cleared"),
        ],
        copy=False,
        readonly=True,
    )
    zoom_pending = fields.Selection(
        [("create", "Create"), ("update", "Update"), ("delete", "Delete")],
        "Zoom work to do",
        copy=False,
        readonly=True,
        index="btree_not_null",
    )
    zoom_last_error = fields.Char("Zoom last error", copy=False, readonly=True)
    zoom_attempts = fields.Integer(copy=False, readonly=True)
    zoom_next_attempt = fields.Datetime(copy=False, readonly=True)
    zoom_lease_until = fields.Datetime(copy=False, readonly=True)
    zoom_create_unsure = fields.Boolean(
        copy=False,
        readonly=True,
        help="A create request got no answer: Zoom may have created the meeting.",
    )
    zoom_link_mailed = fields.Boolean(copy=False, readonly=True)
    booking_confirmation_mailed = fields.Boolean(copy=False, readonly=True)
    booking_ics_sequence = fields.Integer(copy=False, readonly=True)
    zoom_meeting_id_display = fields.Char(
        "Meeting ID", compute="_compute_zoom_meeting_id_display"
    )
    zoom_call_log_ids = fields.One2many(
        "zoom.call.log", "event_id", "Zoom calls", readonly=True
    )

    @api.depends("zoom_join_url")
    def _compute_videocall_source(self):
        zoom = self.filtered(
            lambda e: e.zoom_join_url and e.videocall_location == e.zoom_join_url
        )
        zoom.videocall_source = "zoom"
        return super(CalendarEvent, self - zoom)._compute_videocall_source()

    @api.depends("zoom_meeting_id")
    def _compute_zoom_meeting_id_display(self):
        for event in self:
            event.zoom_meeting_id_display = format_meeting_id(event.zoom_meeting_id)

    # --------------------------------------------- what the booking flow calls
    def _zoom_booking_confirmed(self):
        """Plan the Zoom meeting of this new booking; it is created after commit.

        The booking is confirmed whatever Zoom does: when Zoom fails, the
        meeting stays pending and the Zoom cron retries until it exists. When
        the host has no Zoom connection at all, the booking gets the calendar's
        fallback (no online meeting, or Odoo Discuss) and its mail at once.
        """
        planned = self.browse()
        for event in self:
            calendar = event.booking_calendar_id
            if calendar.host_id.zoom_connection_state == "not_connected":
                if calendar.zoom_fallback == "discuss":
                    event._set_discuss_videocall_location()
                event._booking_send_mail("confirmed")
                continue
            event._zoom_plan_create(calendar.host_id)
            planned |= event
        planned._zoom_sync_after_commit()

    def _zoom_plan_create(self, host, **values):
        """Mark these events as waiting for a Zoom meeting of ``host``'s account,
        due now; the caller plans the sync after commit."""
        self.write(
            {
                "zoom_host_id": host.id,
                "zoom_status": "pending",
                "zoom_pending": "create",
                "zoom_attempts": 0,
                "zoom_create_unsure": False,
                "zoom_next_attempt": fields.Datetime.now(),
                **values,
            }
        )

    def _zoom_booking_cancelled(self):
        """The booking is cancelled. Nothing more to do here: the write that
        archived it planned the deletion of its Zoom meeting."""

    def _zoom_booking_rescheduled(self):
        """The booking moved. Nothing more to do here: the write that moved it
        planned the update of its Zoom meeting."""

    def _zoom_plan(self, work):
        planned = self.browse()
        for event in self.sudo():
            if work == "delete":
                if event.zoom_meeting_id or event.zoom_create_unsure:
                    event.zoom_pending = "delete"
                    planned |= event
                elif event.zoom_pending:
                    # Nothing was ever sent to Zoom.
                    event.write({"zoom_pending": False, "zoom_status": "cleared"})
            elif event.zoom_meeting_id and event.zoom_pending != "delete":
                # A pending create simply uses the new time.
                event.zoom_pending = event.zoom_pending or "update"
                planned |= event
        planned.write({"zoom_next_attempt": fields.Datetime.now()})
        planned._zoom_sync_after_commit()

    # ------------------------------------------------ back-end actions
    def action_zoom_retry(self):
        """Retry now the Zoom work of these events."""
        self._zoom_check_host_access()
        for event in self.sudo():
            if event.zoom_status == "failed" and not event.zoom_pending:
                event._zoom_plan_create(event.zoom_host_id or event.user_id)
        todo = self.sudo().filtered("zoom_pending")
        todo.write(
            {"zoom_next_attempt": fields.Datetime.now(), "zoom_lease_until": False}
        )
        todo._zoom_sync_after_commit()
        return True

    def action_zoom_add_meeting(self):
        """Add a Zoom meeting to an event created by hand, with its organizer's
        Zoom account."""
        self._zoom_check_host_access()
        for event in self.sudo():
            host = event.user_id
            if event.zoom_meeting_id or event.zoom_pending:
                continue
            if host.zoom_connection_state == "not_connected":
                raise UserError(
                    _(
                        "%s has no Zoom account connected: connect it first from "
                        "Booking > Configuration > My Zoom Connection.",
                        host.name,
                    )
                )
            # Already told by Odoo's own invitation; the link mail follows.
            event._zoom_plan_create(host, booking_confirmation_mailed=True)
            event._zoom_sync_after_commit()
        return True

    def _zoom_check_host_access(self):
        user = self.env.user
        if user.has_group("zoom_booking.group_booking_admin"):
            return
        for event in self:
            if user not in (event.user_id | event.zoom_host_id):
                raise AccessError(
                    _("Only the event's organizer can change its Zoom meeting.")
                )

    # ------------------------------------- bookings moved or cancelled
    def write(self, vals):
        if self.env.context.get("zoom_booking_sync"):
            return super().write(vals)
        watched = {"start", "stop", "duration", "start_date", "stop_date", "active"}
        before = (
            {event.id: (event.start, event.stop, event.active) for event in self}
            if watched & set(vals)
            else {}
        )
        result = super().write(vals)
        if before:
            self._booking_after_change(before)
        return result

    def _booking_after_change(self, before):
        """Move or delete the Zoom meeting and tell host and guest, whoever
        moved, archived or cancelled the event (guest link, host in Odoo)."""
        cancelled, moved = self.browse(), self.browse()
        for event in self:
            start, stop, was_active = before[event.id]
            if was_active and not event.active:
                cancelled |= event
            elif event.active and (event.start, event.stop) != (start, stop):
                moved |= event
        confirmed = cancelled.filtered(lambda e: e.booking_state == "confirmed")
        confirmed.with_context(zoom_booking_sync=True).write(
            {"booking_state": "cancelled"}
        )
        cancelled._zoom_plan("delete")
        moved._zoom_plan("update")
        cancelled.filtered("booking_calendar_id")._booking_send_mail("cancelled")
        moved.filtered("booking_calendar_id")._booking_send_mail("rescheduled")

    def unlink(self):
        bookings = self.filtered(
            lambda e: (
                e.booking_calendar_id and e.active and e.booking_state == "confirmed"
            )
        )
        bookings._booking_send_mail("cancelled")
        gone = [
            (event.zoom_host_id.id, event.zoom_meeting_id)
            for event in self.sudo()
            if event.zoom_meeting_id and event.zoom_host_id
        ]
        result = super().unlink()
        if gone:
            self.env["zoom.meeting.cleanup"]._plan(gone)
        return result

    def _skip_send_mail_status_update(self):
        # Host and guest of a booking get zoom_booking's own mails instead.
        return bool(self.booking_calendar_id) or super()._skip_send_mail_status_update()

    # -------------------------------------------------------- syncing
    def _zoom_sync_after_commit(self):
        """Do the pending Zoom work once this transaction is committed, so that
        Zoom changes only when Odoo really did."""
        ids = [event_id for event_id in self.ids if event_id]
        if not ids:
            return
        dbname = self.env.cr.dbname

        # Whoever waits on this (a guest confirming) waits for Zoom only so long;
        # what does not fit is left to the cron.
        deadline = time.monotonic() + GUEST_WAIT_SECONDS

        @self.env.cr.postcommit.add
        def sync():
            registry = Registry(dbname)
            with registry.cursor() as cr:
                env = api.Environment(
                    cr, SUPERUSER_ID, {"zoom_booking_deadline": deadline}
                )
                env["calendar.event"]._zoom_sync_events(ids)

    @api.model
    def _zoom_cron_sync(self, limit=200):
        """Cron: retry the Zoom work whose time has come."""
        now = fields.Datetime.now()
        events = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("zoom_pending", "!=", False),
                    ("zoom_next_attempt", "!=", False),
                    ("zoom_next_attempt", "<=", now),
                    "|",
                    ("zoom_lease_until", "=", False),
                    ("zoom_lease_until", "<", now),
                ],
                order="zoom_next_attempt",
                limit=limit,
            )
        )
        self._zoom_sync_events(events.ids)
        self._zoom_trigger_next_attempt()
        self.env["zoom.meeting.cleanup"]._cron_run()

    @api.model
    def _zoom_trigger_next_attempt(self):
        nxt = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [("zoom_pending", "!=", False), ("zoom_next_attempt", "!=", False)],
                order="zoom_next_attempt",
                limit=1,
            )
        )
        if nxt:
            cron = self.env.ref("zoom_booking.ir_cron_zoom_meeting_sync", False)
            if cron:
                cron.sudo()._trigger(max(nxt.zoom_next_attempt, fields.Datetime.now()))

    @api.model
    def _zoom_sync_events(self, event_ids):
        """Do the pending Zoom work of these events, each in transactions of its
        own: claim it, talk to Zoom, record the outcome."""
        registry = self.env.registry
        context = dict(self.env.context, active_test=False)
        deadline = context.get("zoom_booking_deadline")
        for event_id in event_ids:
            if deadline and deadline - time.monotonic() < 0.5:
                # Out of time: the cron does the rest.
                self._zoom_trigger_next_attempt()
                break
            try:
                with registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, context)
                    claim = env["calendar.event"]._zoom_claim(event_id)
                if not claim:
                    continue
                for attempt in range(3):
                    try:
                        with registry.cursor() as cr:
                            env = api.Environment(cr, SUPERUSER_ID, context)
                            event = env["calendar.event"].browse(event_id)
                            answered = event._zoom_do(claim)
                        break
                    except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                        # The event changed while Zoom was answering: do it again
                        # on the new state; a create that happened is adopted.
                        if attempt == 2:
                            raise
                        claim = dict(
                            claim, unsure=claim["unsure"] or claim["work"] == "create"
                        )
                if answered:
                    self._zoom_hurry_host(claim["host_id"])
            except Exception:
                # Left pending with its lease: retried when the lease ends.
                _logger.exception("Zoom work of calendar event %s failed", event_id)

    @api.model
    def _zoom_hurry_host(self, host_id):
        """Zoom answers again for this host: the host's work that waits for a
        retry is done now rather than at the end of its backoff."""
        now = fields.Datetime.now()
        try:
            with self.env.registry.cursor() as cr:
                cr.execute(
                    """UPDATE calendar_event SET zoom_next_attempt = %(now)s
                        WHERE id IN (
                            SELECT id FROM calendar_event
                             WHERE zoom_host_id = %(host)s
                               AND zoom_pending IS NOT NULL
                               AND zoom_next_attempt > %(now)s
                               AND (zoom_lease_until IS NULL
                                    OR zoom_lease_until < %(now)s)
                               FOR NO KEY UPDATE SKIP LOCKED)
                    RETURNING id""",
                    {"now": now, "host": host_id},
                    log_exceptions=False,
                )
                hurried = cr.fetchall()
                if hurried:
                    api.Environment(cr, SUPERUSER_ID, {}).ref(
                        "zoom_booking.ir_cron_zoom_meeting_sync"
                    )._trigger()
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            pass  # a worker is on it already

    @api.model
    def _zoom_claim(self, event_id):
        """Take the event's Zoom work for a while, so no other worker does it too."""
        now = fields.Datetime.now()
        try:
            self.env.cr.execute(
                """SELECT id FROM calendar_event
                    WHERE id = %s AND zoom_pending IS NOT NULL
                      AND (zoom_lease_until IS NULL OR zoom_lease_until < %s)
                      FOR NO KEY UPDATE SKIP LOCKED""",
                [event_id, now],
            )
        except psycopg2.errors.SerializationFailure:
            return None  # another worker just took it
        if not self.env.cr.fetchone():
            return None
        event = self.with_context(active_test=False).browse(event_id)
        claim = {
            "work": event.zoom_pending,
            "unsure": event.zoom_create_unsure,
            "host_id": event.zoom_host_id.id,
        }
        event.with_context(zoom_booking_sync=True).write(
            {
                "zoom_lease_until": now + ZOOM_LEASE,
                "zoom_attempts": event.zoom_attempts + 1,
                # From here until its answer is recorded, a create may have
                # happened at Zoom.
                "zoom_create_unsure": claim["unsure"] or claim["work"] == "create",
            }
        )
        return claim

    def _zoom_do(self, claim):
        """Talk to Zoom for this event's pending work, then record the outcome."""
        self.ensure_one()
        event = self.with_context(zoom_booking_sync=True)
        work = event.zoom_pending
        logs = []
        try:
            connection = event.zoom_host_id._zoom_connection()
            if not connection:
                raise ZoomNeedsReconnect(_("The host's Zoom account is not connected."))

            def call(method, *args):
                return connection._call(method, *args, call_logger=logs.append)

            values, mails = event._zoom_do_work(work, call, claim)
            zoom_failed = False
        except ZoomError as exc:
            zoom_failed = True
            values, mails = event._zoom_failure_values(work, claim, exc), []
            if work == "create" and not event.booking_confirmation_mailed:
                # The guest hears at once that the booking holds; the link follows.
                mails.append("confirmed")
        values["zoom_lease_until"] = False
        event.write(values)
        event._zoom_write_call_log(logs)
        for purpose in mails:
            event._booking_send_mail(purpose)
        if event.zoom_pending and event.zoom_next_attempt:
            event._zoom_trigger_next_attempt()
        return not zoom_failed

    def _zoom_do_work(self, work, call, claim):
        """One piece of Zoom work; returns the values to write and mails to send."""
        if work == "create":
            values = self._zoom_create(call, claim["unsure"])
            purpose = "zoom_link" if self.booking_confirmation_mailed else "confirmed"
            return values, [purpose]
        if work == "update":
            try:
                call("update_meeting", self.zoom_meeting_id, self._zoom_meeting_body())
            except ZoomNotFound:
                # Deleted at Zoom meanwhile: a new meeting replaces it.
                return self._zoom_create(call, False), ["zoom_link"]
            values = {"zoom_pending": False, "zoom_last_error": False}
            return dict(values, zoom_attempts=0, zoom_next_attempt=False), []
        meeting_id = self.zoom_meeting_id
        if not meeting_id and claim["unsure"]:
            found = self._zoom_find_meeting(call)
            meeting_id = found and str(found["id"])
        if meeting_id:
            try:
                call("delete_meeting", meeting_id)
            except ZoomNotFound:
                pass  # already gone at Zoom: nothing more to do
        return dict(self._zoom_cleared_values(), zoom_status="cleared"), []

    def _zoom_failure_values(self, work, claim, exc):
        if isinstance(exc, ZoomNeedsReconnect):
            # Waits for the host: zoom.connection._on_connected resumes it.
            return {"zoom_last_error": str(exc), "zoom_next_attempt": False}
        if isinstance(exc, ZoomUnavailable | ZoomRateLimited):
            values = {
                "zoom_last_error": exc.message,
                "zoom_next_attempt": fields.Datetime.now()
                + self._zoom_backoff(exc.retry_after),
            }
            if isinstance(exc, ZoomRateLimited):
                # Zoom answered: this request created nothing.
                values["zoom_create_unsure"] = claim["unsure"]
            return values
        # Zoom refused the request itself: retrying the same will not help.
        return {
            "zoom_last_error": exc.message,
            "zoom_pending": False,
            "zoom_status": "failed" if work != "delete" else "cleared",
            "zoom_create_unsure": False,
            "zoom_next_attempt": False,
        }

    def _zoom_create(self, call, unsure):
        """Create the meeting, or adopt the one an unanswered request created."""
        meeting = self._zoom_find_meeting(call) if unsure else None
        if not meeting:
            meeting = call("create_meeting", self._zoom_meeting_body())
        return self._zoom_created_values(meeting)

    def _zoom_find_meeting(self, call):
        """The host's upcoming meeting made for this event, if any."""
        reference = self._zoom_reference()
        for meeting in call("list_upcoming_meetings"):
            if reference in (meeting.get("agenda") or ""):
                return meeting
        return None

    def _zoom_reference(self):
        token = (self.booking_access_token or "")[:8]
        return f"Ref: ZB-{self.id}{'-' + token if token else ''}"

    def _zoom_meeting_body(self):
        """Zoom's meeting JSON for this event."""
        self.ensure_one()
        calendar = self.booking_calendar_id
        host = self.zoom_host_id or self.user_id
        minutes = round((self.stop - self.start).total_seconds() / 60)
        minutes = max(1, min(1440, minutes))
        if self.booking_guest_name and calendar:
            topic = f"{calendar.name} – {self.booking_guest_name}"
        else:
            topic = self.name or _("Meeting")
        reference = self._zoom_reference()
        notes = self.booking_guest_notes or html2plaintext(self.description or "")
        agenda = notes[: 2000 - len(reference) - 2].strip()
        body = {
            "topic": topic[:200],
            "type": 2,
            "start_time": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": minutes,
            "timezone": host.tz or "UTC",
            "agenda": f"{agenda}\n\n{reference}" if agenda else reference,
        }
        if calendar:
            body["settings"] = calendar._zoom_meeting_settings()
            if calendar.zoom_passcode_required:
                body["password"] = secrets.token_hex(4)[:8]
        return body

    def _zoom_created_values(self, meeting):
        join_url = meeting.get("join_url") or ""
        values = {
            "zoom_meeting_id": str(meeting["id"]),
            "zoom_join_url": join_url,
            "zoom_passcode": meeting.get("password") or False,
            "zoom_status": "created",
            "zoom_pending": False,
            "zoom_create_unsure": False,
            "zoom_last_error": False,
            "zoom_next_attempt": False,
            "zoom_attempts": 0,
            "videocall_location": join_url,
        }
        # Google and Microsoft sync send `location`, not videocall_location;
        # an empty location also makes Microsoft add a Teams meeting.
        if not self.location or self.location == self.zoom_join_url:
            values["location"] = join_url
        if meeting.get("start_time") and meeting["start_time"] != self.start.strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ):
            # Moved while the meeting was being made (or an adopted one): move it.
            values.update(
                zoom_pending="update", zoom_next_attempt=fields.Datetime.now()
            )
        return values

    def _zoom_cleared_values(self):
        values = {
            "zoom_meeting_id": False,
            "zoom_join_url": False,
            "zoom_passcode": False,
            "zoom_pending": False,
            "zoom_create_unsure": False,
            "zoom_next_attempt": False,
            "zoom_last_error": False,
        }
        if self.zoom_join_url:
            if self.videocall_location == self.zoom_join_url:
                values["videocall_location"] = False
            if self.location == self.zoom_join_url:
                values["location"] = False
        return values

    def _zoom_backoff(self, retry_after=None):
        if retry_after:
            return timedelta(seconds=min(retry_after, 3600))
        return timedelta(seconds=min(3600, 30 * 2 ** max(0, self.zoom_attempts - 1)))

    def _zoom_write_call_log(self, logs):
        if logs:
            self.env["zoom.call.log"].sudo().create(
                [
                    {
                        "event_id": self.id,
                        "host_id": self.zoom_host_id.id,
                        "method": log["method"],
                        "path": log["path"],
                        "status": log["status"],
                        "duration_ms": log["duration_ms"],
                        "error": log["error"],
                    }
                    for log in logs
                ]
            )

    # ---------------------------------------------------------- mails
    def _booking_send_mail(self, purpose):
        """Mail host and guest about this booking (``confirmed``, ``zoom_link``,
        ``rescheduled`` or ``cancelled``), each in their language and timezone,
        with an .ics that updates the same calendar item."""
        template = self.env.ref(f"zoom_booking.mail_template_booking_{purpose}")
        for event in self.sudo().with_context(active_test=False):
            if not event.booking_calendar_id and purpose != "zoom_link":
                continue
            recipients = event.booking_guest_partner_id | event.user_id.partner_id
            attendees = event.attendee_ids.filtered(
                lambda a, recipients=recipients: a.partner_id in recipients
            )
            if purpose in ("rescheduled", "cancelled"):
                event.with_context(zoom_booking_sync=True).booking_ics_sequence += 1
            ics = self.env["ir.attachment"].create(
                {
                    "name": "invitation.ics",
                    "mimetype": "text/calendar",
                    "raw": event._booking_ics(
                        "CANCEL" if purpose == "cancelled" else "REQUEST"
                    ),
                    "res_model": "calendar.event",
                    "res_id": event.id,
                }
            )
            for attendee in attendees:
                template.send_mail(
                    attendee.id,
                    email_layout_xmlid="mail.mail_notification_light",
                    email_values={"attachment_ids": [(4, ics.id)]},
                )
            values = {}
            if purpose == "confirmed":
                values["booking_confirmation_mailed"] = True
            if purpose in ("confirmed", "zoom_link") and event.zoom_join_url:
                values["zoom_link_mailed"] = True
            if values:
                event.with_context(zoom_booking_sync=True).write(values)

    def _booking_ics(self, method="REQUEST"):
        """This booking as an iCalendar file. Its UID stays the same and its
        SEQUENCE grows, so calendars update the item instead of adding one."""
        self.ensure_one()
        cal = vobject.iCalendar()
        cal.add("method").value = method
        vevent = cal.add("vevent")
        vevent.add("uid").value = self._booking_ics_uid()
        vevent.add("sequence").value = str(self.booking_ics_sequence)
        vevent.add("dtstamp").value = fields.Datetime.now().replace(tzinfo=pytz.utc)
        vevent.add("dtstart").value = self.start.replace(tzinfo=pytz.utc)
        vevent.add("dtend").value = self.stop.replace(tzinfo=pytz.utc)
        vevent.add("summary").value = self.name or ""
        vevent.add("status").value = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
        lines = []
        if self.zoom_join_url and method != "CANCEL":
            vevent.add("location").value = self.zoom_join_url
            vevent.add("url").value = self.zoom_join_url
            lines.append(_("Join Zoom meeting: %s", self.zoom_join_url))
            lines.append(_("Meeting ID: %s", self.zoom_meeting_id_display))
            if self.zoom_passcode:
                lines.append(_("Passcode: %s", self.zoom_passcode))
        elif self.videocall_location and method != "CANCEL":
            vevent.add("location").value = self.videocall_location
            lines.append(_("Online meeting: %s", self.videocall_location))
        if lines:
            vevent.add("description").value = "\n".join(lines)
        organizer = vevent.add("organizer")
        organizer.value = f"mailto:{self.user_id.email or ''}"
        organizer.params["CN"] = [self.user_id.name or ""]
        return cal.serialize().encode()

    def _booking_ics_uid(self):
        uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")
        return f"zoom-booking-{self.id}-{uuid[:8]}@odoo"

    # ---------------------------------------------------- Zoom's webhooks
    @api.model
    def _zoom_events_of_meeting(self, meeting):
        meeting_id = str(meeting.get("id") or "")
        if not meeting_id.isdigit():
            return self.browse()
        events = (
            self.sudo()
            .with_context(active_test=False)
            .search([("zoom_meeting_id", "=", meeting_id)])
        )
        host_id = meeting.get("host_id")
        if host_id:
            events = events.filtered(
                lambda e: (
                    e.zoom_host_id._zoom_connection().zoom_user_id in (host_id, False)
                )
            )
        return events

    @api.model
    def _zoom_webhook_meeting_deleted(self, meeting):
        """Zoom says a meeting was deleted there: forget its link, tell the host."""
        events = self._zoom_events_of_meeting(meeting).filtered(
            lambda e: e.zoom_pending != "delete"
        )
        for event in events:
            event.with_context(zoom_booking_sync=True).write(
                dict(event._zoom_cleared_values(), zoom_status="cleared")
            )
            event._zoom_tell_host(
                _(
                    "The Zoom meeting of this event was deleted in Zoom, so its "
                    "Zoom link no longer works. Click Add Zoom meeting for a new one."
                )
            )
        return _("%s event(s) lost their deleted Zoom meeting", len(events))

    @api.model
    def _zoom_webhook_meeting_updated(self, meeting, old_meeting):
        """Zoom says a meeting changed there: when its time no longer matches the
        booking, tell the host (Odoo's booking stays as the guest booked it)."""
        start_time = meeting.get("start_time")
        if not start_time:
            return _("No new time")
        try:
            new_start = datetime.strptime(start_time, "%Y-%m-%dT%H:%M:%SZ")
        except ValueError:
            return _("Unreadable time")
        events = self._zoom_events_of_meeting(meeting).filtered(
            lambda e: e.active and e.start != new_start
        )
        for event in events:
            event._zoom_tell_host(
                _(
                    "The Zoom meeting of this booking was moved in Zoom to "
                    "%(zoom_time)s (UTC), but the booking is still at %(odoo_time)s "
                    "(UTC). Move the booking in Odoo, or the meeting back in Zoom.",
                    zoom_time=new_start.strftime("%Y-%m-%d %H:%M"),
                    odoo_time=event.start.strftime("%Y-%m-%d %H:%M"),
                )
            )
        return _("%s booking(s) now disagree with Zoom", len(events))

    def _zoom_tell_host(self, message):
        for event in self:
            host = event.zoom_host_id or event.user_id
            event.message_post(
                body=message,
                partner_ids=host.partner_id.ids,
                subtype_xmlid="mail.mt_note",
            )

    # ------------------------------------------------ Zoom's data policy
    def _zoom_purge(self):
        """Remove these events' Zoom join URLs, meeting IDs and passcodes from
        everywhere Odoo keeps them; returns what was cleaned, as counts.

        Done in a few set-based statements: Zoom expects its deauthorization
        notice answered within 3 seconds, for hosts with thousands of events too.
        """
        events = self.sudo().with_context(active_test=False)
        events.flush_recordset()
        cr = self.env.cr
        cr.execute(
            """SELECT a.id, a.event_id FROM calendar_attendee a
                WHERE a.event_id = ANY(%s)""",
            [events.ids],
        )
        event_of_attendee = dict(cr.fetchall())
        cr.execute(
            """SELECT id, model, res_id FROM mail_message
                WHERE (model = 'calendar.event' AND res_id = ANY(%s))
                   OR (model = 'calendar.attendee' AND res_id = ANY(%s))""",
            [events.ids, list(event_of_attendee)],
        )
        event_of_message = {
            message_id: res_id
            if model == "calendar.event"
            else event_of_attendee[res_id]
            for message_id, model, res_id in cr.fetchall()
        }
        message_ids = list(event_of_message)
        cr.execute(
            """SELECT id, mail_message_id, old_value_char, new_value_char
                 FROM mail_tracking_value WHERE mail_message_id = ANY(%s)""",
            [message_ids],
        )
        trackings = cr.fetchall()
        cr.execute(
            "SELECT event_id, path FROM zoom_call_log WHERE event_id = ANY(%s)",
            [events.ids],
        )
        logs = cr.fetchall()
        secrets_of = events._zoom_secrets(logs, trackings, event_of_message)

        # The events themselves.
        cr.execute(
            """UPDATE calendar_event
                  SET videocall_location = CASE WHEN videocall_location = zoom_join_url
                                                THEN NULL ELSE videocall_location END,
                      location = CASE WHEN location = zoom_join_url
                                      THEN NULL ELSE location END,
                      zoom_status = CASE WHEN zoom_status IS NOT NULL
                                           OR zoom_pending IS NOT NULL
                                           OR zoom_meeting_id IS NOT NULL
                                         THEN 'cleared' END,
                      zoom_meeting_id = NULL, zoom_join_url = NULL,
                      zoom_passcode = NULL, zoom_pending = NULL,
                      zoom_create_unsure = FALSE, zoom_next_attempt = NULL,
                      zoom_last_error = NULL
                WHERE id = ANY(%s)""",
            [events.ids],
        )
        events.invalidate_recordset(flush=False)
        for event in events:
            found = secrets_of.get(event.id, ())
            changed = {
                field: scrub(event[field], found)
                for field in ("location", "videocall_location", "description")
                if event[field] and scrub(event[field], found) != event[field]
            }
            if changed:
                if "description" in changed:
                    changed["description"] = Markup(changed["description"])
                for field in ("location", "videocall_location"):
                    if field in changed:
                        changed[field] = False
                # No tracking: it would keep the removed link as the old value.
                event.with_context(tracking_disable=True, zoom_booking_sync=True).write(
                    changed
                )

        # Chatter, tracking, unsent mails, invitations, call logs.
        updates = []
        for tracking_id, message_id, old, new in trackings:
            found = secrets_of.get(event_of_message[message_id], ())
            if any(value and scrub(value, found) != value for value in (old, new)):
                updates.append(
                    (
                        tracking_id,
                        scrub(old or "", found) or None,
                        scrub(new or "", found) or None,
                    )
                )
        if updates:
            execute_values(
                cr._obj,
                """UPDATE mail_tracking_value t
                      SET old_value_char = v.old, new_value_char = v.new
                     FROM (VALUES %s) AS v(id, old, new) WHERE t.id = v.id""",
                updates,
            )
        cr.execute(
            "SELECT id, body, subject FROM mail_message WHERE id = ANY(%s)",
            [message_ids],
        )
        cleaned = []
        for message_id, body, subject in cr.fetchall():
            found = secrets_of.get(event_of_message[message_id], ())
            new_body, new_subject = (
                scrub(body or "", found),
                scrub(subject or "", found),
            )
            if (new_body, new_subject) != (body or "", subject or ""):
                cleaned.append((message_id, new_body, new_subject))
        if cleaned:
            execute_values(
                cr._obj,
                """UPDATE mail_message m SET body = v.body, subject = v.subject
                     FROM (VALUES %s) AS v(id, body, subject) WHERE m.id = v.id""",
                cleaned,
            )
        self.env["mail.message"].invalidate_model(["body", "subject"])
        self.env["mail.tracking.value"].invalidate_model(
            ["old_value_char", "new_value_char"]
        )
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search(
                [
                    ("mail_message_id", "in", message_ids),
                    ("state", "in", ("outgoing", "exception", "cancel")),
                ]
            )
        )
        cr.execute(
            """SELECT id FROM ir_attachment
                WHERE mimetype = 'text/calendar'
                  AND ((res_model = 'calendar.event' AND res_id = ANY(%s))
                       OR id IN (SELECT attachment_id FROM message_attachment_rel
                                  WHERE message_id = ANY(%s)))""",
            [events.ids, message_ids],
        )
        attachments = (
            self.env["ir.attachment"].sudo().browse([row[0] for row in cr.fetchall()])
        )
        counts = {
            "event_count": len(events),
            "call_log_count": len(logs),
            "message_count": len(cleaned),
            "mail_count": len(mails),
            "attachment_count": len(attachments),
        }
        meeting_ids = {
            value for found in secrets_of.values() for value in found if value.isdigit()
        }
        self.env["zoom.webhook.event"].sudo().search(
            [("meeting_id", "in", list(meeting_ids))]
        ).write({"meeting_id": False})
        mails.unlink()
        attachments.unlink()
        cr.execute("DELETE FROM zoom_call_log WHERE event_id = ANY(%s)", [events.ids])
        self.env["zoom.call.log"].invalidate_model()
        return counts

    def _zoom_secrets(self, logs, trackings, event_of_message):
        """Every join URL, meeting ID and passcode each event ever had, by event."""
        found = {event.id: set() for event in self}
        for event in self:
            found[event.id].update(
                filter(
                    None,
                    [
                        event.zoom_join_url,
                        event.zoom_meeting_id,
                        event.zoom_passcode,
                    ],
                )
            )
        for event_id, path in logs:
            found[event_id].update(MEETING_PATH_RE.findall(path or ""))
        # Links of earlier meetings live on in the tracking of `location`.
        for _tracking_id, message_id, old, new in trackings:
            for value in (old, new):
                for url, meeting_id in JOIN_URL_RE.findall(value or ""):
                    found[event_of_message[message_id]].update((url, meeting_id))
        for values in found.values():
            values.update(
                format_meeting_id(value) for value in list(values) if value.isdigit()
            )
            values.difference_update({value for value in values if len(value) < 4})
        return found
