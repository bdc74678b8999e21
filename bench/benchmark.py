#!/usr/bin/env python3
"""End-to-end benchmark of zoom_booking: one command, one table.

    python3 bench/benchmark.py [--quick] [--keep] [--workers N]

Creates a fresh database (``zoom_booking_bench``), installs zoom_booking, starts
the project's Zoom double (zoom_booking/tests/zoom_double) as a process,
connects a host's Zoom account through the real OAuth flow over HTTP, starts
Odoo in multi-worker mode and measures over real HTTP on 127.0.0.1 only. See
bench/README.md.

Exit status: 0 when every goal is met, 1 when a goal fails, 2 on a setup error.
"""

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as "python3 bench/benchmark.py"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Benchmark, SetupError, log  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database and the logs"
    )
    parser.add_argument("--workers", type=int, default=4, help="Odoo workers (>= 2)")
    parser.add_argument("--db", default="zoom_booking_bench", help=argparse.SUPPRESS)
    parser.add_argument(
        "--sections", help="only these sections, e.g. 15 (default: all, 123456)"
    )
    parser.add_argument(
        "--odoo-log-level",
        default="warn",
        help="the server's log level (info: one line per request with its "
        "query count, SQL time and other time)",
    )
    args = parser.parse_args(argv)
    if args.workers < 2:
        parser.error("--workers must be 2 or more (multi-worker mode)")
    bench = Benchmark(args)
    started = time.monotonic()
    try:
        bench.setup()
        bench.run()
    except SetupError as exc:
        log(f"setup failed: {exc}")
        bench.failures.append(str(exc))
        bench.cleanup()
        return 2
    except KeyboardInterrupt:
        bench.failures.append("interrupted")
        bench.cleanup()
        return 130
    except Exception:
        # No server left running on the benchmark's database.
        bench.cleanup()
        raise
    bench.cleanup()
    bench.print_table()
    print(f"total time {time.monotonic() - started:.0f} s")
    if bench.failures:
        print("FAILED goals:")
        for failure in bench.failures:
            print(f"  - {failure}")
        return 1
    print("all goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
