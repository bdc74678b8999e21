"""zoom.meeting.mixin: a record that has a Zoom meeting, kept in step with it
through zoom.meeting.job, and its reactions to Zoom's webhooks."""

import secrets
from datetime import datetime

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools.text import format_meeting_id


class ZoomMeetingMixin(models.AbstractModel):
    """The Zoom meeting of a record, as ``google.calendar.sync`` is its Google
    event. The inheriting model supplies the mapping:

    * ``_zoom_meeting_body()``: Zoom's meeting JSON from the record;
    * ``_zoom_values_from_meeting(meeting)``: the record's values from Zoom's
      answer; ``_zoom_cleared_values()``: its values once the meeting is gone;
    * ``_zoom_meeting_times()``: what, when changed, moves the meeting;
    * ``_zoom_meeting_start()``: the meeting's start as Zoom writes it;
    """

    _name = "zoom.meeting.mixin"
    _description = "Record with a Zoom meeting"

    zoom_host_id = fields.Many2one(
        "res.users",
        "Zoom host",
        copy=False,
        readonly=True,
        index="btree_not_null",
        help="The user whose Zoom account holds this meeting.",
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
    zoom_last_error = fields.Char("Zoom last error", copy=False, readonly=True)
    zoom_reference = fields.Char(
        "Zoom reference",
        copy=False,
        readonly=True,
        index="btree_not_null",
        groups="base.group_system",
        help="Random, unguessable line of the meeting's agenda by which Odoo "
        "recognises its meeting at Zoom after an unanswered request.",
    )
    zoom_link_mailed = fields.Boolean(copy=False, readonly=True)
    zoom_meeting_id_display = fields.Char(
        "Meeting ID", compute="_compute_zoom_meeting_id_display"
    )
    zoom_job_ids = fields.One2many(
        "zoom.meeting.job",
        "event_id",
        "Zoom work",
        readonly=True,
        groups="base.group_system",
    )
    zoom_call_log_ids = fields.One2many(
        "zoom.call.log", "event_id", "Zoom calls", readonly=True
    )
    # What zoom.meeting.job holds for this record, shown on its Zoom tab.
    zoom_pending = fields.Selection(
        [("create", "Create"), ("update", "Update"), ("delete", "Delete")],
        "Zoom work to do",
        compute="_compute_zoom_job",
        search="_search_zoom_pending",
    )
    zoom_next_attempt = fields.Datetime(compute="_compute_zoom_job")
    zoom_attempts = fields.Integer(compute="_compute_zoom_job")
    zoom_create_unsure = fields.Boolean(
        compute="_compute_zoom_job",
        help="A create request got no answer: Zoom may have created the meeting.",
    )

    @api.depends("zoom_meeting_id")
    def _compute_zoom_meeting_id_display(self):
        for record in self:
            record.zoom_meeting_id_display = format_meeting_id(record.zoom_meeting_id)

    @api.depends("zoom_job_ids.work", "zoom_job_ids.next_attempt")
    def _compute_zoom_job(self):
        for record in self:
            job = record.sudo().zoom_job_ids[:1]
            record.zoom_pending = job.work
            record.zoom_next_attempt = job.next_attempt
            record.zoom_attempts = job.attempts
            record.zoom_create_unsure = job.create_unsure

    def _search_zoom_pending(self, operator, value):
        if operator in ("=", "!=") and value is False:
            return [("zoom_job_ids", "!=" if operator == "!=" else "=", False)]
        return [("zoom_job_ids.work", operator, value)]

    def _zoom_reference(self):
        """The agenda line that marks this record's meeting at Zoom: random,
        made once, holding nothing of the booking (no id, no access token), so
        neither a guest's notes nor another record's meeting can match it."""
        self.ensure_one()
        record = self.sudo()
        if not record.zoom_reference:
            record.with_context(
                zoom_booking_sync=True
            ).zoom_reference = f"Ref: ZB-{secrets.token_hex(12)}"
        return record.zoom_reference

    # ------------------------------------------------------------ planning
    def _zoom_job(self, work, host=None):
        """This record's job; made for ``work`` (with ``host``) when missing."""
        self.ensure_one()
        job = self.sudo().zoom_job_ids[:1]
        if not job:
            job = (
                self.env["zoom.meeting.job"]
                .sudo()
                .create(
                    {
                        "event_id": self.id,
                        "host_id": (host or self.zoom_host_id).id,
                        "work": work,
                    }
                )
            )
        return job

    def _zoom_bookkeeping(self):
        # Writes of bookkeeping fields: not tracked, and no Zoom change
        # follows them.
        return self.with_context(zoom_booking_sync=True, mail_notrack=True)

    def _zoom_plan_create(self, host, **values):
        """Give these records a Zoom meeting of ``host``'s account, made after
        commit; ``values`` are written on them too."""
        # A new reference for each new meeting (never an older meeting's),
        # committed before any request carries it, so that a retry after a
        # lost answer looks for the same one.
        sync = self.sudo()._zoom_bookkeeping()
        for record in sync:
            record.write(
                dict(
                    values,
                    zoom_host_id=host.id,
                    zoom_status="pending",
                    zoom_reference=f"Ref: ZB-{secrets.token_hex(12)}",
                )
            )
        Job = self.env["zoom.meeting.job"].sudo()
        job_values = {
            "host_id": host.id,
            "work": "create",
            "attempts": 0,
            "create_unsure": False,
            "last_error": False,
            "lease_until": False,
            "next_attempt": fields.Datetime.now(),
        }
        old = self.sudo().zoom_job_ids
        old.write(job_values)
        # No one else sees a new job before this transaction's commit: it is
        # made claimed, for this request to do right after.
        new = Job.create(
            [
                dict(job_values, **Job._claimed_values(), event_id=record.id)
                for record in self
                if not record.sudo().zoom_job_ids
            ]
        )
        old._run_after_commit()
        new._run_after_commit(claimed=True)

    def _zoom_plan(self, work):
        """Move (``update``) or delete (``delete``) these records' meetings after
        commit."""
        jobs = self.env["zoom.meeting.job"].sudo()
        for record in self.sudo():
            job = record.zoom_job_ids[:1]
            if work == "delete":
                if record.zoom_meeting_id or job.create_unsure:
                    job = record._zoom_job("delete")
                    job.work = "delete"
                    jobs |= job
                elif job:
                    # Nothing was ever sent to Zoom.
                    job.unlink()
                    record.with_context(zoom_booking_sync=True).zoom_status = "cleared"
            elif record.zoom_meeting_id and job.work != "delete":
                # A pending create simply uses the new time.
                jobs |= record._zoom_job("update")
        jobs.write({"next_attempt": fields.Datetime.now()})
        jobs._run_after_commit()

    # ------------------------------------------------ changes in Odoo
    def _zoom_meeting_times(self):
        """What the meeting follows: a change of it moves the meeting."""
        raise NotImplementedError

    @api.model
    def _zoom_engine_fields(self):
        """Fields only the module's own paths (as superuser) may write: through
        them Odoo acts on a Zoom account, so no RPC, import or button may."""
        return [
            "zoom_host_id",
            "zoom_meeting_id",
            "zoom_join_url",
            "zoom_passcode",
            "zoom_status",
            "zoom_last_error",
            "zoom_reference",
            "zoom_link_mailed",
        ]

    def _zoom_check_engine_fields(self, vals_list):
        if self.env.su:
            return
        owned = set(self._zoom_engine_fields())
        for vals in vals_list:
            touched = owned & set(vals)
            if touched:
                raise AccessError(
                    _(
                        "%(fields)s can only be changed by Zoom Booking itself.",
                        fields=", ".join(sorted(touched)),
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        self._zoom_check_engine_fields(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        self._zoom_check_engine_fields([vals])
        # The module's own writes skip the hooks; a caller's context can't.
        if self.env.su and self.env.context.get("zoom_booking_sync"):
            return super().write(vals)
        watched = set(self._zoom_watched_fields())
        before = (
            {r.id: (r._zoom_meeting_times(), r.active) for r in self}
            if watched & set(vals)
            else {}
        )
        result = super().write(vals)
        if before:
            self._zoom_after_change(before)
        return result

    def _zoom_watched_fields(self):
        return ["active"]

    def _zoom_after_change(self, before):
        """Move or delete the meetings of records moved or archived; returns
        ``(archived, moved)``."""
        archived, moved = self.browse(), self.browse()
        for record in self:
            times, was_active = before[record.id]
            if was_active and not record.active:
                archived |= record
            elif record.active and record._zoom_meeting_times() != times:
                moved |= record
        archived._zoom_plan("delete")
        moved._zoom_plan("update")
        return archived, moved

    def unlink(self):
        """A meeting whose record is deleted is still deleted at Zoom: its job
        stays, with the meeting's ID."""
        for record in self.sudo():
            job = record.zoom_job_ids[:1]
            if record.zoom_host_id and (record.zoom_meeting_id or job.create_unsure):
                job = record._zoom_job("delete")
                job.write(
                    {
                        "work": "delete",
                        "meeting_id": record.zoom_meeting_id,
                        "reference": record._zoom_reference(),
                        "next_attempt": fields.Datetime.now(),
                    }
                )
                job._run_after_commit()
            else:
                job.unlink()
        return super().unlink()

    # ------------------------------------------------ back-end actions
    def action_zoom_retry(self):
        """Retry now the Zoom work of these records."""
        self._zoom_check_host_access()
        records = self.sudo()
        failed = records.filtered(
            lambda r: r.zoom_status == "failed" and not r.zoom_job_ids
        )
        for record in failed:
            record._zoom_plan_create(record.zoom_host_id or record.user_id)
        (records - failed).zoom_job_ids._due_now()
        return True

    def action_zoom_add_meeting(self):
        """Add a Zoom meeting to a record made by hand, with its organizer's
        Zoom account."""
        self._zoom_check_host_access()
        for record in self.sudo():
            host = record.user_id
            if record.zoom_meeting_id or record.zoom_job_ids:
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
            record._zoom_plan_create(host, booking_confirmation_mailed=True)
        return True

    def _zoom_check_host_access(self):
        user = self.env.user
        if self.env.su or user.has_group("zoom_booking.group_booking_manager"):
            return
        for record in self.sudo():
            if user not in (record.user_id | record.zoom_host_id):
                raise AccessError(
                    _("Only the event's organizer can change its Zoom meeting.")
                )

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

    # ---------------------------------------------------- Zoom's webhooks
    @api.model
    def _zoom_records_of_meeting(self, meeting):
        meeting_id = str(meeting.get("id") or "")
        if not meeting_id.isdigit():
            return self.browse()
        records = (
            self.sudo()
            .with_context(active_test=False)
            .search([("zoom_meeting_id", "=", meeting_id)])
        )
        host_id = meeting.get("host_id")
        if host_id:
            records = records.filtered(
                lambda r: (
                    r.zoom_host_id._zoom_connection().zoom_user_id in (host_id, False)
                )
            )
        return records

    @api.model
    def _zoom_webhook_meeting_deleted(self, meeting):
        """Zoom says a meeting was deleted there: forget its link, tell the host."""
        records = self._zoom_records_of_meeting(meeting).filtered(
            lambda r: r.zoom_pending != "delete"
        )
        for record in records:
            record.zoom_job_ids.unlink()
            record.with_context(zoom_booking_sync=True).write(
                dict(record._zoom_cleared_values(), zoom_status="cleared")
            )
            record._zoom_tell_host(
                _(
                    "The Zoom meeting of this event was deleted in Zoom, so its "
                    "Zoom link no longer works. Click Add Zoom meeting for a new one."
                )
            )
        return _("%s event(s) lost their deleted Zoom meeting", len(records))

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
        records = self._zoom_records_of_meeting(meeting).filtered(
            lambda r: r.active and r.start != new_start
        )
        for record in records:
            record._zoom_tell_host(
                _(
                    "The Zoom meeting of this booking was moved in Zoom to "
                    "%(zoom_time)s (UTC), but the booking is still at %(odoo_time)s "
                    "(UTC). Move the booking in Odoo, or the meeting back in Zoom.",
                    zoom_time=new_start.strftime("%Y-%m-%d %H:%M"),
                    odoo_time=record.start.strftime("%Y-%m-%d %H:%M"),
                )
            )
        return _("%s booking(s) now disagree with Zoom", len(records))

    def _zoom_tell_host(self, message):
        """A note to the host on the record. Written by OdooBot, as Odoo's own
        notices: a webhook runs as the public user, who has no address."""
        odoobot = self.env.ref("base.partner_root")
        for record in self:
            host = record.zoom_host_id or record.user_id
            record.message_post(
                body=message,
                author_id=odoobot.id,
                email_from=odoobot.email_formatted,
                partner_ids=host.partner_id.ids,
                subtype_xmlid="mail.mt_note",
                # Sent by the mail queue's cron, woken below: sending it here
                # too, after commit, would race that cron on another worker.
                force_send=False,
            )
        self.env["calendar.event"]._booking_wake_mail_queue()
