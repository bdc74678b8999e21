"""Section 4: guests racing for one slot, and throughput on distinct slots."""

from ..harness import (
    TAKEN_RE,
    book_all_at_once,
    book_concurrently,
    ms,
    pct,
)

THROUGHPUT_GOAL = 15  # bookings/s on this 2-core machine


def run(bench):
    cfg = bench.cfg
    count = cfg["race"]
    guests = bench.new_guests("bench-none", count, "race")
    (slot,) = bench.pool.take()
    results, wall = book_all_at_once(guests, [slot] * count)
    ok = sum(1 for r in results if r and r[0] == 303)
    refused = sum(
        1 for r in results if r and 400 <= r[0] < 500 and TAKEN_RE.search(r[3])
    )
    server_errors = sum(1 for r in results if r and r[0] >= 500)
    other = count - ok - refused - server_errors
    stored = bench.db.sql(
        """SELECT count(*) FROM calendar_event
            WHERE booking_calendar_id = %s AND start = %s AND active""",
        [bench.calendar_ids["bench-none"], slot.replace("T", " ").rstrip("Z")],
    )[0][0]
    statuses = sorted({r[0] for r in results if r})
    bench.row(
        "4",
        f"race {count} guests / 1 slot: 303 | 'just taken' 4xx | 5xx | other",
        f"{ok} | {refused} | {server_errors} | {other} (statuses {statuses}, "
        f"{wall:.1f} s)",
        f"1 | {count - 1} | 0 | 0",
        ok == 1 and refused == count - 1 and server_errors == 0 and other == 0,
    )
    bench.row("4", "race: bookings stored for the slot", stored, "1", stored == 1)
    for r in results:
        if r and r[0] != 303 and not (400 <= r[0] < 500 and TAKEN_RE.search(r[3])):
            bench.notes.append(f"race: HTTP {r[0]}: {r[3][:300]!r}")
            break
    slowest = max((r[1] for r in results if r), default=0)
    bench.notes.append(f"race: slowest answer {ms(slowest)}")

    # Throughput on distinct slots.
    total, clients = cfg["tput_n"], cfg["tput_clients"]
    guests = bench.new_guests("bench-none", total, "tput")
    slots = bench.pool.take(total)
    results, wall = book_concurrently(guests, slots, clients)
    ok = sum(1 for r in results if r[0] == 303)
    times = [r[1] for r in results]
    bench.row(
        "4",
        f"throughput {total} bookings on distinct slots, {clients} clients",
        f"{ok / wall:.2f} bookings/s ({wall:.1f} s, p50 {ms(pct(times, 50))}, "
        f"p95 {ms(pct(times, 95))}, max {ms(max(times))})",
        f">= {THROUGHPUT_GOAL} bookings/s",
        ok / wall >= THROUGHPUT_GOAL,
    )
    bench.row("4", "throughput: answered 303", f"{ok}/{total}", "all", ok == total)
    for r in results:
        if r[0] != 303:
            bench.notes.append(f"throughput: HTTP {r[0]}: {r[3][:300]!r}")
            break


# -------------------------------------------------------- 5. token refresh
