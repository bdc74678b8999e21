#!/usr/bin/env python3
"""A bounded soak: mixed guest traffic (book, reschedule, cancel), a host
reading their bookings, and Zoom faults, for a fixed time on a multi-worker
Odoo; then nothing may be lost or doubled, and the workers' memory must stay
flat.

    python3 bench/soak.py [--minutes 10] [--clients 4]

Checks, once the traffic stops and Zoom has answered again:
- no answer was a 5xx; every booking, move and cancel was answered, and
  none refused: a slot freed by a move or a cancel goes back to the pool
  and is booked again;
- every booking still confirmed has exactly one meeting at the double, at
  its current time; every cancelled one has none;
- each Odoo worker's memory (RSS) grew less than 10% from the first minute
  after warm-up to the last.

Prints the figures as a table and one JSON line; exit status 0 when all hold,
1 otherwise, 2 on a setup error.
"""

import json
import random
import re
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as "python3 bench/soak.py"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from bench.harness import (  # noqa: E402
    HTTP_TIMEOUT,
    Guest,
    SetupError,
    drill_parser,
    host_session,
    log,
    meetings_by_reference,
    run_drill,
    token_of,
)

WARM_UP = 60  # seconds before the first memory reading counts
GROWTH_GOAL = 0.10
FAULT_EVERY = 30  # seconds between two bursts of Zoom faults
FAULT_BURST = (
    {"action": "status", "status": 503, "times": 3},
    {"action": "drop", "times": 3},
    {"action": "timeout_after_success", "delay_ms": 5000, "times": 2},
    {"action": "rate_limit", "times": 2},
)


