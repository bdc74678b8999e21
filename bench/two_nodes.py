#!/usr/bin/env python3
"""Two Odoo nodes on one database, as a deployment behind a load balancer
grows: separate processes, multi-worker each, a cron thread on each, guests
spread over both, while the Zoom double fails in every way it can.

    python3 bench/two_nodes.py [--bookings 200] [--clients 8]

Checks, over real HTTP and SMTP:
- every booking is confirmed (303, no 5xx), though the Zoom double answers
  some creates only after the client gave up (the meeting made anyway), some
  with 503, some with 429 and refuses some connections;
- once Zoom answers again, the real cron workers alone (no SQL time shifts,
  no in-process cron call) give every booking exactly one meeting;
- after a full outage (every connection to Zoom refused, 30 s after the last
  booking) during which 50 bookings were confirmed, the real cron workers
  alone make their 50 meetings within 15 seconds of Zoom answering again;
- exactly one confirmation per attendee reaches the SMTP server on loopback;
- a webhook delivered to both nodes at once is handled once.

Prints the figures as a table and one JSON line; exit status 0 when all hold,
1 otherwise, 2 on a setup error.
"""

import hashlib
import hmac
import json
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as "python3 bench/two_nodes.py"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench.harness import (  # noqa: E402
    HTTP_TIMEOUT,
    WEBHOOK_SECRET,
    Guest,
    book_concurrently,
    drill_parser,
    log,
    meetings_per_event,
    run_drill,
    token_of,
)
from bench.stack import OdooServer, free_port  # noqa: E402

RECOVERY_GOAL = 15  # seconds from Zoom answering again to every meeting made
# Each kind of failure hits this many create requests, one kind after another.
FAULTS = (
    {"action": "timeout_after_success", "delay_ms": 5000},
    {"action": "status", "status": 503},
    {"action": "rate_limit"},
    {"action": "drop"},
)


def signed_webhook(event, payload):
    body = json.dumps(
        {"event": event, "event_ts": int(time.time() * 1000), "payload": payload}
    )
    timestamp = str(int(time.time()))
    signature = (
        "v0="
        + hmac.new(
            WEBHOOK_SECRET.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256
        ).hexdigest()
    )
    headers = {
        "content-type": "application/json",
        "x-zm-request-timestamp": timestamp,
        "x-zm-signature": signature,
    }
    return body.encode(), headers


def book_on_both_nodes(bench, node_b, count, clients, per_fault):
    """``count`` Zoom bookings, every other guest on the second node, while the
    double fails the first creates: {figure: value} and the event ids."""
    guests = []
    for index in range(count):
        base_url = bench.base_url if index % 2 == 0 else node_b.url
        guests.append(Guest(base_url, "bench-zoom", "nodes"))
    slots = bench.pool.take(count)
    bench.double.delete("/_double/requests")
    for fault in FAULTS:
        bench.double.post(
            "/_double/faults",
            dict(fault, method="POST", path="/v2/users/me/meetings", times=per_fault),
        )
    results, wall = book_concurrently(guests, slots, clients)
    zoom_back = time.time()  # the faults are used up by now, or cleared here
    bench.double.delete("/_double/faults")
    statuses = {}
    for result in results:
        statuses[result[0]] = statuses.get(result[0], 0) + 1
    tokens = [token_of(r[2]) for r in results if r[0] == 303]
    events = bench.events_by_tokens(tokens)
    return {
        "statuses": statuses,
        "wall": wall,
        "event_ids": [e[0] for e in events],
        "zoom_back": zoom_back,
        "answered": len(tokens),
    }


