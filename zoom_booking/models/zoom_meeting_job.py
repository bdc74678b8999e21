"""zoom.meeting.job: every change Odoo still has to make at Zoom, one row each,
done after commit or by one cron with one backoff until Zoom confirms."""

import logging
import math
import time
from datetime import timedelta
from functools import partial

import psycopg2

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import MissingError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

from ..exceptions import ZoomNeedsReconnect
from ..tools.transaction import after_commit
from ..tools.zoom_client import (
    ZoomError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomRequestError,
    ZoomUnavailable,
)

_logger = logging.getLogger(__name__)

# How long a worker may take to do a job before another may.
LEASE = timedelta(minutes=2)
# The longest a request waits on Zoom after its commit (the cron has no limit).
GUEST_WAIT_SECONDS = 5.0
FIRST_BACKOFF = 30  # seconds, doubled at each failed attempt
# While Zoom is unreachable, one job of each host tries again this soon,
# whatever its backoff: when Zoom answers it, the host's others follow at
# once (_hurry_host). What bounds the recovery after an outage.
PROBE_INTERVAL = 5  # seconds
MAX_BACKOFF = 3600
DAY = 86400


class ZoomMeetingJob(models.Model):
    """One create, update or delete still to do at Zoom.

    A job of an event follows the event (one at most per event); a job whose
    event was deleted keeps the meeting's ID, so its deletion at Zoom survives
    an outage. Claimed with a lease, so that of several workers or Odoo nodes
    exactly one talks to Zoom for it at a time.
    """

    _name = "zoom.meeting.job"
    _description = "Zoom meeting change to make"
    _order = "next_attempt, id"

    event_id = fields.Many2one(
        "calendar.event",
        index="btree_not_null",
        ondelete="set null",
        readonly=True,
    )
    host_id = fields.Many2one(
        "res.users",
        "Zoom host",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
    )
    work = fields.Selection(
        [("create", "Create"), ("update", "Update"), ("delete", "Delete")],
        "Zoom work to do",
        required=True,
        readonly=True,
    )
    meeting_id = fields.Char(
        "Zoom meeting ID",
        readonly=True,
        help="The meeting to delete, once its event is gone.",
    )
    reference = fields.Char(
        readonly=True,
        help="The meeting's reference in its agenda, to find it again at Zoom "
        "when its event is gone.",
    )
    attempts = fields.Integer(readonly=True)
    next_attempt = fields.Datetime(
        readonly=True, index=True, help="Empty: waits for the host to reconnect."
    )
    lease_until = fields.Datetime(readonly=True)
    create_unsure = fields.Boolean(
        "Created but unanswered",
        readonly=True,
        help="A create request got no answer: Zoom may have created the meeting.",
    )
    last_error = fields.Char(readonly=True)

    _sql_constraints = [
        (
            "event_unique",
            "UNIQUE(event_id)",
            "An event has at most one Zoom job at a time.",
        ),
    ]

    # ------------------------------------------------------------ planning
    def _run_after_commit(self, claimed=False):
        """Do these jobs once this transaction is committed.

        :param claimed: they were made claimed (``_claimed_values``) in this
            transaction, so no other worker takes them meanwhile and they need
            no claim of their own.
        """
        ids = [job_id for job_id in self.ids if job_id]
        if not ids:
            return
        # Whoever waits on this (a guest confirming) waits for Zoom only so long;
        # what does not fit is left to the cron.
        deadline = time.monotonic() + GUEST_WAIT_SECONDS
        after_commit(
            self.env,
            lambda env: env["zoom.meeting.job"]._run(ids, claimed=claimed),
            context={"zoom_booking_deadline": deadline},
        )

    @api.model
    def _claimed_values(self):
        """Values of a new create job taken at once by the transaction that
        makes it, as ``_claim`` takes one: a new booking's request does it
        right after its commit, one transaction and query fewer."""
        return {
            "work": "create",
            "attempts": 1,
            "create_unsure": True,
            "lease_until": fields.Datetime.now() + LEASE,
        }

    def _due_now(self):
        """Make these jobs due at once, lease ended, and run them after commit."""
        self.write({"next_attempt": fields.Datetime.now(), "lease_until": False})
        self._run_after_commit()

    # ------------------------------------------------------------ running
    @api.model
    def _cron_run(self, limit=200):
        """Cron: do the jobs whose time has come."""
        now = fields.Datetime.now()
        jobs = self.sudo().search(
            [
                ("next_attempt", "!=", False),
                ("next_attempt", "<=", now),
                "|",
                ("lease_until", "=", False),
                ("lease_until", "<", now),
            ],
            order="next_attempt",
            limit=limit,
        )
        self._run(jobs.ids)
        if self.env.context.get("ir_cron_progress_id") and self._stay_for_probe(
            len(jobs)
        ):
            return
        self._trigger_next_attempt()

    def _stay_for_probe(self, done):
        """As Odoo's cron: while a job probes Zoom within PROBE_INTERVAL, stay
        on it, a second at a time, rather than leave it to the cron workers'
        next wake-up (a future trigger waits for it, up to a minute). Odoo
        runs the cron again at once, ten times; then, partly done, the cron
        is due again, and the cron workers are told so at once rather than
        at their next poll. Whether it stays."""
        now = fields.Datetime.now()
        soonest = self.sudo().search(
            [
                ("next_attempt", ">", now),
                ("next_attempt", "<=", now + timedelta(seconds=PROBE_INTERVAL)),
            ],
            order="next_attempt",
            limit=1,
        )
        if not soonest:
            return False
        time.sleep(min(1.0, max(0.0, (soonest.next_attempt - now).total_seconds())))
        self.env["ir.cron"]._notify_progress(done=max(1, done), remaining=1)
        # Odoo itself wakes the cron workers so only with ODOO_NOTIFY_CRON_CHANGES.
        self.env.cr.postcommit.add(self.env["ir.cron"]._notifydb)
        return True

    @api.model
    def _trigger_next_attempt(self):
        nxt = self.sudo().search(
            [("next_attempt", "!=", False)], order="next_attempt", limit=1
        )
        if nxt:
            cron = self.env.ref("zoom_booking.ir_cron_zoom_meeting_sync", False)
            now = fields.Datetime.now()
            at = max(nxt.next_attempt, now)
            if at <= now + timedelta(seconds=PROBE_INTERVAL):
                # Now: the cron stays for a probe this soon (_stay_for_probe);
                # a cron worker would notice a later trigger only when it wakes.
                at = now
            if cron:
                cron.sudo()._trigger(at)

    @api.model
    def _run(self, job_ids, claimed=False):
        """Do these jobs, each in transactions of its own: claim it (unless
        ``claimed``: see ``_run_after_commit``), talk to Zoom, record the
        outcome."""
        registry = self.env.registry
        context = dict(self.env.context, active_test=False)
        deadline = context.get("zoom_booking_deadline")
        for index, job_id in enumerate(job_ids):
            if deadline and deadline - time.monotonic() < 0.5:
                # Out of time: the cron does the rest.
                if claimed:
                    self._unclaim(job_ids[index:])
                self._trigger_next_attempt()
                break
            try:
                if claimed:
                    # As _claim returns it for a new job.
                    claim = {"work": "create", "unsure": False}
                else:
                    with registry.cursor() as cr:
                        env = api.Environment(cr, SUPERUSER_ID, context)
                        claim = env["zoom.meeting.job"]._claim(job_id)
                if not claim:
                    continue
                for attempt in range(3):
                    try:
                        with registry.cursor() as cr:
                            env = api.Environment(cr, SUPERUSER_ID, context)
                            env["zoom.meeting.job"].browse(job_id)._do(claim)
                        break
                    except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                        # The event changed while Zoom was answering: do it again
                        # on the new state; a create that happened is adopted.
                        if attempt == 2:
                            raise
                        claim = dict(
                            claim, unsure=claim["unsure"] or claim["work"] == "create"
                        )
            except Exception:
                # Left with its lease: retried when the lease ends.
                _logger.exception("Zoom job %s failed", job_id)

    @api.model
    def _hurry_host(self, host_id):
        """Zoom answers again for this host: the host's jobs that wait for a
        retry are done now rather than at the end of their backoff (not those
        held until the daily limit's reset)."""
        now = fields.Datetime.now()
        try:
            with self.env.registry.cursor() as cr:
                # One query, as it follows every answer from Zoom.
                cr.execute(
                    """UPDATE zoom_meeting_job SET next_attempt = %(now)s
                        WHERE id IN (
                            SELECT id FROM zoom_meeting_job
                             WHERE host_id = %(host)s
                               AND next_attempt > %(now)s
                               AND (lease_until IS NULL OR lease_until < %(now)s)
                               AND NOT EXISTS (
                                   SELECT 1 FROM zoom_connection
                                    WHERE user_id = %(host)s
                                      AND daily_limit_until > %(now)s)
                               FOR NO KEY UPDATE SKIP LOCKED)
                    RETURNING id""",
                    {"now": now, "host": host_id},
                    log_exceptions=False,
                )
                if cr.fetchall():
                    api.Environment(cr, SUPERUSER_ID, {}).ref(
                        "zoom_booking.ir_cron_zoom_meeting_sync"
                    )._trigger()
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            pass  # a worker is on it already

    @api.model
    def _unclaim(self, job_ids):
        """Give back jobs of ``_claimed_values`` that were not tried: the cron
        does them at once, as if never claimed."""
        self.env.cr.execute(
            """UPDATE zoom_meeting_job
                  SET lease_until = NULL, attempts = 0, create_unsure = FALSE
                WHERE id = ANY(%s) AND work = 'create' AND attempts = 1""",
            [list(job_ids)],
        )
        self.browse(job_ids).invalidate_recordset(
            ["lease_until", "attempts", "create_unsure"]
        )

    @api.model
    def _claim(self, job_id):
        """Take the job for a while, so no other worker does it too."""
        now = fields.Datetime.now()
        try:
            # From here until its answer is recorded, a create may have
            # happened at Zoom: create_unsure is set with the lease.
            self.env.cr.execute(
                """UPDATE zoom_meeting_job j
                      SET lease_until = %(until)s,
                          attempts = COALESCE(j.attempts, 0) + 1,
                          create_unsure = j.create_unsure OR j.work = 'create'
                     FROM (SELECT id, create_unsure FROM zoom_meeting_job
                            WHERE id = %(id)s
                              AND (lease_until IS NULL OR lease_until < %(now)s)
                              FOR NO KEY UPDATE SKIP LOCKED) AS old
                    WHERE j.id = old.id
                RETURNING j.work, old.create_unsure""",
                {"id": job_id, "now": now, "until": now + LEASE},
            )
        except psycopg2.errors.SerializationFailure:
            return None  # another worker just took it
        row = self.env.cr.fetchone()
        if not row:
            return None
        self.browse(job_id).invalidate_recordset()
        return {"work": row[0], "unsure": row[1]}

    def _done(self, zoom_answered=True):
        """The job is done (or given up): it leaves the queue.

        :param zoom_answered: Zoom answered for it, so the host's jobs that
            wait for a retry are done now (``_hurry_host``, after commit).
        """
        if not self:
            return
        # As _record: a guest's change meanwhile is retried, not logged.
        self.env.cr.execute(
            """DELETE FROM zoom_meeting_job j WHERE j.id = ANY(%(ids)s)
            RETURNING j.host_id,
                      EXISTS(SELECT 1 FROM zoom_meeting_job w
                              WHERE w.host_id = j.host_id AND w.id != j.id
                                AND w.next_attempt > %(now)s)""",
            {"ids": self.ids, "now": fields.Datetime.now()},
            log_exceptions=False,
        )
        waiting = {host_id for host_id, others in self.env.cr.fetchall() if others}
        self.invalidate_recordset()
        self.env["calendar.event"].invalidate_model(["zoom_job_ids"])
        if zoom_answered:
            for host_id in waiting:
                self.env.cr.postcommit.add(partial(self.browse()._hurry_host, host_id))

    def _record(self, values):
        """Write what became of this job after Zoom answered (or didn't).

        Its row may have changed while Zoom was answering, a guest moving or
        cancelling the booking: the update then fails as a concurrency error,
        which ``_run`` retries on the new state. Written here rather than by
        the ORM so that such an expected conflict isn't logged as a bad query.
        """
        self.ensure_one()
        assignments = [
            SQL(
                "%s = %s",
                SQL.identifier(name),
                value
                if value is not False or self._fields[name].type == "boolean"
                # False is NULL but in a boolean column.
                else None,
            )
            for name, value in values.items()
        ]
        self.env.cr.execute(
            SQL(
                "UPDATE zoom_meeting_job SET %s, write_date = %s WHERE id = %s",
                SQL(", ").join(assignments),
                fields.Datetime.now(),
                self.id,
            ),
            log_exceptions=False,
        )
        self.invalidate_recordset(list(values))
        self.env["calendar.event"].invalidate_model(["zoom_job_ids"])

    def _do(self, claim):
        """Talk to Zoom for this job, then record the outcome."""
        self.ensure_one()
        try:
            event = self.event_id.with_context(zoom_booking_sync=True)
        except MissingError:
            return  # done or dropped meanwhile (purge, cancel)
        if not event:
            self._do_orphan_delete(claim)
            return
        work = self.work
        if work != "delete":
            event._zoom_prefetch_people()
        logs = []
        # Mails written while Zoom answers a create (_create_meeting).
        drafts = {}
        try:
            zoom = self._zoom_api(logs)
            values, mails = self._do_work(event, work, zoom, claim, drafts)
        except ZoomError as exc:
            values, mails = self._failure(event, work, claim, exc)
        retry = values.pop("_retry", False)
        # Not tracked: the chatter's mails say what changed, and a Zoom link
        # kept as an old value is one more copy for a disconnect to purge.
        event.with_context(mail_notrack=True).write(values)
        event._zoom_write_call_log(logs)
        for purpose in mails:
            if not event._booking_mail_draft_send(drafts.pop(purpose, None)):
                event._booking_send_mail(purpose)
        for draft in drafts.values():
            event._booking_mail_draft_discard(draft)
        if retry:
            self._trigger_next_attempt()

    def _zoom_api(self, call_log=None):
        connection = self.host_id._zoom_connection(to_call=True)
        if not connection:
            raise ZoomNeedsReconnect(_("The host's Zoom account is not connected."))
        return connection._zoom_api(
            call_logger=None if call_log is None else call_log.append
        )

    def _do_work(self, event, work, zoom, claim, drafts):
        """One piece of Zoom work; returns the event values to write and the
        mails to send. The job is done, or set up for what follows.

        :param drafts: filled with the mails written while Zoom answers, by
            purpose (see ``calendar.event._booking_mail_draft``)
        """
        if work == "create":
            purpose = "zoom_link" if event.booking_confirmation_mailed else "confirmed"
            # Adopt the meeting an unanswered request may have made.
            meeting = claim["unsure"] and self._find_meeting(
                zoom, event._zoom_reference()
            )
            meeting = meeting or self._create_meeting(
                zoom, event, drafts=drafts, purpose=purpose
            )
            return self._created(event, meeting), [purpose]
        if work == "update":
            return self._update_meeting(zoom, event)
        meeting_id = event.zoom_meeting_id
        if not meeting_id and claim["unsure"]:
            found = self._find_meeting(zoom, event._zoom_reference())
            meeting_id = found and str(found["id"])
        self._delete_meeting(zoom, meeting_id)
        self._done()
        return dict(event._zoom_cleared_values(), zoom_status="cleared"), []

    def _create_meeting(self, zoom, event, drafts=None, purpose=None):
        """Create the event's meeting, with a passcode the host's account
        accepts when the event wants one; while Zoom answers, the ``purpose``
        mails are written in ``drafts`` when given."""
        passcode = event._zoom_wants_passcode() and zoom.new_passcode()
        meanwhile = None
        if drafts is not None:

            def meanwhile():
                drafts[purpose] = event._booking_mail_draft(purpose, bool(passcode))

        try:
            return zoom.create_meeting(
                event._zoom_meeting_body(passcode), meanwhile=meanwhile
            )
        except ZoomRequestError as exc:
            if not passcode or "password" not in exc.fields:
                raise
            # The account's policy changed since Odoo read it: read it again.
            zoom.refresh_passcode_policy()
            return zoom.create_meeting(event._zoom_meeting_body(zoom.new_passcode()))

    def _update_meeting(self, zoom, event):
        """Move the meeting, keeping its passcode, then take from Zoom what it
        holds now: what Odoo shows and mails is never a stale link."""
        try:
            zoom.update_meeting(event.zoom_meeting_id, event._zoom_meeting_body())
            meeting = zoom.get_meeting(event.zoom_meeting_id)
        except ZoomNotFound:
            # Deleted at Zoom meanwhile: a new meeting replaces it.
            meeting = self._create_meeting(zoom, event)
            return self._created(event, meeting), ["zoom_link"]
        self._done()
        values = dict(event._zoom_values_from_meeting(meeting), zoom_last_error=False)
        changed = (values["zoom_join_url"], values["zoom_passcode"]) != (
            event.zoom_join_url,
            event.zoom_passcode or False,
        )
        return values, ["zoom_link"] if changed else []

    def _created(self, event, meeting):
        """Event values of a meeting just made (or adopted); the job ends, or
        becomes an update when the event moved meanwhile."""
        values = event._zoom_values_from_meeting(meeting)
        start_time = meeting.get("start_time")
        if start_time and start_time != event._zoom_meeting_start():
            self._record(
                {
                    "work": "update",
                    "attempts": 0,
                    "create_unsure": False,
                    "lease_until": False,
                    "last_error": False,
                    "next_attempt": fields.Datetime.now(),
                }
            )
            values["_retry"] = True
        else:
            self._done()
        return dict(values, zoom_status="created", zoom_last_error=False)

    @api.model
    def _find_meeting(self, zoom, reference):
        """The host's upcoming meeting whose agenda ends with the line
        ``reference``, if any: an exact line, not a substring anywhere."""
        if not reference:
            return None
        for meeting in zoom.list_upcoming_meetings():
            lines = (meeting.get("agenda") or "").strip().splitlines()
            if lines and lines[-1].strip() == reference:
                return meeting
        return None

    @api.model
    def _delete_meeting(self, zoom, meeting_id):
        if meeting_id:
            try:
                zoom.delete_meeting(meeting_id)
            except ZoomNotFound:
                pass  # already gone at Zoom: nothing more to do

    def _do_orphan_delete(self, claim):
        """Delete at Zoom the meeting of an event deleted in Odoo."""
        connection = self.host_id._zoom_connection(to_call=True)
        if not connection:
            # Disconnected: Odoo may no longer act on that Zoom account.
            self._done(zoom_answered=False)
            return
        zoom = connection._zoom_api()
        try:
            meeting_id = self.meeting_id
            if not meeting_id and claim["unsure"]:
                found = self._find_meeting(zoom, self.reference)
                meeting_id = found and str(found["id"])
            self._delete_meeting(zoom, meeting_id)
        except ZoomError as exc:
            self._retry_or_give_up(exc)
            return
        self._done()

    # ------------------------------------------------------------ failures
    def _failure(self, event, work, claim, exc):
        """Event values and mails after Zoom failed; the job waits, is retried
        later or, when Zoom refused the request itself, given up."""
        mails = []
        if work == "create" and not event.booking_confirmation_mailed:
            # The guest hears at once that the booking holds; the link follows.
            mails.append("confirmed")
        if isinstance(exc, ZoomNeedsReconnect):
            # Waits for the host: zoom.connection._on_connected resumes it.
            self._record(
                {"last_error": str(exc), "next_attempt": False, "lease_until": False}
            )
            return {"zoom_last_error": str(exc)}, mails
        kept = {}
        if isinstance(exc, ZoomRateLimited):
            # Zoom answered: this request created nothing.
            kept["create_unsure"] = claim["unsure"]
            if exc.daily:
                self._wait_for_daily_reset(exc)
        if self._retry_or_give_up(exc, kept):
            return {"zoom_last_error": exc.message, "_retry": True}, mails
        return {
            "zoom_last_error": exc.message,
            "zoom_status": "failed" if work != "delete" else "cleared",
        }, mails

    def _retry_or_give_up(self, exc, values=None):
        """Retry after a backoff when Zoom may do it later, with ``values``
        written on the job too; else drop the job. Returns whether it is
        retried."""
        if isinstance(exc, ZoomUnavailable | ZoomRateLimited):
            now = fields.Datetime.now()
            next_attempt = now + self._backoff(exc)
            probe = now + timedelta(seconds=PROBE_INTERVAL)
            if (
                isinstance(exc, ZoomUnavailable)
                and next_attempt > probe
                and not self._host_probes_soon(probe)
            ):
                next_attempt = probe
            self._record(
                dict(
                    values or {},
                    last_error=exc.message[:250],
                    lease_until=False,
                    next_attempt=next_attempt,
                )
            )
            return True
        # Zoom refused the request itself: retrying the same will not help.
        _logger.info("Zoom job %s given up: %s", self.id, exc.message)
        self._done()
        return False

    def _host_probes_soon(self, probe):
        """Whether another job of this host tries Zoom again by ``probe``."""
        return bool(
            self.search_count(
                [
                    ("host_id", "=", self.host_id.id),
                    ("id", "!=", self.id),
                    ("next_attempt", "!=", False),
                    ("next_attempt", "<=", probe),
                ],
                limit=1,
            )
        )

    def _backoff(self, exc=None):
        """How long to wait before trying again: Zoom's ``Retry-After`` (the
        daily limit's reset time whatever it is), else 30 s doubling to 1 h."""
        retry_after = getattr(exc, "retry_after", None)
        if getattr(exc, "daily", False):
            # Rounded up: Odoo's times have whole seconds, the reset is on one.
            return timedelta(
                seconds=min(math.ceil(retry_after or MAX_BACKOFF), 2 * DAY)
            )
        if retry_after:
            return timedelta(seconds=min(retry_after, MAX_BACKOFF))
        seconds = FIRST_BACKOFF * 2 ** max(0, self.attempts - 1)
        return timedelta(seconds=min(MAX_BACKOFF, seconds))

    def _wait_for_daily_reset(self, exc):
        """The host's daily limit of meeting creates and updates is reached:
        their creates and updates wait for Zoom's reset, and they are told."""
        until = fields.Datetime.now() + self._backoff(exc)
        held = self.search(
            [
                ("host_id", "=", self.host_id.id),
                ("work", "in", ("create", "update")),
                ("next_attempt", "!=", False),
                ("next_attempt", "<", until),
                ("id", "!=", self.id),
                "|",
                ("lease_until", "=", False),
                ("lease_until", "<", fields.Datetime.now()),
            ]
        )
        held.write({"next_attempt": until, "last_error": exc.message[:250]})
        connection = self.host_id._zoom_connection()
        if connection:
            connection._tell_daily_limit(until)