class Soak:
    def __init__(self, bench, seconds, clients):
        self.bench, self.seconds, self.clients = bench, seconds, clients
        self.lock = threading.Lock()
        # (guest, token, slot), confirmed as far as the guest knows
        self.bookings = []
        self.cancelled = []
        self.counts = {"book": 0, "move": 0, "cancel": 0, "host": 0}
        self.refused = {"book": 0, "move": 0, "cancel": 0}  # answered, not done
        self.statuses = {}
        self.stop = threading.Event()
        self.rss = {}  # pid: [(t, kB)]

    # ------------------------------------------------------------ traffic
    def record(self, kind, status):
        with self.lock:
            self.counts[kind] += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if kind in self.refused and status != 303:
                self.refused[kind] += 1

    def book(self):
        guest = Guest(self.bench.base_url, "bench-zoom", "soak")
        (slot,) = self.bench.pool.take(1)
        status, _elapsed, location, _text = guest.book(slot)
        self.record("book", status)
        if status == 303:
            with self.lock:
                self.bookings.append((guest, token_of(location), slot))
        else:
            self.bench.pool.give_back(slot)

    def pick(self):
        with self.lock:
            if not self.bookings:
                return None
            return self.bookings.pop(random.randrange(len(self.bookings)))

    def move(self):
        picked = self.pick()
        if not picked:
            return self.book()
        guest, token, old = picked
        (slot,) = self.bench.pool.take(1)
        response = guest.post_form(
            f"/book/booking/{token}/reschedule", {"start": slot, "tz": "UTC"}
        )
        self.record("move", response.status_code)
        moved = response.status_code == 303
        # The slot left is bookable again: the soak books it later.
        self.bench.pool.give_back(old if moved else slot)
        with self.lock:
            self.bookings.append((guest, token, slot if moved else old))

    def cancel(self):
        picked = self.pick()
        if not picked:
            return self.book()
        guest, token, slot = picked
        page = f"/book/booking/{token}"
        response = guest.post_form(page, {"reason": "Soak"}, post_path=page + "/cancel")
        self.record("cancel", response.status_code)
        if response.status_code == 303:
            self.bench.pool.give_back(slot)
        with self.lock:
            (self.cancelled if response.status_code == 303 else self.bookings).append(
                (guest, token, slot)
            )

    def host_reads(self, host):
        response = host.post(
            f"{self.bench.base_url}/web/dataset/call_kw",
            json={
                "params": {
                    "model": "calendar.event",
                    "method": "search_read",
                    "args": [[["booking_calendar_id", "!=", False]]],
                    "kwargs": {"fields": ["name", "start", "zoom_status"], "limit": 80},
                }
            },
            timeout=HTTP_TIMEOUT,
        )
        self.record("host", response.status_code)

    def client(self, seed):
        rng = random.Random(seed)
        try:
            host = host_session(self.bench)
        except (SetupError, requests.RequestException) as exc:
            self.record("host", f"no login: {exc}"[:80])
            return
        while not self.stop.is_set():
            roll = rng.random()
            try:
                if roll < 0.6:
                    self.book()
                elif roll < 0.8:
                    self.move()
                elif roll < 0.93:
                    self.cancel()
                else:
                    self.host_reads(host)
            except requests.RequestException as exc:
                self.record("book", f"no answer: {type(exc).__name__}")
            except SetupError:  # out of free slots: this client is done
                log("soak: a client ran out of free slots")
                return
            # A guest's pace, not a load test: the soak is about time.
            time.sleep(rng.uniform(0.2, 0.8))

    def faults(self):
        while not self.stop.wait(FAULT_EVERY):
            for fault in FAULT_BURST:
                for method in ("POST", "PATCH", "DELETE"):
                    path = (
                        "/v2/users/me/meetings"
                        if method == "POST"
                        else "^/v2/meetings/"
                    )
                    self.bench.double.post(
                        "/_double/faults", dict(fault, method=method, path=path)
                    )

    # ------------------------------------------------------------ memory
    def worker_pids(self):
        parent = self.bench.server.proc.pid
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                pids.append(int(stat.parent.name))
        return pids

    def sample_memory(self, started):
        while not self.stop.wait(5):
            now = time.monotonic() - started
            for pid in self.worker_pids():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                match = re.search(r"VmRSS:\s+(\d+) kB", status)
                if match:
                    self.rss.setdefault(pid, []).append((now, int(match.group(1))))

    def memory_growth(self):
        """{pid: growth} from the first minute after warm-up to the last."""
        growth = {}
        for pid, samples in self.rss.items():
            first = [kb for t, kb in samples if WARM_UP <= t < WARM_UP + 60]
            last = [kb for t, kb in samples if t >= self.seconds - 60]
            if first and last:
                growth[pid] = (
                    (sorted(last)[len(last) // 2]) / (sorted(first)[len(first) // 2])
                    - 1
                )
        return growth

    # ------------------------------------------------------------ run
    def run(self):
        started = time.monotonic()
        threads = [
            threading.Thread(target=self.client, args=(i,)) for i in range(self.clients)
        ]
        threads.append(threading.Thread(target=self.faults))
        threads.append(threading.Thread(target=self.sample_memory, args=(started,)))
        for thread in threads:
            thread.start()
        while time.monotonic() - started < self.seconds:
            time.sleep(1)
        self.stop.set()
        for thread in threads:
            thread.join(HTTP_TIMEOUT + 30)
        self.bench.double.delete("/_double/faults")


def settle(bench, timeout=180):
    """Wait until no Zoom job is left (the real cron workers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not bench.db.sql("SELECT count(*) FROM zoom_meeting_job")[0][0]:
            return True
        time.sleep(1)
    return False


def check(bench, soak):
    rows = bench.db.sql(
        """SELECT booking_access_token, booking_state, zoom_reference, start,
                  zoom_status
             FROM calendar_event
            WHERE booking_calendar_id IS NOT NULL
              AND booking_access_token = ANY(%s)""",
        [[t for _g, t, _s in soak.bookings + soak.cancelled]],
    )
    by_ref = meetings_by_reference(bench.double)
    confirmed = [r for r in rows if r[1] == "confirmed"]
    cancelled = [r for r in rows if r[1] == "cancelled"]
    right = sum(
        1
        for _t, _s, ref, start, status in confirmed
        if status == "created"
        and len(by_ref.get(ref, [])) == 1
        and by_ref[ref][0]["start_time"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    leftover = sum(1 for _t, _s, ref, _st, _z in cancelled if by_ref.get(ref))
    return {
        "known": len(soak.bookings) + len(soak.cancelled),
        "found": len(rows),
        "confirmed": len(confirmed),
        "confirmed_with_one_meeting_at_its_time": right,
        "cancelled": len(cancelled),
        "cancelled_with_a_meeting_left": leftover,
    }


def main(argv=None):
    parser = drill_parser(__doc__, "zoom_booking_soak")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)

    def soaked(bench):
        soak = Soak(bench, args.minutes * 60, args.clients)
        log(f"soaking for {args.minutes:g} minutes with {args.clients} clients")
        soak.run()
        settled = settle(bench)
        return soak, settled, check(bench, soak), soak.memory_growth()

    ran = run_drill(args, soaked)
    if ran is None:
        return 2
    bench, (soak, settled, found, growth), errors = ran
    server_errors = sum(
        n for s, n in soak.statuses.items() if isinstance(s, int) and s >= 500
    )
    unanswered = sum(n for s, n in soak.statuses.items() if not isinstance(s, int))
    bench.row("S", "actions (book, move, cancel, host reads)", soak.counts)
    bench.row("S", "answers by status", soak.statuses)
    bench.row(
        "S",
        "5xx | no answer",
        f"{server_errors} | {unanswered}",
        "0 | 0",
        server_errors == 0 and unanswered == 0,
    )
    bench.row(
        "S",
        "refused though free (book, move, cancel): slots freed by moves and "
        "cancels are booked again",
        soak.refused,
        "all 0",
        not any(soak.refused.values()),
    )
    bench.row("S", "Zoom work settled after the soak", settled, "True", settled)
    bench.row(
        "S",
        "bookings the guests hold, found in Odoo",
        f"{found['found']}/{found['known']}",
        f"{found['known']}",
        found["found"] == found["known"],
    )
    bench.row(
        "S",
        "confirmed: exactly 1 meeting at the double, at its time",
        f"{found['confirmed_with_one_meeting_at_its_time']}/{found['confirmed']}",
        f"{found['confirmed']}",
        found["confirmed_with_one_meeting_at_its_time"] == found["confirmed"],
    )
    bench.row(
        "S",
        "cancelled with a meeting left at the double",
        f"{found['cancelled_with_a_meeting_left']}/{found['cancelled']}",
        "0",
        found["cancelled_with_a_meeting_left"] == 0,
    )
    worst = max(growth.values(), default=None)
    bench.row(
        "S",
        f"workers' RSS growth, first minute after {WARM_UP} s warm-up to last",
        ", ".join(f"{g:+.1%}" for g in growth.values()) or "no samples",
        f"< {GROWTH_GOAL:.0%} each",
        worst is not None and worst < GROWTH_GOAL,
    )
    bench.print_table()
    print(
        json.dumps(
            {
                "counts": soak.counts,
                "refused": soak.refused,
                "statuses": {str(k): v for k, v in soak.statuses.items()},
                "found": found,
                "rss_growth": growth,
                "server_errors": errors,
            },
            sort_keys=True,
        )
    )
    return 0 if not bench.failures and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
