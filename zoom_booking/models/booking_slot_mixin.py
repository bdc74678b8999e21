"""booking.slot.mixin: when a booking calendar's host is free, and the check
and lock that make two guests never get the same slot."""

from datetime import timedelta

import pytz

from odoo import _, fields, models

from ..exceptions import BookingError, SlotLostError, SlotTakenError
from ..tools.slots import (
    availability_windows,
    combine_slots,
    compute_free_slots,
    local_to_utc,
    parse_utc,
)


class BookingSlotMixin(models.AbstractModel):
    """Free slots of a host: the weekly availability in the calendar's timezone,
    less the host's busy time (one query), buffers, notice and horizon. The
    slot maths are pure functions in ``tools/slots.py``.

    The inheriting model supplies ``host_id``, ``assignment``,
    ``_team_hosts()``, ``tz``, ``availability_ids``, ``duration``,
    ``slot_interval``, ``buffer_before``, ``buffer_after``, ``min_notice_hours``
    and ``max_days_ahead``.
    """

    _name = "booking.slot.mixin"
    _description = "Free slots of a booking host"

    def _slot_hosts(self, exclude_event=None):
        """The hosts whose free time makes the slots, in the team's order: the
        owner alone on a one-host calendar; on a round-robin calendar, a booking
        being moved keeps its host (and with it its Zoom meeting and link)."""
        self.ensure_one()
        hosts = self._team_hosts()
        if (
            exclude_event
            and self.assignment == "round_robin"
            and exclude_event.user_id in hosts
        ):
            return exclude_event.user_id
        return hosts

    def _get_busy_by_host(self, hosts, start, stop, exclude_event=None):
        """``{host id: busy (start, stop) UTC intervals}`` of ``hosts`` overlapping
        a period.

        One query, whatever the number of hosts and events: every active
        calendar event shown as busy with the host among its attendees, bookings
        and events synced from Google/Microsoft alike. A host's all-day event
        takes their whole local day, in their own timezone.
        """
        self.ensure_one()
        event_model = self.env["calendar.event"]
        event_model.flush_model(
            [
                "start",
                "stop",
                "allday",
                "start_date",
                "stop_date",
                "show_as",
                "active",
                "partner_ids",
            ]
        )
        host_of_partner = {host.partner_id.id: host for host in hosts}
        # All-day events are stored around noon; widen the query by a day and
        # turn them into whole local days below.
        margin = timedelta(days=1)
        self.env.cr.execute(
            """
            SELECT rel.res_partner_id, e.start, e.stop, e.allday, e.start_date,
                   e.stop_date
              FROM calendar_event e
              JOIN calendar_event_res_partner_rel rel ON rel.calendar_event_id = e.id
             WHERE rel.res_partner_id = ANY(%s)
               AND e.active
               AND e.show_as = 'busy'
               AND e.stop > %s
               AND e.start < %s
               AND e.id != %s
            """,
            [
                list(host_of_partner),
                start - margin,
                stop + margin,
                exclude_event.id if exclude_event else 0,
            ],
        )
        # Fetched at once: reading a host's timezone below runs a query.
        rows = self.env.cr.fetchall()
        busy = {host.id: [] for host in hosts}
        tz_of_host = {
            host.id: pytz.timezone(host.tz or self.tz or "UTC") for host in hosts
        }
        for (
            partner_id,
            ev_start,
            ev_stop,
            allday,
            start_date,
            stop_date,
        ) in rows:
            host = host_of_partner[partner_id]
            if allday and start_date and stop_date:
                tz = tz_of_host[host.id]
                ev_start = local_to_utc(tz, start_date, 0)
                ev_stop = local_to_utc(tz, stop_date + timedelta(days=1), 0)
            if ev_stop > start and ev_start < stop:
                busy[host.id].append((ev_start, ev_stop))
        return busy

    def _get_busy_intervals(self, start, stop, exclude_event=None):
        """The owner's busy ``(start, stop)`` UTC intervals overlapping a period."""
        self.ensure_one()
        return self._get_busy_by_host(self.host_id, start, stop, exclude_event)[
            self.host_id.id
        ]

    def _free_slots_by_host(
        self, first_day, last_day, tz_name, now=None, exclude_event=None, hosts=None
    ):
        """``{host: free slot starts}`` (naive UTC) of the slot hosts on the
        guest's local days ``first_day`` to ``last_day`` (inclusive) in timezone
        ``tz_name``: the calendar's weekly availability, less each host's busy
        time, with notice, horizon and buffers. Linear in hosts × busy events."""
        self.ensure_one()
        hosts = hosts or self._slot_hosts(exclude_event)
        now = (now or fields.Datetime.now()).replace(microsecond=0)
        guest_tz = pytz.timezone(tz_name)
        range_start = local_to_utc(guest_tz, first_day, 0)
        range_stop = local_to_utc(guest_tz, last_day + timedelta(days=1), 0)
        earliest = max(range_start, now + timedelta(hours=self.min_notice_hours))
        latest = min(range_stop, now + timedelta(days=self.max_days_ahead))
        if earliest >= latest:
            return {host: [] for host in hosts}
        calendar_tz = pytz.timezone(self.tz or "UTC")
        # Local days of the calendar that can overlap the guest's range.
        local_first = pytz.utc.localize(earliest).astimezone(calendar_tz).date()
        local_last = pytz.utc.localize(latest).astimezone(calendar_tz).date()
        lines = [
            (line.weekday, line.hour_from, line.hour_to)
            for line in self.availability_ids
        ]
        windows = availability_windows(
            lines, calendar_tz.zone, local_first - timedelta(days=1), local_last
        )
        if not windows:
            return {host: [] for host in hosts}
        buffer_before = timedelta(minutes=self.buffer_before)
        buffer_after = timedelta(minutes=self.buffer_after)
        busy = self._get_busy_by_host(
            hosts,
            windows[0][0] - buffer_before - buffer_after,
            windows[-1][1] + buffer_before + buffer_after,
            exclude_event=exclude_event,
        )
        return {
            host: compute_free_slots(
                windows,
                busy[host.id],
                timedelta(minutes=self.duration),
                step=timedelta(minutes=self.slot_interval or self.duration),
                buffer_before=buffer_before,
                buffer_after=buffer_after,
                earliest=earliest,
                latest=latest,
            )
            for host in hosts
        }

    def _get_free_slots(
        self, first_day, last_day, tz_name, now=None, exclude_event=None
    ):
        """Free slot starts (naive UTC) on the guest's local days ``first_day`` to
        ``last_day`` (inclusive) in timezone ``tz_name``: free for the host, for
        any host of a round-robin calendar, for every host of a collective one.

        Notice, horizon, buffers and the hosts' busy time are applied.
        """
        by_host = self._free_slots_by_host(
            first_day, last_day, tz_name, now=now, exclude_event=exclude_event
        )
        return combine_slots(
            by_host.values(), every_host=self.assignment == "collective"
        )

    def _free_hosts_at(self, start, exclude_event=None, now=None, hosts=None):
        """The slot hosts (or ``hosts``) free at ``start`` (naive UTC), in the
        team's order."""
        self.ensure_one()
        calendar_tz = pytz.timezone(self.tz or "UTC")
        day = pytz.utc.localize(start).astimezone(calendar_tz).date()
        by_host = self._free_slots_by_host(
            day - timedelta(days=1),
            day + timedelta(days=1),
            calendar_tz.zone,
            now=now,
            exclude_event=exclude_event,
            hosts=hosts,
        )
        free = [host for host, slots in by_host.items() if start in set(slots)]
        if self.assignment == "collective" and len(free) < len(by_host):
            return self.env["res.users"]
        return self.env["res.users"].union(*free) if free else self.env["res.users"]

    def _is_slot_free(self, start, exclude_event=None, now=None):
        """Whether ``start`` (naive UTC) is one of the free slots right now."""
        return bool(self._free_hosts_at(start, exclude_event=exclude_event, now=now))

    def _check_start(self, start_text, exclude_event=None):
        """The naive UTC start chosen by a guest, if it is a free slot now."""
        return self._check_start_hosts(start_text, exclude_event)[0]

    def _check_start_hosts(self, start_text, exclude_event=None):
        """``(start, free hosts)``: the naive UTC start chosen by a guest, if it
        is a free slot now, and the slot hosts free then."""
        self.ensure_one()
        start = parse_utc(start_text)
        if not start:
            raise BookingError(_("Please choose a time slot."))
        now = fields.Datetime.now()
        if start < now:
            raise BookingError(
                _("This time is in the past: please choose another slot.")
            )
        if start > now + timedelta(days=self.max_days_ahead):
            raise BookingError(
                _("You can book at most %(days)s days ahead.", days=self.max_days_ahead)
            )
        free_hosts = self._free_hosts_at(start, exclude_event=exclude_event, now=now)
        if not free_hosts:
            raise SlotTakenError(self._slot_taken_message())
        return start, free_hosts

    def _slot_taken_message(self):
        return _(
            "This slot was just taken or is no longer available: please "
            "choose another one."
        )

    def _hold_slot(self, event, hosts):
        """Make sure the new booking ``event`` keeps its slot with ``hosts``:
        lock the hosts, then check, with what other bookings have committed
        meanwhile, that they are still free then.

        Called last in the booking's transaction, so the lock is held only
        for this check and the commit. Under READ COMMITTED (a guest's booking,
        see ``_book_slot_committed``) the check's query sees the booking the
        previous holder of the lock committed; under REPEATABLE READ the lock
        itself fails when one was committed after this transaction began.

        :raise SlotLostError: another booking took the slot meanwhile
        """
        self.ensure_one()
        self._lock_host()
        free = self._free_hosts_at(event.start, exclude_event=event, hosts=hosts)
        if len(free) < len(hosts):
            raise SlotLostError(self._slot_taken_message())

    def _lock_host(self):
        """Serialize the bookings of this calendar's hosts (a guest's booking
        takes it last, in :meth:`_hold_slot`).

        Every host of the team is locked, always in the same order (by id), so
        that two team calendars sharing hosts never wait on each other in a
        cycle (no deadlock).

        A row lock alone is not enough under REPEATABLE READ: the waiting
        transaction would keep its old snapshot and not see the booking that was
        just committed. Updating the row makes PostgreSQL abort the later
        transaction with a serialization failure instead; Odoo retries the
        request with a fresh snapshot, which then sees the slot as taken.
        """
        self.ensure_one()
        host_ids = sorted(self._team_hosts().ids)
        if len(host_ids) > 1:
            self.env.cr.execute(
                "SELECT id FROM res_users WHERE id = ANY(%s)"
                " ORDER BY id FOR NO KEY UPDATE",
                [host_ids],
                log_exceptions=False,
            )
        self.env.cr.execute(
            "UPDATE res_users SET write_date = write_date WHERE id = ANY(%s)",
            [host_ids],
            # The loser's serialization failure is expected, and retried.
            log_exceptions=False,
        )
