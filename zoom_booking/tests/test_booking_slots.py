"""Free slot computation: the pure sweep, daylight-saving days, timezones."""

from datetime import date, datetime, timedelta

import pytz

from odoo.fields import Command
from odoo.tests import TransactionCase, freeze_time, tagged

from .common import BookingCalendarMixin, make_user

H = timedelta(hours=1)
M30 = timedelta(minutes=30)


def dt(*args):
    return datetime(*args)


@tagged("post_install", "-at_install")
class TestBookingCalendarSlots(BookingCalendarMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.host = make_user(cls.env, "zb_slots_host", "Slot Host", tz="Europe/Berlin")

    def make_calendar(self, tz, lines, **values):
        vals = {
            "tz": tz,
            "min_notice_hours": 0,
            "max_days_ahead": 60,
            "availability_ids": [Command.clear()]
            + [
                Command.create({"weekday": str(w), "hour_from": f, "hour_to": t})
                for w, f, t in lines
            ],
        }
        return self.create_booking_calendar(self.host, **dict(vals, **values))

    def local_times(self, slots, tz):
        zone = pytz.timezone(tz)
        return [pytz.utc.localize(s).astimezone(zone).strftime("%H:%M") for s in slots]

    def test_default_availability(self):
        calendar = (
            self.env["booking.calendar"]
            .with_user(self.host)
            .create({"name": "Defaults"})
        )
        self.assertEqual(calendar.tz, "Europe/Berlin")
        self.assertEqual(calendar.slot_interval, calendar.duration)
        self.assertEqual(calendar.slug, "defaults")
        self.assertEqual(
            [(a.weekday, a.hour_from, a.hour_to) for a in calendar.availability_ids],
            [(str(d), 9.0, 17.0) for d in range(5)],
        )

    @freeze_time("2026-03-20 12:00:00")
    def test_berlin_dst_days(self):
        calendar = self.make_calendar(
            "Europe/Berlin", [(5, 9, 17), (6, 9, 17), (6, 0, 6)], duration=60
        )
        saturday = calendar._get_free_slots(
            date(2026, 3, 28), date(2026, 3, 28), "Europe/Berlin"
        )
        self.assertEqual(saturday[0], dt(2026, 3, 28, 8))  # 09:00 CET
        sunday = calendar._get_free_slots(
            date(2026, 3, 29), date(2026, 3, 29), "Europe/Berlin"
        )
        # Night window: 00:00 CET to 06:00 CEST is 5 real hours, no 02:00.
        self.assertEqual(
            self.local_times(sunday, "Europe/Berlin"),
            ["00:00", "01:00", "03:00", "04:00", "05:00"]
            + [f"{h:02d}:00" for h in range(9, 17)],
        )
        self.assertIn(dt(2026, 3, 29, 7), sunday)  # 09:00 CEST

    @freeze_time("2026-10-20 12:00:00")
    def test_new_york_dst_day(self):
        calendar = self.make_calendar("America/New_York", [(6, 0, 4)], duration=60)
        slots = calendar._get_free_slots(
            date(2026, 11, 1), date(2026, 11, 1), "America/New_York"
        )
        self.assertEqual(slots, [dt(2026, 11, 1, h) for h in range(4, 9)])
        self.assertEqual(
            self.local_times(slots, "America/New_York"),
            ["00:00", "01:00", "01:00", "02:00", "03:00"],
        )

    @freeze_time("2026-12-01 00:00:00")
    def test_tokyo_host_new_york_guest(self):
        calendar = self.make_calendar("Asia/Tokyo", [(d, 9, 17) for d in range(5)])
        # Tokyo's Monday 09:00-17:00 is Monday 00:00-08:00 UTC, i.e. Sunday evening
        # and Monday early morning in New York.
        sunday_ny = calendar._get_free_slots(
            date(2026, 12, 6), date(2026, 12, 6), "America/New_York"
        )
        self.assertEqual(sunday_ny[0], dt(2026, 12, 7, 0))
        self.assertEqual(sunday_ny[-1], dt(2026, 12, 7, 4, 30))
        self.assertEqual(len(sunday_ny), 10)
        monday_ny = calendar._get_free_slots(
            date(2026, 12, 7), date(2026, 12, 7), "America/New_York"
        )
        self.assertEqual(monday_ny[0], dt(2026, 12, 7, 5))
        self.assertEqual(len(monday_ny), 16)
        tokyo = calendar._get_free_slots(
            date(2026, 12, 7), date(2026, 12, 7), "Asia/Tokyo"
        )
        self.assertEqual(
            self.local_times(tokyo[:1] + tokyo[-1:], "Asia/Tokyo"), ["09:00", "16:30"]
        )

    @freeze_time("2026-12-01 08:00:00")
    def test_busy_time_notice_and_horizon(self):
        calendar = self.make_calendar(
            "UTC",
            [(d, 9, 12) for d in range(7)],
            duration=60,
            buffer_before=15,
            buffer_after=0,
            min_notice_hours=3,
            max_days_ahead=2,
        )
        self.busy_event(dt(2026, 12, 2, 10, 30), dt(2026, 12, 2, 11))
        # Not the host's busy time: shown as free, archived, host not attending.
        self.busy_event(dt(2026, 12, 2, 9), dt(2026, 12, 2, 10), show_as="free")
        self.busy_event(dt(2026, 12, 1, 11), dt(2026, 12, 1, 12), active=False)
        self.env["calendar.event"].create(
            {
                "name": "Someone else's",
                "start": dt(2026, 12, 1, 11),
                "stop": dt(2026, 12, 1, 12),
                "partner_ids": [Command.set(self.env.user.partner_id.ids)],
            }
        )
        slots = calendar._get_free_slots(date(2026, 12, 1), date(2026, 12, 5), "UTC")
        self.assertEqual(
            slots,
            [
                # Notice: nothing before 11:00 on the 1st.
                dt(2026, 12, 1, 11),
                # 10:00 collides with 10:30-11:00, 11:00 with its 15 minutes before.
                dt(2026, 12, 2, 9),
                # Horizon: nothing from 2026-12-03 08:00.
            ],
        )

    @freeze_time("2026-12-01 08:00:00")
    def test_all_day_events_and_other_calendars_block(self):
        calendar = self.make_calendar(
            "Asia/Tokyo", [(d, 9, 12) for d in range(7)], duration=60
        )
        other = self.make_calendar(
            "Asia/Tokyo", [(d, 9, 12) for d in range(7)], duration=60, name="Other"
        )
        self.assertNotEqual(calendar.slug, other.slug)
        self.busy_event(dt(2026, 12, 2, 8), dt(2026, 12, 2, 18), allday=True)
        self.busy_event(
            dt(2026, 12, 3, 1), dt(2026, 12, 3, 2), booking_calendar_id=other.id
        )
        slots = calendar._get_free_slots(
            date(2026, 12, 2), date(2026, 12, 3), "Asia/Tokyo"
        )
        self.assertEqual(self.local_times(slots, "Asia/Tokyo"), ["09:00", "11:00"])

    @freeze_time("2026-12-01 00:00:00")
    def test_one_query_for_busy_time(self):
        calendar = self.make_calendar("UTC", [(d, 0, 24) for d in range(7)])
        calendar._get_free_slots(date(2026, 12, 1), date(2026, 12, 7), "UTC")
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        calendar._get_free_slots(date(2026, 12, 1), date(2026, 12, 7), "UTC")
        few = self.cr.sql_log_count - before
        for day in range(1, 8):
            for hour in range(0, 24, 2):
                self.busy_event(dt(2026, 12, day, hour), dt(2026, 12, day, hour, 30))
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.cr.sql_log_count
        slots = calendar._get_free_slots(date(2026, 12, 1), date(2026, 12, 7), "UTC")
        self.assertEqual(self.cr.sql_log_count - before, few)
        self.assertEqual(len(slots), 7 * 48 - 7 * 12)
