"""Section 7: the Zoom app removed for a host with many events."""

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta

import requests

from ..harness import (
    CLIENT_ID,
    WEBHOOK_SECRET,
)


def run(bench):
    """Zoom's app_deauthorized for a host with many events: Zoom expects the
    answer within 3 seconds, and the purge must be complete by then."""
    count = bench.cfg["deauth_events"]

    def join_url(index):
        return f"https://bench.zoom.test/j/{81000000000 + index}?pwd=p{index}"

    cr, env = bench.db.env_cursor(context={"tracking_disable": True})
    with cr:
        host = env["res.users"].browse(bench.host_id)
        connection = host._zoom_connection()
        zoom_user_id, account_id = (
            connection.zoom_user_id,
            connection.zoom_account_id,
        )
        start = datetime(2031, 1, 6, 9)
        events = env["calendar.event"].create(
            [
                {
                    "name": f"Old booking {i}",
                    "start": start + timedelta(hours=i),
                    "stop": start + timedelta(hours=i, minutes=30),
                    "user_id": bench.host_id,
                    "partner_ids": [(6, 0, [bench.host_partner_id])],
                    "zoom_host_id": bench.host_id,
                    "zoom_meeting_id": str(81000000000 + i),
                    "zoom_join_url": join_url(i),
                    "zoom_passcode": f"pc{i:06d}",
                    "zoom_status": "created",
                    "location": join_url(i),
                }
                for i in range(count)
            ]
        )
        env["mail.message"].create(
            [
                {
                    "model": "calendar.event",
                    "res_id": event.id,
                    "message_type": "comment",
                    "body": f"<p>Join {event.zoom_join_url}, "
                    f"ID {event.zoom_meeting_id}</p>",
                }
                for event in events
            ]
        )
    body = json.dumps(
        {
            "event": "app_deauthorized",
            "event_ts": int(time.time() * 1000),
            "payload": {
                "account_id": account_id,
                "user_id": zoom_user_id,
                "signature": "bench",
                "deauthorization_time": time.strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()
                ),
                "client_id": CLIENT_ID,
            },
        }
    )
    timestamp = str(int(time.time()))
    signature = (
        "v0="
        + hmac.new(
            WEBHOOK_SECRET.encode(),
            f"v0:{timestamp}:{body}".encode(),
            hashlib.sha256,
        ).hexdigest()
    )
    started = time.perf_counter()
    response = requests.post(
        f"{bench.base_url}/zoom_booking/webhook",
        data=body.encode(),
        headers={
            "content-type": "application/json",
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": signature,
        },
        timeout=30,
    )
    took = (time.perf_counter() - started) * 1000
    left = bench.db.sql(
        """SELECT (SELECT count(*) FROM calendar_event
                    WHERE zoom_join_url LIKE 'https://bench.zoom.test/%%'
                       OR location LIKE 'https://bench.zoom.test/%%')
                + (SELECT count(*) FROM mail_message
                    WHERE body LIKE '%%bench.zoom.test/j/%%')"""
    )[0][0]
    bench.row(
        "7",
        f"app_deauthorized for a host with {count} events: answer time",
        f"{took:.0f} ms (HTTP {response.status_code})",
        "<= 3000 ms",
        response.status_code == 200 and took <= 3000,
    )
    bench.row(
        "7",
        "Zoom links, IDs, passcodes left for that host after the answer",
        str(left),
        "0",
        left == 0,
    )


# -------------------------------------------------------- run
