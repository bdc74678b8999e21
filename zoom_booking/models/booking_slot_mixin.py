"""booking.slot.mixin: when a booking calendar's host is free, and the check
and lock that make two guests never get the same slot."""

from datetime import timedelta

import pytz

from odoo import _, fields, models

from ..exceptions import BookingError, SlotTakenError
from ..tools.slots import (
    availability_windows,
    compute_free_slots,
    local_to_utc,
    parse_utc,
)


class BookingSlotMixin(models.AbstractModel):
    """Free slots of a host: the weekly availability in the calendar's timezone,
    less the host's busy time (one query), buffers, notice and horizon. The
    slot maths are pure functions in ``tools/slots.py``.

    The inheriting model supplies ``host_id``, ``tz``, ``availability_ids``,
    ``duration``, ``slot_interval``, ``buffer_before``, ``buffer_after``,
    ``min_notice_hours`` and ``max_days_ahead``.
    """

    _name = "booking.slot.mixin"
    _description = "Free slots of a booking host"

    def _get_busy_intervals(self, start, stop, exclude_event=None):
        """The host's busy ``(start, stop)`` UTC intervals overlapping a period.

        One query, whatever the number of events: every active calendar event
        shown as busy with the host among its attendees, bookings and events
        synced from Google/Microsoft alike.
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
        # All-day events are stored around noon; widen the query by a day and
        # turn them into whole local days below.
        margin = timedelta(days=1)
        self.env.cr.execute(
            """
            SELECT e.start, e.stop, e.allday, e.start_date, e.stop_date
              FROM calendar_event e
              JOIN calendar_event_res_partner_rel rel ON rel.calendar_event_id = e.id
             WHERE rel.res_partner_id = %s
               AND e.active
               AND e.show_as = 'busy'
               AND e.stop > %s
               AND e.start < %s
               AND e.id != %s
            """,
            [
                self.host_id.partner_id.id,
                start - margin,
                stop + margin,
                exclude_event.id if exclude_event else 0,
            ],
        )
        tz = pytz.timezone(self.tz or "UTC")
        intervals = []
        for ev_start, ev_stop, allday, start_date, stop_date in self.env.cr.fetchall():
            if allday and start_date and stop_date:
                ev_start = local_to_utc(tz, start_date, 0)
                ev_stop = local_to_utc(tz, stop_date + timedelta(days=1), 0)
            if ev_stop > start and ev_start < stop:
                intervals.append((ev_start, ev_stop))
        return intervals

    def _get_free_slots(
        self, first_day, last_day, tz_name, now=None, exclude_event=None
    ):
        """Free slot starts (naive UTC) on the guest's local days ``first_day`` to
        ``last_day`` (inclusive) in timezone ``tz_name``.

        Notice, horizon, buffers and the host's busy time are applied.
        """
        self.ensure_one()
        now = (now or fields.Datetime.now()).replace(microsecond=0)
        guest_tz = pytz.timezone(tz_name)
        range_start = local_to_utc(guest_tz, first_day, 0)
        range_stop = local_to_utc(guest_tz, last_day + timedelta(days=1), 0)
        earliest = max(range_start, now + timedelta(hours=self.min_notice_hours))
        latest = min(range_stop, now + timedelta(days=self.max_days_ahead))
        if earliest >= latest:
            return []
        host_tz = pytz.timezone(self.tz or "UTC")
        # Local days of the host that can overlap the guest's range.
        host_first = pytz.utc.localize(earliest).astimezone(host_tz).date()
        host_last = pytz.utc.localize(latest).astimezone(host_tz).date()
        lines = [
            (line.weekday, line.hour_from, line.hour_to)
            for line in self.availability_ids
        ]
        windows = availability_windows(
            lines, host_tz.zone, host_first - timedelta(days=1), host_last
        )
        if not windows:
            return []
        buffer_before = timedelta(minutes=self.buffer_before)
        buffer_after = timedelta(minutes=self.buffer_after)
        busy = self._get_busy_intervals(
            windows[0][0] - buffer_before - buffer_after,
            windows[-1][1] + buffer_before + buffer_after,
            exclude_event=exclude_event,
        )
        return compute_free_slots(
            windows,
            busy,
            timedelta(minutes=self.duration),
            step=timedelta(minutes=self.slot_interval or self.duration),
            buffer_before=buffer_before,
            buffer_after=buffer_after,
            earliest=earliest,
            latest=latest,
        )

    def _is_slot_free(self, start, exclude_event=None, now=None):
        """Whether ``start`` (naive UTC) is one of the free slots right now."""
        self.ensure_one()
        host_tz = pytz.timezone(self.tz or "UTC")
        day = pytz.utc.localize(start).astimezone(host_tz).date()
        slots = self._get_free_slots(
            day - timedelta(days=1),
            day + timedelta(days=1),
            host_tz.zone,
            now=now,
            exclude_event=exclude_event,
        )
        return start in slots

    def _check_start(self, start_text, exclude_event=None):
        """The naive UTC start chosen by a guest, if it is a free slot now."""
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
        if not self._is_slot_free(start, exclude_event=exclude_event, now=now):
            raise SlotTakenError(
                _(
                    "This slot was just taken or is no longer available: please "
                    "choose another one."
                )
            )
        return start

    def _lock_host(self):
        """Serialize the bookings of this calendar's host.

        A row lock alone is not enough under REPEATABLE READ: the waiting
        transaction would keep its old snapshot and not see the booking that was
        just committed. Updating the row makes PostgreSQL abort the later
        transaction with a serialization failure instead; Odoo retries the
        request with a fresh snapshot, which then sees the slot as taken.
        """
        self.ensure_one()
        self.env.cr.execute(
            "UPDATE res_users SET write_date = write_date WHERE id = %s",
            [self.host_id.id],
            # The loser's serialization failure is expected, and retried.
            log_exceptions=False,
        )
