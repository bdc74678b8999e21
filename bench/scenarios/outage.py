"""Section 6: the outage drill: Zoom down, bookings confirmed, recovery."""

import time

from ..harness import (
    book_concurrently,
    last_line,
    meetings_per_event,
    ms,
    pct,
    pg_exec,
    token_of,
)


def run(bench):
    cfg = bench.cfg
    count, clients = cfg["outage_n"], cfg["outage_clients"]
    bench.double.set_latency(0)
    guests = bench.new_guests("bench-zoom", count, "outage")
    slots = bench.pool.take(count)
    bench.double.delete("/_double/requests")
    # Zoom refuses every connection: dropped without an answer, any path.
    bench.double.post(
        "/_double/faults",
        {"method": "*", "path": None, "action": "drop", "times": None},
    )
    results, wall = book_concurrently(guests, slots, clients)
    answered = time.time()  # the last booking was answered by now
    ok = sum(1 for r in results if r[0] == 303)
    times = [r[1] for r in results]
    bench.row(
        "6",
        f"outage: {count} Zoom bookings answered 303",
        f"{ok}/{count} (p50 {ms(pct(times, 50))}, max {ms(max(times))}, {wall:.1f} s)",
        f"{count}",
        ok == count,
    )
    for r in results:
        if r[0] != 303:
            bench.notes.append(f"outage: HTTP {r[0]}: {r[3][:300]!r}")
            break
    tokens = [token_of(r[2]) for r in results if r[0] == 303]
    events = bench.events_by_tokens(tokens)
    event_ids = [e[0] for e in events]
    pending = sum(1 for e in events if e[1] == "pending")
    bench.row(
        "6",
        "outage: events left pending",
        f"{pending}/{len(events)}",
        f"{count}",
        pending == count,
    )
    confirmed, last = bench.delivered_per_event(event_ids, "Booking confirmed")
    delay = max(0.0, max(last.values(), default=answered) - answered)
    bench.row(
        "6",
        "outage: 'Booking confirmed' mails delivered by SMTP (2 per booking), "
        "last one after the last booking answered",
        f"{sum(1 for c in confirmed.values() if c == 2)}/{len(event_ids)}, "
        f"{delay:.1f} s",
        f"{count}, <= 60 s",
        all(c == 2 for c in confirmed.values())
        and len(event_ids) == count
        and delay <= 60,
    )

    # Recovery.
    bench.double.delete("/_double/faults")
    recovery_started = time.perf_counter()
    deadline = time.monotonic() + 200  # > ZOOM_LEASE (2 min), just in case
    rounds = 0
    while time.monotonic() < deadline:
        left = bench.db.sql(
            "SELECT count(*) FROM zoom_meeting_job WHERE event_id = ANY(%s)",
            [event_ids],
        )[0][0]
        if not left:
            break
        # Time passes: the retry backoff is over for the pending ones. READ
        # COMMITTED, and never a row under a lease: a write to a job while a
        # worker talks to Zoom for it makes that worker's transaction fail
        # (serialization). In whole seconds, as Odoo writes times: a fraction
        # kept every next attempt just ahead of the cron's truncated now(), so
        # recovery waited on luck (8 to 98 s, and once more than 200 s).
        pg_exec(
            bench.db_name,
            """UPDATE zoom_meeting_job
                  SET next_attempt = date_trunc('second', now() at time zone 'UTC')
                WHERE event_id = ANY(%s) AND next_attempt IS NOT NULL
                  AND (lease_until IS NULL
                       OR lease_until < now() at time zone 'UTC')""",
            [event_ids],
        )
        cr, env = bench.db.env_cursor()
        with cr:
            env["zoom.meeting.job"]._cron_run()
        rounds += 1
        time.sleep(0.5)
    recovery = time.perf_counter() - recovery_started
    bench.notes.append(
        "outage: recovery simulates time passing: next_attempt of the "
        "pending zoom.meeting.job rows set to now (SQL), then "
        "zoom.meeting.job._cron_run() "
        f"called in-process, {rounds} round(s), {recovery:.1f} s "
        "(the real cron worker runs too)"
    )
    events = bench.events_by_tokens(tokens)
    waiting = bench.db.sql(
        """SELECT next_attempt IS NULL, left(coalesce(last_error, ''), 60), count(*)
             FROM zoom_meeting_job WHERE event_id = ANY(%s) GROUP BY 1, 2""",
        [event_ids],
    )
    if waiting:
        bench.notes.append(
            f"outage: jobs left (no next attempt, error, count): {waiting}"
        )
    states = {}
    for e in events:
        states[(e[1], e[3])] = states.get((e[1], e[3]), 0) + 1
    bench.notes.append(f"outage: after recovery (zoom_status, job work): {states}")
    created = sum(1 for e in events if e[1] == "created" and e[2])
    bench.row(
        "6",
        "recovery: events with their meeting",
        f"{created}/{count}",
        f"{count}",
        created == count,
    )
    # Each event's meeting carries its reference as the agenda's last line.
    event_of_ref = {e[5]: e[0] for e in events if e[5]}
    per_event_201 = dict.fromkeys((e[0] for e in events), 0)
    creates = bench.double.get(
        "/_double/requests", method="POST", path="/v2/users/me/meetings"
    )
    for r in creates:
        event_id = event_of_ref.get(last_line((r.get("json") or {}).get("agenda")))
        if event_id and r.get("status") == 201:
            per_event_201[event_id] += 1
    per_event_meetings = meetings_per_event(bench.double, {e[0]: e[5] for e in events})
    exact_201 = sum(1 for v in per_event_201.values() if v == 1)
    exact_meetings = sum(1 for v in per_event_meetings.values() if v == 1)
    bench.row(
        "6",
        "recovery: exactly 1 create (201) | exactly 1 meeting at the double",
        f"{exact_201}/{count} | {exact_meetings}/{count} "
        f"(creates tried {len(creates)})",
        f"{count} | {count}",
        exact_201 == count and exact_meetings == count,
    )
    bench.row_delivered_once(
        "6",
        "recovery: exactly 1 'Your Zoom link' mail per attendee delivered by SMTP "
        "(2/booking)",
        event_ids,
        "Your Zoom link",
        count,
    )
