"""Section 3: the cost of free-slot computation as busy events grow."""

import time
from datetime import date, datetime, timedelta

BUSY_SQL = """SELECT setseed(%(seed)s);
   WITH ins AS (
     INSERT INTO calendar_event
            (name, start, stop, duration, allday, active, show_as,
             user_id, create_uid, write_uid, create_date, write_date)
     SELECT 'Bench busy ' || g, t, t + d, extract(epoch FROM d) / 3600,
            false, true, 'busy', %(uid)s, 1, 1,
            now() at time zone 'UTC', now() at time zone 'UTC'
       FROM (SELECT g,
                    %(base)s::timestamp
                    + floor(random() * 60 * 96) * interval '15 minutes'
                    AS t,
                    (1 + floor(random() * 4)) * interval '15 minutes'
                    AS d
               FROM generate_series(1, %(n)s) g) s
     RETURNING id)
   INSERT INTO calendar_event_res_partner_rel
          (res_partner_id, calendar_event_id)
   SELECT %(pid)s, id FROM ins"""
TEAM_SIZE = 5
TEAM_BUSY_EACH = 1000


def insert_busy(bench, uid, partner_id, base, count, seed):
    """``count`` random busy events of 15 to 60 minutes over 60 days."""
    bench.db.sql(
        BUSY_SQL,
        {"uid": uid, "pid": partner_id, "base": base, "n": count, "seed": seed},
        fetch=False,
    )


def best_time(bench, calendar_id, first, last):
    cfg = bench.cfg
    cr, env = bench.db.env_cursor()
    with cr:
        calendar = env["booking.calendar"].browse(calendar_id)
        best, count = None, 0
        for _attempt in range(cfg["slot_best_of"]):
            env.invalidate_all()
            started = time.perf_counter()
            slots = calendar._get_free_slots(first, last, "UTC")
            elapsed = time.perf_counter() - started
            best = elapsed if best is None else min(best, elapsed)
            count = len(slots)
    return best, count


def run_team(bench, first, last, base):
    """A 5-host calendar, 1,000 busy events each: round robin and collective,
    against one host with 1,000 (linear: about 5 times its cost)."""
    from odoo.fields import Command

    cr, env = bench.db.env_cursor()
    with cr:
        users = env["res.users"].with_context(no_reset_password=True)
        group_user = env.ref("base.group_user")
        hosts = users.create(
            [
                {
                    "name": f"Team host {index}",
                    "login": f"bench_team_host_{index}",
                    "tz": "UTC",
                    "groups_id": [Command.set(group_user.ids)],
                }
                for index in range(TEAM_SIZE)
            ]
        )
        single_calendar = env["booking.calendar"].browse(
            bench.calendar_ids["bench-slots"]
        )
        calendars = {}
        for assignment in ("round_robin", "collective", "single"):
            calendars[assignment] = single_calendar.copy(
                {
                    "name": f"Bench team {assignment}",
                    "slug": f"bench-team-{assignment.replace('_', '-')}",
                    "host_id": hosts[0].id,
                    "assignment": assignment,
                    "host_ids": [Command.set(hosts.ids)],
                }
            ).id
        host_rows = [(h.id, h.partner_id.id) for h in hosts]
    for index, (uid, partner_id) in enumerate(host_rows):
        insert_busy(bench, uid, partner_id, base, TEAM_BUSY_EACH, 0.5 + index / 20)
    bench.db.sql("ANALYZE calendar_event", fetch=False)
    one, one_count = best_time(bench, calendars["single"], first, last)
    bench.row(
        "3",
        f"_get_free_slots 60 days, 1 host of the team, {TEAM_BUSY_EACH} busy events",
        f"{one * 1000:.1f} ms ({one_count} free slots)",
    )
    for assignment in ("round_robin", "collective"):
        elapsed, count = best_time(bench, calendars[assignment], first, last)
        ratio = elapsed / one
        bench.row(
            "3",
            f"_get_free_slots 60 days, {TEAM_SIZE}-host {assignment.replace('_', ' ')}"
            f", {TEAM_BUSY_EACH} busy events each",
            f"{elapsed * 1000:.1f} ms ({count} free slots; {ratio:.1f}x one host)",
            f"<= {TEAM_SIZE * 1.5:.1f}x",
            ratio <= TEAM_SIZE * 1.5,
        )


def run(bench):
    cfg = bench.cfg
    calendar_id = bench.calendar_ids["bench-slots"]
    first = date.today() + timedelta(days=1)
    last = first + timedelta(days=59)  # 60 local days, inclusive
    base = datetime.combine(first, datetime.min.time())
    inserted = 0
    timings = {}
    for level in cfg["slot_levels"]:
        insert_busy(
            bench,
            bench.slots_host_id,
            bench.slots_host_partner_id,
            base,
            level - inserted,
            0.1 + len(timings) / 10,
        )
        inserted = level
        bench.db.sql("ANALYZE calendar_event", fetch=False)
        bench.db.sql("ANALYZE calendar_event_res_partner_rel", fetch=False)
        best, count = best_time(bench, calendar_id, first, last)
        timings[level] = best
        bench.row(
            "3",
            f"_get_free_slots 60 days, {level} busy events (best of "
            f"{cfg['slot_best_of']})",
            f"{best * 1000:.1f} ms ({count} free slots)",
        )
    run_team(bench, first, last, base)
    if 1000 in timings and 10000 in timings:
        ratio = timings[10000] / timings[1000]
        bench.row(
            "3", "growth t(10,000)/t(1,000)", f"{ratio:.2f}", "<= 12", ratio <= 12
        )


# -------------------------------------------------------- 4. race, throughput
