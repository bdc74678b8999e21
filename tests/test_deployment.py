"""A production-like server, from outside (bench/deployment.py in a process of
its own: its own database, a multi-worker Odoo with its cron thread and
websocket worker, the Zoom double, a real SMTP server on loopback)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def findings():
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "deployment.py"), "--bookings", "3"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=str(ROOT),
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no findings (exit {run.returncode}):\n{run.stdout[-3000:]}"
    return json.loads(lines[-1])


def test_the_websocket_worker_serves_the_live_bus(findings):
    """Multi-worker mode: Odoo's gevent worker accepts the bus's websocket."""
    assert findings["websocket"]["ok"], findings["websocket"]


def test_every_confirmation_is_delivered_within_a_minute(findings):
    """Delivered to the SMTP server, host and guest, by the cron worker."""
    mails = findings["mails"]
    assert mails["ok"], mails
    assert mails["delivered_per_booking"] == [2, 2, 2]
    assert max(mails["seconds_to_delivery"]) <= 60
    assert mails["guest_mails_with_zoom_link"] == 3
    assert mails["mails_left_in_queue"] == 0


def test_the_server_logged_no_error(findings):
    assert findings["server_errors"] == []


def test_with_the_website_app_the_pages_take_the_websites_layout(findings):
    """Booking page and the guest's page in the website's layout, Japanese from
    the browser among the website's languages, the OAuth result page a 400."""
    assert findings["website"]["ok"], findings["website"]
