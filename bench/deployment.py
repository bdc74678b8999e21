#!/usr/bin/env python3
"""A production-like Odoo, checked from outside: a multi-worker server with its
cron thread and its websocket (gevent) worker, the Zoom double and a real SMTP
server on loopback. Run by the test command (tests/test_deployment.py).

    python3 bench/deployment.py [--bookings N]

Checks, over real HTTP and SMTP:
- the websocket worker accepts a connection and a subscription (the web
  client's live bus in multi-worker mode);
- every booking's confirmation reaches the SMTP server, host and guest, within
  a minute of the guest's answer, sent by the cron worker (nothing waits for
  Odoo's hourly mail queue), with the Zoom link in the guest's mail;
- with the Website app installed (as on many production servers, and unlike
  the test database), the public pages take the website's layout, follow the
  guest's browser among the website's languages (Japanese), and the Zoom
  connection's result page renders (no 500).

Prints one JSON line of findings; exit status 0 when all hold, 1 otherwise,
2 on a setup error.
"""

import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as "python3 bench/deployment.py"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
import websocket  # noqa: E402

from bench.harness import (  # noqa: E402
    HTTP_TIMEOUT,
    Guest,
    drill_parser,
    host_session,
    run_drill,
    token_of,
)

JA_CONFIRM = "予約を確定する"  # "Confirm booking"

MAIL_DEADLINE = 60  # seconds: "within a minute" of the booking


def check_websocket(bench):
    """Open the bus's websocket on the gevent port and subscribe."""
    url = f"ws://127.0.0.1:{bench.server.gevent_port}/websocket?version=18.0-5"
    try:
        ws = websocket.create_connection(url, origin=bench.base_url, timeout=10)
    except Exception as exc:  # noqa: BLE001 - reported
        return {"ok": False, "error": repr(exc)[:300]}
    try:
        ws.send(
            json.dumps({"event_name": "subscribe", "data": {"channels": [], "last": 0}})
        )
        # Nothing is sent back to a subscription; the socket must stay open.
        ws.settimeout(1)
        try:
            ws.recv()
        except websocket.WebSocketTimeoutException:
            pass
        return {"ok": ws.connected, "status": ws.status}
    finally:
        ws.close()


def check_mails(bench, count):
    guests = bench.new_guests("bench-zoom", count, "deploy")
    slots = bench.pool.take(count)
    answered = {}
    for guest, slot in zip(guests, slots, strict=True):
        status, _elapsed, location, text = guest.book(slot)
        if status != 303:
            return {"ok": False, "error": f"booking answered {status}: {text[:300]}"}
        answered[token_of(location)] = (time.time(), guest.values["email"])
    events = bench.events_by_tokens(list(answered))
    event_ids = [e[0] for e in events]
    counts, last = bench.delivered_per_event(
        event_ids, "Booking confirmed", timeout=MAIL_DEADLINE + 10
    )
    token_of_event = dict(
        bench.db.sql(
            "SELECT id, booking_access_token FROM calendar_event WHERE id = ANY(%s)",
            [event_ids],
        )
    )
    delays = []
    for event_id in event_ids:
        at, _email = answered[token_of_event[event_id]]
        if event_id in last:
            delays.append(round(last[event_id] - at, 2))
    join_urls = dict(
        bench.db.sql(
            "SELECT id, zoom_join_url FROM calendar_event WHERE id = ANY(%s)",
            [event_ids],
        )
    )
    with_link = 0
    for mail in bench.smtp.mails("Booking confirmed"):
        guest_email = answered[token_of_event[mail.event_id]][1]
        url = join_urls.get(mail.event_id)
        if guest_email in mail.recipients and url and url in mail.html():
            with_link += 1
    queued = bench.db.sql(
        "SELECT count(*) FROM mail_mail WHERE state IN ('outgoing', 'exception')"
    )[0][0]
    ok = (
        all(c == 2 for c in counts.values())
        and len(delays) == count
        and max(delays) <= MAIL_DEADLINE
        and with_link == count
    )
    return {
        "ok": ok,
        "bookings": count,
        "delivered_per_booking": sorted(counts.values()),
        "seconds_to_delivery": delays,
        "guest_mails_with_zoom_link": with_link,
        "mails_left_in_queue": queued,
    }


def check_website_pages(bench):
    """The booking pages inside the website, in the guest's language."""
    found = {}
    page = requests.get(
        f"{bench.base_url}/book/bench-zoom",
        headers={"Accept-Language": "en"},
        timeout=HTTP_TIMEOUT,
    )
    found["page_status"] = page.status_code
    found["page_in_website_layout"] = (
        "o_booking_on_website" in page.text and 'id="top"' in page.text
    )
    # French first (not a website language), then Japanese: Japanese it is.
    page = requests.get(
        f"{bench.base_url}/book/bench-zoom",
        headers={"Accept-Language": "fr-FR,fr;q=0.9,ja;q=0.8,en;q=0.5"},
        timeout=HTTP_TIMEOUT,
    )
    found["page_in_japanese"] = 'lang="ja-JP"' in page.text and JA_CONFIRM in page.text
    guest = Guest(bench.base_url, "bench-zoom", "website")
    (slot,) = bench.pool.take(1)
    status, _elapsed, location, text = guest.book(slot)
    found["booking_status"] = status
    if status == 303:
        mine = guest.session.get(bench.base_url + location, timeout=HTTP_TIMEOUT)
        found["guest_page_status"] = mine.status_code
        found["guest_page_in_website_layout"] = "o_booking_on_website" in mine.text
    # The page Odoo shows when a Zoom connection fails, to a logged-in host.
    result = host_session(bench).get(
        f"{bench.base_url}/zoom_booking/oauth/callback?error=access_denied&state=x",
        timeout=HTTP_TIMEOUT,
    )
    found["oauth_result_status"] = result.status_code
    found["oauth_result_says"] = "Your Zoom account was not connected" in result.text
    found["ok"] = (
        found["page_status"] == 200
        and found["page_in_website_layout"]
        and found["page_in_japanese"]
        and status == 303
        and found.get("guest_page_status") == 200
        and found.get("guest_page_in_website_layout")
        and found["oauth_result_status"] == 400
        and found["oauth_result_says"]
    )
    return found


def main(argv=None):
    parser = drill_parser(__doc__, "zoom_booking_deployment")
    parser.add_argument("--bookings", type=int, default=3)
    args = parser.parse_args(argv)

    def checks(bench):
        return {
            "websocket": check_websocket(bench),
            "mails": check_mails(bench, args.bookings),
            "website": check_website_pages(bench),
        }

    ran = run_drill(args, checks, modules=("website",), japanese=True)
    if ran is None:
        return 2
    _bench, findings, errors = ran
    findings["server_errors"] = errors
    print(json.dumps(findings, sort_keys=True))
    ok = all(f["ok"] for f in findings.values() if isinstance(f, dict))
    return 0 if ok and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
