"""calendar.event: bookings made by guests through a booking calendar, and
how their Zoom meetings map to them."""

import re
import secrets
from contextlib import contextmanager
from datetime import timedelta

import babel
import pytz
from babel.dates import format_skeleton
from markupsafe import escape

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, html2plaintext

from ..exceptions import BookingError
from ..tools import ics
from ..tools.guest_input import check_timezone, clean_text
from ..tools.transaction import run_in_own_transaction
from ..tools.urls import add_to_calendar_links, booking_path
from .ir_qweb import CACHE_BODIES

# What calendar.event._sync_activities copies to the event's activities.
ACTIVITY_FIELDS = {"name", "description", "start", "allday", "user_id"}
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,128}")
CANCEL_REASON_LIMIT = 1000
# An attendee's answer in Odoo, as an .ics PARTSTAT.
PARTSTAT = {
    "needsAction": "NEEDS-ACTION",
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentative": "TENTATIVE",
}


class CalendarEvent(models.Model):
    _name = "calendar.event"
    _inherit = ["calendar.event", "zoom.meeting.mixin"]

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
    booking_answer_ids = fields.One2many(
        "booking.answer",
        "event_id",
        "Answers",
        readonly=True,
        copy=False,
        help="The guest's answers to the booking calendar's questions.",
    )
    booking_is_team = fields.Boolean(
        compute="_compute_booking_is_team",
        help="The booking is of a calendar with several hosts.",
    )
    booking_cancel_reason = fields.Text(
        "Cancellation reason",
        readonly=True,
        copy=False,
        help="What the guest wrote for the host when cancelling.",
    )
    booking_guest_address = fields.Char(
        "Guest's IP address",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="base.group_system",
        help="Where the booking came from, for the abuse limits.",
    )
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
        help="Shown to the host and booking managers only: whoever has it "
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
        manager = self.env.su or user.has_group("zoom_booking.group_booking_manager")
        for event in self:
            token = event.sudo().booking_access_token
            allowed = manager or user in (
                event.user_id | event.booking_calendar_id.host_id
            )
            event.booking_url = (
                token and allowed and base_url + booking_path(token=token) or False
            )

    def _booking_path(self, action=None):
        """Path of the guest's page of this booking (or of its ``action``)."""
        self.ensure_one()
        return booking_path(token=self.sudo().booking_access_token, action=action)

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

    def _booking_public_values(self, error=None, notice=None):
        """Values of the guest's booking page: times in the guest's timezone;
        ``notice``: what just happened (``booked``, ``moved``)."""
        self.ensure_one()
        event = self.sudo()
        tz = event.booking_guest_tz or event.booking_calendar_id.tz or "UTC"
        when, until = event._booking_when_parts(tz, self.env.lang)
        calendar = event.booking_calendar_id
        return {
            "booking": event,
            "calendar": calendar,
            "host_name": event.user_id.name,
            "booking_company": (event.user_id or calendar.host_id).company_id,
            "when": when,
            "until": until,
            "tz": tz,
            "can_change": event._booking_can_change(),
            "error": error,
            "notice": notice if notice in ("booked", "moved") else None,
            "calendar_links": event._booking_calendar_links(),
            "book_again_url": calendar.is_published
            and calendar.active
            and calendar._public_path(),
        }

    def _booking_calendar_links(self):
        """Links that add this booking to the guest's Google or Outlook
        calendar, and its .ics; none once cancelled."""
        self.ensure_one()
        event = self.sudo()
        if event.booking_state != "confirmed":
            return {}
        location = event.zoom_join_url or event.videocall_location or ""
        details = location and _("Online meeting: %s", location)
        links = add_to_calendar_links(
            event.name or "", event.start, event.stop, details, location
        )
        links["ics"] = event._booking_path("invitation.ics")
        return links

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

    def _booking_lock(self):
        """Lock these bookings, their Zoom work first and then the events, in
        the order a Zoom job writes its outcome, before changing them.

        When a Zoom job wrote its outcome since this transaction began, this
        fails as a concurrency error, which Odoo retries with a fresh snapshot:
        here, before any write, and without logging it as a bad query."""
        self.env.cr.execute(
            "SELECT 1 FROM zoom_meeting_job WHERE event_id = ANY(%s)"
            " ORDER BY id FOR NO KEY UPDATE",
            [self.ids],
            log_exceptions=False,
        )
        self.env.cr.execute(
            "SELECT 1 FROM calendar_event WHERE id = ANY(%s)"
            " ORDER BY id FOR NO KEY UPDATE",
            [self.ids],
            log_exceptions=False,
        )

    def _booking_cancel(self, reason=""):
        """Cancel the booking: archive the event and tell the Zoom part."""
        self._booking_lock()
        for event in self.sudo():
            if event.booking_state != "confirmed":
                raise BookingError(_("This booking is already cancelled."))
            # The archive deletes the Zoom meeting and tells host and guest.
            event.write(
                {
                    "booking_state": "cancelled",
                    "booking_cancel_reason": reason or False,
                    "active": False,
                }
            )
        return True

    @api.depends("booking_calendar_id.assignment")
    def _compute_booking_is_team(self):
        for event in self:
            event.booking_is_team = (
                event.sudo().booking_calendar_id.assignment == "round_robin"
            )

    def action_booking_reassign(self):
        """Back-end button: a booking manager gives the booking to another host."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Give to another host"),
            "res_model": "booking.reassign.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_event_id": self.id},
        }

    def _booking_reassign(self, new_host):
        """Give this round-robin booking to ``new_host``, another host of its
        calendar free at its time: the event moves to their calendar, and its
        Zoom meeting to their own Zoom account (made there after commit, the
        old one deleted from the old host's), the guest getting the new link.

        :raise AccessError: unless a booking manager asks
        :raise UserError: with the reason it can't be done now
        """
        self.ensure_one()
        if not self.env.su and not self.env.user.has_group(
            "zoom_booking.group_booking_manager"
        ):
            raise AccessError(
                _("Only a booking manager can give a booking to another host.")
            )
        event = self.sudo()
        calendar = event.booking_calendar_id
        old_host = event.user_id
        if calendar.assignment != "round_robin":
            raise UserError(_("Only a round-robin booking goes to another host."))
        if event.booking_state != "confirmed" or not event._booking_can_change():
            raise UserError(_("Only a confirmed booking still to come can move."))
        if new_host not in calendar._team_hosts() or new_host == old_host:
            raise UserError(_("Choose another host of this booking calendar."))
        if event.zoom_job_ids:
            raise UserError(
                _("Zoom is still busy with this booking: try again in a minute.")
            )
        calendar._lock_host()
        free = calendar._free_hosts_at(
            event.start, exclude_event=event, hosts=calendar._team_hosts()
        )
        if new_host not in free:
            raise UserError(_("%s is not free at this time.", new_host.name))
        meeting = (event.zoom_host_id, event.zoom_meeting_id, event.zoom_reference)
        sync = event.with_context(zoom_booking_sync=True)
        sync.write(
            {
                "user_id": new_host.id,
                "partner_ids": [
                    fields.Command.unlink(old_host.partner_id.id),
                    fields.Command.link(new_host.partner_id.id),
                ],
            }
        )
        if meeting[1]:
            # The old meeting lives in the old host's Zoom: deleted there.
            job = (
                self.env["zoom.meeting.job"]
                .sudo()
                .create(
                    {
                        "host_id": meeting[0].id,
                        "work": "delete",
                        "meeting_id": meeting[1],
                        "reference": meeting[2],
                        "next_attempt": fields.Datetime.now(),
                    }
                )
            )
            job._run_after_commit()
            sync.write(dict(event._zoom_cleared_values(), zoom_link_mailed=False))
        # The new host's online meeting; guest and new host are mailed.
        calendar._give_online_meeting(event, calendar.online_meeting_provider)
        return True

    def _booking_guest_cancel(self, reason=None):
        """Cancel from the guest's link: only a confirmed booking not started
        yet; ``reason``, optional, is for the host."""
        self.ensure_one()
        reason = clean_text(
            self.env, reason, _("Reason"), CANCEL_REASON_LIMIT, one_line=False
        )
        if self.booking_state == "confirmed" and not self._booking_can_change():
            raise BookingError(
                _("This booking has already started and can't be cancelled.")
            )
        return self._booking_cancel(reason)

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
            tz_name = check_timezone(self.env, tz_name)
        event._booking_lock()
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
        return event

    def action_booking_cancel(self):
        """Back-end button: the host (or a booking manager) cancels."""
        self._booking_check_host_access()
        # As superuser: a private booking's fields read as empty to others.
        bookings = self.sudo()
        if any(event.booking_state != "confirmed" for event in bookings):
            raise UserError(_("Only confirmed bookings can be cancelled."))
        bookings._booking_cancel()
        return True

    # ------------------------------------------------------------ Zoom meeting
    videocall_source = fields.Selection(
        selection_add=[("zoom", "Zoom")], ondelete={"zoom": "set null"}
    )
    booking_confirmation_mailed = fields.Boolean(copy=False, readonly=True)
    booking_ics_sequence = fields.Integer(copy=False, readonly=True)

    @api.depends("zoom_join_url")
    def _compute_videocall_source(self):
        zoom = self.filtered(
            lambda e: e.zoom_join_url and e.videocall_location == e.zoom_join_url
        )
        zoom.videocall_source = "zoom"
        return super(CalendarEvent, self - zoom)._compute_videocall_source()

    # ------------------------------------- bookings moved or cancelled
    def _zoom_watched_fields(self):
        return super()._zoom_watched_fields() + [
            "start",
            "stop",
            "duration",
            "start_date",
            "stop_date",
        ]

    def _zoom_meeting_times(self):
        return (self.start, self.stop)

    def _zoom_engine_fields(self):
        return super()._zoom_engine_fields() + [
            "booking_calendar_id",
            "booking_state",
            "booking_access_token",
            "booking_guest_name",
            "booking_guest_email",
            "booking_guest_phone",
            "booking_guest_notes",
            "booking_guest_tz",
            "booking_cancel_reason",
            "booking_answer_ids",
            "booking_guest_address",
            "booking_guest_partner_id",
            "booking_confirmation_mailed",
            "booking_ics_sequence",
        ]

    def write(self, vals):
        if set(vals) & (set(self._zoom_watched_fields()) | {"user_id"}):
            self._booking_check_host_access()
        if self._booking_managed_as_manager():
            # Odoo's private-event rule would stop a manager who is no attendee.
            self._zoom_check_engine_fields([vals])
            return super(CalendarEvent, self.sudo()).write(vals)
        return super().write(vals)

    def _booking_managed_as_manager(self):
        """A booking manager acting on bookings (all of them), as superuser."""
        return bool(
            not self.env.su
            and self
            and all(event.sudo().booking_calendar_id for event in self)
            and self.env.user.has_group("zoom_booking.group_booking_manager")
        )

    def _check_private_event_conditions(self):
        # A booking manager manages every booking, private ones included.
        if self.booking_calendar_id and self.env.user.has_group(
            "zoom_booking.group_booking_manager"
        ):
            return False
        return super()._check_private_event_conditions()

    def _booking_check_host_access(self):
        """Only a booking's host (or a booking manager) moves, cancels,
        archives, hands over or deletes it, whatever the path."""
        if self.env.su or self.env.user.has_group("zoom_booking.group_booking_manager"):
            return
        user = self.env.user
        for event in self.sudo().filtered("booking_calendar_id"):
            if user not in (event.user_id | event.booking_calendar_id.host_id):
                raise AccessError(
                    _("Only the host can move, cancel or delete this booking.")
                )

    def _zoom_after_change(self, before):
        """Tell host and guest, whoever moved, archived or cancelled the booking
        (guest link, host in Odoo)."""
        cancelled, moved = super()._zoom_after_change(before)
        confirmed = cancelled.sudo().filtered(lambda e: e.booking_state == "confirmed")
        confirmed.with_context(zoom_booking_sync=True).write(
            {"booking_state": "cancelled"}
        )
        cancelled.filtered("booking_calendar_id")._booking_send_mail("cancelled")
        moved.filtered("booking_calendar_id")._booking_send_mail("rescheduled")
        return cancelled, moved

    def unlink(self):
        self._booking_check_host_access()
        if self._booking_managed_as_manager():
            return self.sudo().unlink()
        bookings = self.filtered(
            lambda e: (
                e.booking_calendar_id and e.active and e.booking_state == "confirmed"
            )
        )
        bookings._booking_send_mail("cancelled")
        return super().unlink()

    def _sync_activities(self, fields):
        # Only these fields change an event's activities: the writes of
        # zoom_booking's own fields (a few per booking) need not read them.
        if not ACTIVITY_FIELDS.intersection(fields):
            return
        super()._sync_activities(fields)

    def _zoom_prefetch_people(self):
        """Read at once the people that a Zoom job's meeting and mails read one
        by one otherwise: hosts, guest, the sender and the company (three
        queries instead of seven, in a transaction that starts cold)."""
        users = self.user_id | self.zoom_host_id | self.env.user
        users.mapped("partner_id")
        partners = (
            users.partner_id
            | self.booking_guest_partner_id
            | self.env.company.partner_id
        )
        partners.mapped("lang")

    def _skip_send_mail_status_update(self):
        # Host and guest of a booking get zoom_booking's own mails instead.
        return bool(self.booking_calendar_id) or super()._skip_send_mail_status_update()

    # ------------------------------------------- mapping to Zoom's meeting
    def _zoom_wants_passcode(self):
        return bool(self.booking_calendar_id.zoom_passcode_required)

    def _zoom_meeting_start(self):
        return self.start.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _zoom_meeting_body(self, passcode=None):
        """Zoom's meeting JSON for this event; ``passcode`` for a new meeting
        (an update never sends one: a new passcode would change the join URL
        that host and guest already have)."""
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
        if calendar.questions_in_zoom_agenda and self.booking_answer_ids:
            answers = "\n".join(
                f"{answer.question}: {answer.value or ''}"
                for answer in self.booking_answer_ids
            )
            notes = f"{notes}\n\n{answers}" if notes else answers
        agenda = notes[: 2000 - len(reference) - 2].strip()
        body = {
            "topic": topic[:200],
            "type": 2,
            "start_time": self._zoom_meeting_start(),
            "duration": minutes,
            "timezone": host.tz or "UTC",
            "agenda": f"{agenda}\n\n{reference}" if agenda else reference,
        }
        if calendar:
            body["settings"] = calendar._zoom_meeting_settings()
            alternative_hosts = self._zoom_alternative_hosts(host)
            if alternative_hosts:
                body["settings"]["alternative_hosts"] = ";".join(alternative_hosts)
        if passcode:
            body["password"] = passcode
        return body

    def _zoom_alternative_hosts(self, host):
        """The Zoom emails of a collective booking's other hosts who can start
        its meeting: those connected with a Zoom user of ``host``'s own Zoom
        account, the only ones Zoom accepts. The others join by the link, as
        the guest does."""
        self.ensure_one()
        calendar = self.booking_calendar_id
        if calendar.assignment != "collective":
            return []
        account = host._zoom_connection().zoom_account_id
        emails = []
        for other in calendar._team_hosts() - host:
            if other.partner_id not in self.partner_ids:
                continue
            connection = other._zoom_connection()
            if (
                account
                and connection.state == "connected"
                and connection.zoom_account_id == account
                and connection.zoom_email
            ):
                emails.append(connection.zoom_email)
        return emails

    def _zoom_values_from_meeting(self, meeting):
        """The event's values from Zoom's answer about its meeting."""
        join_url = meeting.get("join_url") or ""
        values = {
            "zoom_meeting_id": str(meeting["id"]),
            "zoom_join_url": join_url,
            "zoom_passcode": meeting.get("password") or False,
            "videocall_location": join_url,
        }
        # Google and Microsoft sync send `location`, not videocall_location;
        # an empty location also makes Microsoft add a Teams meeting.
        if not self.location or self.location == self.zoom_join_url:
            values["location"] = join_url
        return values

    def _zoom_cleared_values(self):
        """The event's values once its meeting is gone."""
        values = {
            "zoom_meeting_id": False,
            "zoom_join_url": False,
            "zoom_passcode": False,
            "zoom_last_error": False,
        }
        if self.zoom_join_url:
            if self.videocall_location == self.zoom_join_url:
                values["videocall_location"] = False
            if self.location == self.zoom_join_url:
                values["location"] = False
        return values

    # ---------------------------------------------------------- mails
    def _booking_send_mail(self, purpose):
        """Mail host and guest about this booking (``confirmed``, ``zoom_link``,
        ``rescheduled`` or ``cancelled``), each in their language and timezone,
        with an .ics that updates the same calendar item."""
        if not self:
            return  # and no mail queue to wake (write() calls this on any event)
        template = self.env.ref(f"zoom_booking.mail_template_booking_{purpose}")
        method = "CANCEL" if purpose == "cancelled" else "REQUEST"
        for event in self.sudo().with_context(active_test=False):
            if not event.booking_calendar_id and purpose != "zoom_link":
                continue
            if purpose in ("rescheduled", "cancelled"):
                event._zoom_bookkeeping().booking_ics_sequence += 1
            ics_of_lang = {}
            for attendee, lang in event._booking_mail_readers():
                if lang not in ics_of_lang:
                    ics_of_lang[lang] = event._booking_ics_attachment(method, lang)
                event._booking_post_mail(template, attendee, ics_of_lang[lang])
            event._booking_mailed(purpose)
        self._booking_wake_mail_queue()

    def _booking_mail_readers(self):
        """``(attendee, language)`` of each host and guest of the booking."""
        self.ensure_one()
        recipients = self.booking_guest_partner_id | self._booking_hosts().partner_id
        attendees = self.attendee_ids
        # One read for all of them (record by record, each is read alone).
        attendees.fetch(["partner_id", "common_name", "state"])
        return [
            (attendee, attendee.partner_id.lang or self.env.lang)
            for attendee in attendees
            if attendee.partner_id in recipients
        ]

    def _booking_ics_attachment(self, method, lang):
        """The booking's .ics (``REQUEST`` or ``CANCEL``), its texts in ``lang``."""
        self.ensure_one()
        return self.env["ir.attachment"].create(
            {
                "name": "invitation.ics",
                "mimetype": "text/calendar",
                "raw": self.with_context(
                    booking_ics_method=method, lang=lang
                )._get_ics_file()[self.id],
                "res_model": "calendar.event",
                "res_id": self.id,
            }
        )

    def _booking_mailed(self, purpose):
        """Note that the booking's ``purpose`` mails went out."""
        self.ensure_one()
        values = {}
        if purpose == "confirmed":
            values["booking_confirmation_mailed"] = True
        if purpose in ("confirmed", "zoom_link") and self.zoom_join_url:
            values["zoom_link_mailed"] = True
        if values:
            self._zoom_bookkeeping().write(values)

    def _booking_hosts(self):
        """The booking's hosts: its organizer, and on a collective calendar
        every host of the team who attends."""
        self.ensure_one()
        calendar = self.booking_calendar_id
        hosts = self.user_id
        if calendar.assignment == "collective":
            hosts |= calendar._team_hosts().filtered(
                lambda h: h.partner_id in self.partner_ids
            )
        return hosts

    def _booking_post_mail(self, template, attendee, invitation):
        """Mail ``template`` to one attendee, through the event's chatter: the
        host sees there what each reader was sent (an internal note, so only
        colleagues see it; a note's only recipients are the ones named).
        Returns the message."""
        self.ensure_one()
        template = template.with_context(**{CACHE_BODIES: True})
        rendered = {
            field: template._render_field(field, attendee.ids, compute_lang=True)[
                attendee.id
            ]
            for field in ("subject", "body_html", "email_from")
        }
        lang = attendee.partner_id.lang or self.env.lang
        return self.with_context(lang=lang).message_post(
            body=rendered["body_html"],
            subject=rendered["subject"],
            email_from=rendered["email_from"] or None,
            author_id=self.user_id.partner_id.id or self.env.user.partner_id.id,
            partner_ids=attendee.partner_id.ids,
            subtype_xmlid="mail.mt_note",
            message_type="comment",
            attachment_ids=invitation.ids if invitation else [],
            email_layout_xmlid="zoom_booking.mail_notification_booking",
            # The layout names no model: it need not be read.
            model_description=self._description,
            # The host is the author of the guest's mail and reads their own.
            notify_author=True,
            # The mail queue's cron sends it (see _booking_wake_mail_queue):
            # the guest's request doesn't wait for the SMTP server.
            force_send=False,
        )

    # ------------------------------------- mails written while Zoom answers
    def _booking_mail_draft(self, purpose, passcode):
        """Post this booking's ``purpose`` mails (``confirmed`` or
        ``zoom_link``) while Zoom makes its meeting, as they will read once it
        has: stand-ins take the place of the meeting's join URL, ID and
        passcode until :meth:`_booking_mail_draft_send` puts Zoom's answer in,
        in the same transaction. Until then nothing leaves: the mails are
        queued with the transaction, inbox and push notifications are held.

        What a guest waits for is then Zoom's answer, not Zoom's answer and
        then the mails. Returns the draft, or None when there is none to make.

        :param passcode: whether the meeting is asked for with a passcode
        """
        self.ensure_one()
        event = self.sudo().with_context(active_test=False)
        if not event.booking_calendar_id and purpose != "zoom_link":
            return None
        tag = secrets.token_hex(12)
        join_url = f"https://zoom.invalid/j/ZB{tag}U"
        # What the event will read once Zoom's answer is written, as
        # _zoom_values_from_meeting makes it.
        stand_ins = event._zoom_values_from_meeting(
            {
                "id": f"ZB{tag}I",
                "join_url": join_url,
                "password": f"ZB{tag}P" if passcode else "",
            }
        )
        stand_ins.update(zoom_meeting_id_display=f"ZB{tag}D", zoom_status="created")
        shown = [event._fields[name] for name in stand_ins]
        if self.env.cache.has_dirty_fields(event, shown):
            return None  # changed in this transaction: shown as they are
        template = self.env.ref(f"zoom_booking.mail_template_booking_{purpose}")
        posted = []
        with event._zoom_values_shown(stand_ins):
            holding = event.with_context(zoom_booking_hold_notifications=True)
            for attendee, lang in event._booking_mail_readers():
                message = holding._booking_post_mail(template, attendee, None)
                posted.append((message, lang))
        draft = {
            "purpose": purpose,
            "tag": f"ZB{tag}",
            "stand_ins": stand_ins,
            "posted": posted,
            "messages": self.env["mail.message"].union(*(m for m, _lang in posted)),
        }
        if not all(join_url in message.body for message, _lang in posted):
            # The template didn't show the stand-ins (edited, or the cache
            # was cleared meanwhile): the mails are written once Zoom answered.
            event._booking_mail_draft_discard(draft)
            return None
        return draft

    @contextmanager
    def _zoom_values_shown(self, values):
        """Within it, this event reads ``values`` (cache only, never written);
        it reads its own again after."""
        self.ensure_one()
        cache = self.env.cache
        fields_ = [self._fields[name] for name in values]
        self.fetch([field.name for field in fields_ if field.store])
        saved = {
            field: cache.get(self, field)
            for field in fields_
            if cache.contains(self, field)
        }
        for field in fields_:
            cache.set(self, field, field.convert_to_cache(values[field.name], self))
        try:
            yield
        finally:
            for field in fields_:
                if field in saved:
                    cache.set(self, field, saved[field])
                else:
                    cache.remove(self, field)
            # Computed from the stand-ins meanwhile: computed again.
            self.invalidate_recordset(
                [
                    field.name
                    for field in self._fields.values()
                    if field.compute
                    and not field.store
                    and field.name not in values
                    and any(
                        path.split(".")[0] in values
                        for path in self.pool.field_depends.get(field, ())
                    )
                ],
                flush=False,
            )

    def _booking_mail_draft_send(self, draft):
        """Put the meeting's values, written on the event, in a draft of
        :meth:`_booking_mail_draft`, and let its mails go. Returns False (the
        draft is discarded) when the draft can't take them: no meeting, or a
        passcode where none was shown or the other way round."""
        if not draft:
            return False
        self.ensure_one()
        event = self.sudo().with_context(active_test=False)
        stand_ins = draft["stand_ins"]
        if not event.zoom_join_url or bool(event.zoom_passcode) != bool(
            stand_ins["zoom_passcode"]
        ):
            event._booking_mail_draft_discard(draft)
            return False
        real = {
            stand_ins[name]: event[name] or ""
            for name in ("zoom_join_url", "zoom_meeting_id", "zoom_meeting_id_display")
        }
        if stand_ins["zoom_passcode"]:
            real[stand_ins["zoom_passcode"]] = event.zoom_passcode
        messages = draft["messages"]
        if not event._booking_mail_draft_fill(messages, real, draft["tag"]):
            event._booking_mail_draft_discard(draft)
            return False
        invitations = {}
        links = []
        for message, lang in draft["posted"]:
            if lang not in invitations:
                invitations[lang] = event._booking_ics_attachment("REQUEST", lang)
            links.append((message.id, invitations[lang].id))
        # The messages are this transaction's own, with no attachment yet:
        # one query for all, not a read and a write per message.
        self.env.cr.execute(
            SQL(
                "INSERT INTO message_attachment_rel (message_id, attachment_id) "
                "VALUES %s",
                SQL(", ").join(SQL("(%s, %s)", *link) for link in links),
            )
        )
        messages.invalidate_recordset(["attachment_ids"])
        for (
            notify,
            message,
            recipients_data,
            msg_vals,
            kwargs,
        ) in self._booking_take_held_notifications(messages):
            if msg_vals and "body" in msg_vals:
                msg_vals = dict(msg_vals, body=message.body)
            notify(message, recipients_data, msg_vals=msg_vals, **kwargs)
        event._booking_mailed(draft["purpose"])
        event._booking_wake_mail_queue()
        return True

    def _booking_mail_draft_fill(self, messages, real, tag):
        """The real values in ``messages`` and their outgoing mails, in place
        of the stand-ins (which all hold ``tag``); whether none is left. One
        query for both, the mails unknown to the ORM here."""
        self.env["mail.message"].flush_model(["body", "subject"])
        self.env["mail.mail"].flush_model(["body_html"])

        def filled(column, html):
            for stand_in, value in real.items():
                value = str(escape(value)) if html else value
                column = SQL("replace(%s, %s, %s)", column, stand_in, value)
            return column

        self.env.cr.execute(
            SQL(
                """WITH message AS (
                           UPDATE mail_message
                              SET body = %(body)s, subject = %(subject)s
                            WHERE id IN %(ids)s
                        RETURNING id, body, subject,
                                  strpos(body || COALESCE(subject, ''), %(tag)s) > 0
                                  AS left_over),
                        mail AS (
                           UPDATE mail_mail SET body_html = %(body_html)s
                            WHERE mail_message_id IN %(ids)s
                        RETURNING strpos(body_html, %(tag)s) > 0 AS left_over)
                 SELECT id, body, subject, left_over FROM message
                  UNION ALL SELECT NULL, NULL, NULL, left_over FROM mail""",
                body=filled(SQL.identifier("body"), True),
                subject=filled(SQL.identifier("subject"), False),
                body_html=filled(SQL.identifier("body_html"), True),
                ids=tuple(messages.ids),
                tag=tag,
            )
        )
        rows = self.env.cr.fetchall()
        self.env["mail.mail"].invalidate_model(["body_html"])
        # What the messages hold now, known without reading them again.
        cache = self.env.cache
        for message_id, body, subject, _left_over in rows:
            if message_id:
                message = messages.browse(message_id)
                for name, value in (("body", body), ("subject", subject)):
                    field = message._fields[name]
                    value = field.convert_to_cache(value, message, validate=False)
                    cache.set(message, field, value)
        return not any(row[3] for row in rows)

    def _booking_mail_draft_discard(self, draft):
        """Drop a draft of :meth:`_booking_mail_draft`: its messages, their
        mails and held notifications."""
        if not draft:
            return
        self._booking_take_held_notifications(draft["messages"])
        draft["messages"].sudo().unlink()

    def _notify_thread_by_inbox(
        self, message, recipients_data, msg_vals=False, **kwargs
    ):
        return self._booking_notify_unless_held(
            super()._notify_thread_by_inbox, message, recipients_data, msg_vals, kwargs
        )

    def _notify_thread_by_web_push(
        self, message, recipients_data, msg_vals=False, **kwargs
    ):
        return self._booking_notify_unless_held(
            super()._notify_thread_by_web_push,
            message,
            recipients_data,
            msg_vals,
            kwargs,
        )

    def _booking_take_held_notifications(self, messages):
        """The notifications held for ``messages``, no longer held."""
        held = self.env.cr.precommit.data.get("zoom_booking.held_notifications", [])
        taken = [entry for entry in held if entry[1] in messages]
        held[:] = [entry for entry in held if entry[1] not in messages]
        return taken

    def _booking_notify_unless_held(
        self, notify, message, recipients_data, msg_vals, kwargs
    ):
        if not self.env.context.get("zoom_booking_hold_notifications"):
            return notify(message, recipients_data, msg_vals=msg_vals, **kwargs)
        # A mail drafted while Zoom answers tells no one before it is complete
        # (_booking_mail_draft_send).
        held = self.env.cr.precommit.data.setdefault(
            "zoom_booking.held_notifications", []
        )
        held.append((notify, message, recipients_data, msg_vals, kwargs))
        return None

    def _booking_wake_mail_queue(self):
        """Booking mails leave now, not at the mail queue's next hourly run:
        the cron workers are woken once this transaction commits (once per
        transaction), so the guest's request doesn't wait for the SMTP server."""
        data = self.env.cr.precommit.data
        if not data.get("zoom_booking.mail_queue_woken"):
            data["zoom_booking.mail_queue_woken"] = True
            self.env.ref("mail.ir_cron_mail_scheduler_action").sudo()._trigger()

    def _get_ics_file(self):
        """The calendar module's .ics of these events; bookings get theirs
        from :meth:`_booking_ics` (``booking_ics_method`` in the context:
        ``REQUEST`` or ``CANCEL``), so Odoo's own invitations carry the same."""
        bookings = self.filtered("booking_calendar_id")
        result = super(CalendarEvent, self - bookings)._get_ics_file()
        method = self.env.context.get("booking_ics_method") or "REQUEST"
        for event in bookings:
            result[event.id] = event._booking_ics(method)
        return result

    def _booking_ics(self, method="REQUEST"):
        """This booking as an iCalendar object, as RFC 5546 asks of an
        invitation (METHOD, ORGANIZER, ATTENDEE): its UID stays the same and
        its SEQUENCE grows, so calendars update the item instead of adding one."""
        self.ensure_one()
        values = {
            "uid": self._booking_ics_uid(),
            "sequence": self.booking_ics_sequence,
            "dtstamp": fields.Datetime.now(),
            "start": self.start,
            "stop": self.stop,
            "summary": self.name or "",
            "status": "CANCELLED" if method == "CANCEL" else "CONFIRMED",
        }
        lines = []
        if self.zoom_join_url and method != "CANCEL":
            values["location"] = values["url"] = self.zoom_join_url
            lines.append(_("Join Zoom meeting: %s", self.zoom_join_url))
            lines.append(_("Meeting ID: %s", self.zoom_meeting_id_display))
            if self.zoom_passcode:
                lines.append(_("Passcode: %s", self.zoom_passcode))
        elif self.videocall_location and method != "CANCEL":
            values["location"] = self.videocall_location
            lines.append(_("Online meeting: %s", self.videocall_location))
        values["description"] = "\n".join(lines)
        return ics.invitation(
            method,
            values,
            (self.user_id.email, self.user_id.name),
            [
                (
                    attendee.email,
                    attendee.common_name,
                    "REQ-PARTICIPANT",
                    PARTSTAT.get(attendee.state, "NEEDS-ACTION"),
                )
                for attendee in self.attendee_ids
            ],
        )

    def _booking_ics_uid(self):
        uuid = self.env["ir.config_parameter"].sudo().get_param("database.uuid", "")
        return f"zoom-booking-{self.id}-{uuid[:8]}@odoo"
