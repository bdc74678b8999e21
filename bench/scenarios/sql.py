"""Section 2: SQL queries per confirmed booking, counted in-process."""

import secrets
import statistics
import time

from ..harness import (
    ms,
)

RATIO_GOAL = 1.2  # queries of a Zoom booking / those of a booking without Zoom


def run(bench):
    """Queries of one confirmed booking, as the controller makes it: the
    public user's sudo calendar, _book_slot, then commit + post-commit."""
    import odoo.sql_db as sql_db

    cfg = bench.cfg
    medians = {}
    bench.double.set_latency(0)
    for label, slug, latency in (
        ("none", "bench-none", 0),
        ("zoom", "bench-zoom", 0),
        ("zoom,300ms", "bench-zoom", 300),
    ):
        bench.double.set_latency(latency)
        samples = []
        for index in range(cfg["sql_warmup"] + cfg["sql_samples"]):
            (start,) = bench.pool.take()
            number = secrets.token_hex(4)
            values = {
                "name": f"Sql Guest {number}",
                "email": f"sql.{number}@example.com",
                "phone": "+1 555 0100",
                "notes": "Benchmark booking",
                "tz": "UTC",
            }
            cr = bench.db.registry.cursor()
            try:
                env = bench.db.api.Environment(cr, bench.db.su, {})
                public = env.ref("base.public_user")
                env = env(user=public.id, su=False)
                calendar = env["booking.calendar"]._get_public_calendar(slug)
                before = sql_db.sql_counter
                t0 = time.perf_counter()
                event = calendar._book_slot(start, values)
                cr.flush()
                t1 = time.perf_counter()
                booked = sql_db.sql_counter
                event_id = event.id
                hooks = len(cr.postcommit._funcs)
                cr.commit()  # COMMIT, then the post-commit hooks
                t2 = time.perf_counter()
                done = sql_db.sql_counter
            finally:
                cr.close()
            if index >= cfg["sql_warmup"]:
                samples.append(
                    (booked - before, done - booked, hooks, t1 - t0, t2 - t1)
                )
        state = bench.db.sql(
            "SELECT zoom_status FROM calendar_event WHERE id = %s", [event_id]
        )[0][0]
        book = sorted(s[0] for s in samples)
        post = sorted(s[1] for s in samples)
        total = sorted(s[0] + s[1] for s in samples)
        spread = "" if total[0] == total[-1] else f" (min {total[0]}, max {total[-1]})"
        bench.notes.append(
            f"in-process booking {label}: _book_slot+flush "
            f"{ms(statistics.median(s[3] for s in samples))}, commit+post-commit "
            f"{ms(statistics.median(s[4] for s in samples))} (medians)"
        )
        if latency:
            continue
        medians[label] = statistics.median_low(total)
        bench.row(
            "2",
            f"SQL queries per booking ({label})",
            f"{statistics.median_low(total)} = _book_slot "
            f"{statistics.median_low(book)} + post-commit "
            f"{statistics.median_low(post)}{spread}",
        )
        if label == "zoom":
            bench.double.set_latency(0)
            bench.notes.append(
                f"SQL zoom: {samples[-1][2]} post-commit hook(s); last booking's "
                f"zoom_status={state}"
            )
    ratio = medians["zoom"] / medians["none"]
    bench.row(
        "2",
        "SQL queries: zoom / none, work after commit included",
        f"{ratio:.2f}",
        f"<= {RATIO_GOAL}",
        ratio <= RATIO_GOAL,
    )


# -------------------------------------------------------- 3. slots
