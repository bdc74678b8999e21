"""Section 3: the cost of free-slot computation as busy events grow."""

import time
from datetime import date, datetime, timedelta


def run(bench):
    cfg = bench.cfg
    calendar_id = bench.calendar_ids["bench-slots"]
    first = date.today() + timedelta(days=1)
    last = first + timedelta(days=59)  # 60 local days, inclusive
    base = datetime.combine(first, datetime.min.time())
    inserted = 0
    timings = {}
    for level in cfg["slot_levels"]:
        bench.db.sql(
            """SELECT setseed(%(seed)s);
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
               SELECT %(pid)s, id FROM ins""",
            {
                "uid": bench.slots_host_id,
                "pid": bench.slots_host_partner_id,
                "base": base,
                "n": level - inserted,
                "seed": 0.1 + len(timings) / 10,
            },
            fetch=False,
        )
        inserted = level
        bench.db.sql("ANALYZE calendar_event", fetch=False)
        bench.db.sql("ANALYZE calendar_event_res_partner_rel", fetch=False)
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
        timings[level] = best
        bench.row(
            "3",
            f"_get_free_slots 60 days, {level} busy events (best of "
            f"{cfg['slot_best_of']})",
            f"{best * 1000:.1f} ms ({count} free slots)",
        )
    if 1000 in timings and 10000 in timings:
        ratio = timings[10000] / timings[1000]
        bench.row(
            "3", "growth t(10,000)/t(1,000)", f"{ratio:.2f}", "<= 12", ratio <= 12
        )


# -------------------------------------------------------- 4. race, throughput