def wait_for_recovery(bench, event_ids, since, timeout=120):
    """Wait, doing nothing, until no job is left for these events: the real
    cron workers of both nodes do the work. Seconds it took after ``since``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = bench.db.sql(
            "SELECT count(*) FROM zoom_meeting_job WHERE event_id = ANY(%s)",
            [event_ids],
        )[0][0]
        if not left:
            return time.time() - since, 0
        time.sleep(0.2)
    return None, left


def meetings_of(bench, event_ids):
    """({event id: meetings at the double}, how many events say "created")."""
    rows = bench.db.sql(
        "SELECT id, zoom_reference, zoom_status FROM calendar_event WHERE id = ANY(%s)",
        [event_ids],
    )
    counts = meetings_per_event(bench.double, {row[0]: row[1] for row in rows})
    created = sum(1 for _id, _ref, status in rows if status == "created")
    return counts, created


def webhook_to_both_nodes(bench, node_b, event_id):
    """The same signed ``meeting.deleted`` delivered to both nodes at once."""
    meeting_id, zoom_user = bench.db.sql(
        """SELECT e.zoom_meeting_id, c.zoom_user_id FROM calendar_event e
             JOIN zoom_connection c ON c.user_id = e.zoom_host_id
            WHERE e.id = %s""",
        [event_id],
    )[0]
    (meeting,) = [
        m for m in bench.double.get("/_double/meetings") if str(m["id"]) == meeting_id
    ]
    body, headers = signed_webhook(
        "meeting.deleted",
        {
            "account_id": "bench",
            "object": {
                "id": meeting["id"],
                "uuid": meeting["uuid"],
                "host_id": zoom_user,
            },
        },
    )
    answers = [None, None]
    barrier = threading.Barrier(2)

    def deliver(index, url):
        barrier.wait(10)
        answers[index] = requests.post(
            f"{url}/zoom_booking/webhook", data=body, headers=headers, timeout=30
        ).status_code

    threads = [
        threading.Thread(target=deliver, args=(i, url))
        for i, url in enumerate((bench.base_url, node_b.url))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HTTP_TIMEOUT)
    handled = bench.db.sql(
        """SELECT count(*) FROM mail_message
            WHERE model = 'calendar.event' AND res_id = %s
              AND body LIKE '%%deleted in Zoom%%'""",
        [event_id],
    )[0][0]
    status = bench.db.sql(
        "SELECT zoom_status FROM calendar_event WHERE id = %s", [event_id]
    )[0][0]
    return answers, handled, status


def outage_then_recovery(bench, node_b, count, clients, outage_seconds):
    """Zoom refuses every connection while ``count`` guests book and
    ``outage_seconds`` more; then it answers again: seconds until the cron
    workers made every meeting."""
    guests = [
        Guest(bench.base_url if i % 2 == 0 else node_b.url, "bench-zoom", "down")
        for i in range(count)
    ]
    slots = bench.pool.take(count)
    bench.double.post(
        "/_double/faults",
        {"method": "*", "path": None, "action": "drop", "times": None},
    )
    results, _wall = book_concurrently(guests, slots, clients)
    tokens = [token_of(r[2]) for r in results if r[0] == 303]
    event_ids = [e[0] for e in bench.events_by_tokens(tokens)]
    pending = bench.db.sql(
        "SELECT count(*) FROM zoom_meeting_job WHERE event_id = ANY(%s)",
        [event_ids],
    )[0][0]
    # Down longer: the jobs wait on their backoff, the cron has stayed for
    # the probes through more than one run of ten batches.
    time.sleep(outage_seconds)
    bench.double.delete("/_double/faults")
    back = time.time()
    recovery, left = wait_for_recovery(bench, event_ids, back, timeout=180)
    counts, created = meetings_of(bench, event_ids)
    exact = sum(1 for c in counts.values() if c == 1)
    return len(tokens), pending, recovery, left, created, exact


def drill(bench, node_b, args):
    per_fault = max(1, args.bookings // 20)
    booked = book_on_both_nodes(bench, node_b, args.bookings, args.clients, per_fault)
    count, event_ids = args.bookings, booked["event_ids"]
    bench.row(
        "N",
        f"{count} Zoom bookings on 2 nodes ({args.clients} clients): answers",
        f"{booked['statuses']} in {booked['wall']:.1f} s",
        f"{{303: {count}}}",
        booked["statuses"] == {303: count},
    )
    bench.notes.append(
        f"nodes: the double failed {per_fault} creates in each way: "
        "answered after the client's timeout (meeting made), 503, 429, "
        "connection dropped"
    )
    recovery, left = wait_for_recovery(bench, event_ids, booked["zoom_back"])
    bench.row(
        "N",
        "recovery with the real cron workers only: the faults over to "
        "every meeting made",
        f"{recovery:.1f} s" if recovery is not None else f"{left} jobs left",
        f"<= {RECOVERY_GOAL} s",
        recovery is not None and recovery <= RECOVERY_GOAL,
    )
    counts, created = meetings_of(bench, event_ids)
    exact = sum(1 for c in counts.values() if c == 1)
    bench.row(
        "N",
        "events with their meeting | exactly 1 meeting at the double",
        f"{created}/{count} | {exact}/{count}",
        f"{count} | {count}",
        created == count and exact == count,
    )
    once = bench.row_delivered_once(
        "N",
        "'Booking confirmed' delivered by SMTP exactly once per attendee (2/booking)",
        event_ids,
        "Booking confirmed",
        count,
    )
    down = args.outage_bookings
    answered, pending, down_recovery, down_left, down_created, down_exact = (
        outage_then_recovery(bench, node_b, down, args.clients, args.outage_seconds)
    )
    bench.row(
        "N",
        f"full outage: {down} bookings answered 303 | left pending",
        f"{answered}/{down} | {pending}/{down}",
        f"{down} | {down}",
        answered == down and pending == down,
    )
    bench.row(
        "N",
        f"recovery after the outage, real cron workers only: Zoom answering again "
        f"to the {down} meetings made",
        f"{down_recovery:.1f} s" if down_recovery is not None else f"{down_left} left",
        f"<= {RECOVERY_GOAL} s",
        down_recovery is not None and down_recovery <= RECOVERY_GOAL,
    )
    bench.row(
        "N",
        "after the outage: events with their meeting | exactly 1 meeting each",
        f"{down_created}/{down} | {down_exact}/{down}",
        f"{down} | {down}",
        down_created == down and down_exact == down,
    )
    answers, handled, status = webhook_to_both_nodes(bench, node_b, event_ids[0])
    bench.row(
        "N",
        "one webhook delivered to both nodes at once: answers | handled",
        f"{answers} | {handled} note, meeting {status}",
        "[200, 200] | 1",
        answers == [200, 200] and handled == 1 and status == "cleared",
    )
    return {
        "statuses": booked["statuses"],
        "recovery_seconds": recovery,
        "outage_recovery_seconds": down_recovery,
        "meetings_exactly_one": exact,
        "confirmations_exactly_once": once,
        "webhook": {"answers": answers, "handled": handled},
    }


def main(argv=None):
    parser = drill_parser(__doc__, "zoom_booking_two_nodes")
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--outage-bookings", type=int, default=50)
    parser.add_argument(
        "--outage-seconds",
        type=float,
        default=30,
        help="how long Zoom stays down after the last of those bookings",
    )
    args = parser.parse_args(argv)

    def on_two_nodes(bench):
        node_b = OdooServer(
            bench.conf,
            bench.db_name,
            free_port(),
            free_port(),
            args.workers,
            bench.tmp / "odoo_b.log",
        )
        log(f"starting the second node with {args.workers} workers on {node_b.url}")
        try:
            node_b.start()
            return drill(bench, node_b, args)
        finally:
            if node_b.proc:
                node_b.stop()

    ran = run_drill(args, on_two_nodes, logs=("odoo.log", "odoo_b.log"))
    if ran is None:
        return 2
    bench, findings, errors = ran
    bench.print_table()
    findings["server_errors"] = errors
    print(json.dumps(findings, sort_keys=True))
    return 0 if not bench.failures and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
