"""Run the Zoom double as a process.

    python3 zoom_booking/tests/zoom_double --port 0
        --client-id ID --client-secret SECRET

Prints ``ZOOM_DOUBLE_URL=http://<host>:<port>`` once listening, then serves
until SIGTERM or SIGINT.
"""

import argparse
import signal
import sys
import threading
from pathlib import Path

if __package__ in (None, ""):  # run as "python3 zoom_booking/tests/zoom_double"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from zoom_double.state import ZoomDouble
else:  # run as "python3 -m zoom_double"
    from .state import ZoomDouble


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="zoom_double", description="Local fake of Zoom's OAuth + Meetings API"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--webhook-secret", default=None)
    parser.add_argument("--token-expires-in", type=int, default=3600)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args(argv)

    stop = threading.Event()

    def _on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    double = ZoomDouble(
        client_id=args.client_id,
        client_secret=args.client_secret,
        webhook_secret=args.webhook_secret,
        host=args.host,
        port=args.port,
        token_expires_in=args.token_expires_in,
        latency_ms=args.latency_ms,
    )
    double.start()
    sys.stdout.write(f"ZOOM_DOUBLE_URL={double.url}\n")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
