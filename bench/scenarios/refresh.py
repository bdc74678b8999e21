"""Section 5: concurrent bookings needing an expired token: one refresh."""

from ..harness import (
    book_all_at_once,
    token_of,
)


def run(bench):
    count = bench.cfg["refresh_n"]
    bench.double.set_latency(300)
    guests = bench.new_guests("bench-zoom", count, "refresh")
    slots = bench.pool.take(count)
    meetings_before = len(bench.double.get("/_double/meetings"))
    bench.double.delete("/_double/requests")
    bench.db.sql(
        """UPDATE zoom_connection
              SET token_expires_at = (now() at time zone 'UTC') - interval '1 hour'
            WHERE user_id = %s""",
        [bench.host_id],
        fetch=False,
    )
    results, wall = book_all_at_once(guests, slots)
    bench.double.set_latency(0)
    ok = sum(1 for r in results if r and r[0] == 303)
    token_calls = bench.double.get(
        "/_double/requests", method="POST", path="/oauth/token"
    )
    refreshes = sum(
        1
        for r in token_calls
        if (r.get("form") or {}).get("grant_type") == "refresh_token"
    )
    creates = [
        r
        for r in bench.double.get(
            "/_double/requests", method="POST", path="/v2/users/me/meetings"
        )
        if r.get("status") == 201
    ]
    meetings_after = len(bench.double.get("/_double/meetings"))
    tokens = [token_of(r[2]) for r in results if r and r[0] == 303]
    events = bench.events_by_tokens(tokens)
    created = sum(1 for e in events if e[1] == "created")
    bench.row(
        "5",
        f"expired token, {count} concurrent Zoom bookings: successes (303)",
        f"{ok}/{count} ({wall:.1f} s)",
        f"{count}",
        ok == count,
    )
    bench.row("5", "refresh_token grants at the double", refreshes, "1", refreshes == 1)
    bench.row(
        "5",
        "meetings created (201 at the double | new meetings | events created)",
        f"{len(creates)} | {meetings_after - meetings_before} | {created}",
        f"{count} | {count} | {count}",
        len(creates) == count
        and meetings_after - meetings_before == count
        and created == count,
    )
    for r in results:
        if r and r[0] != 303:
            bench.notes.append(f"refresh: HTTP {r[0]}: {r[3][:300]!r}")
            break
    pending = [e for e in events if e[1] != "created"]
    if pending:
        bench.notes.append(f"refresh: events not created: {pending[:3]}")


# -------------------------------------------------------- 6. outage drill
