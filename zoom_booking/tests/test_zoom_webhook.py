import json
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tests.common import BaseCase
from odoo.tools import mute_logger

from ..tools import zoom_webhook
from .common import WEBHOOK_SECRET, ZoomBookingCase

WEBHOOK_PATH = "/zoom_booking/webhook"
VECTORS = Path("shared") / "zoom-webhook-vectors.json"
HANDLER_LOGGER = "odoo.addons.zoom_booking.models.zoom_webhook_event"


def find_vectors():
    """The project's shared Zoom test vectors (``../shared`` from the repo root)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / VECTORS).is_file():
            return parent / VECTORS
    return None


@tagged("post_install", "-at_install")
class TestZoomWebhookSignature(BaseCase):
    """tools/zoom_webhook.py against Zoom's documented scheme, without Odoo."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        path = find_vectors()
        if path is None:
            raise FileNotFoundError(
                f"{VECTORS} not found above {Path(__file__).parent}: the shared "
                "folder must sit beside the repository root."
            )
        cls.vectors = json.loads(path.read_text())

    def all_vectors(self):
        return self.vectors["webhooks"] + [self.vectors["url_validation"]]

    def test_vectors_reproduced(self):
        self.assertTrue(self.vectors["webhooks"])
        for vector in self.all_vectors():
            secret = vector["secret_token"]
            ts = vector["x-zm-request-timestamp"]
            body = vector["raw_body"].encode()
            signature = vector["x-zm-signature"]
            with self.subTest(body=vector["raw_body"][:40]):
                self.assertEqual(zoom_webhook.sign(secret, ts, body), signature)
                self.assertEqual(
                    zoom_webhook.sign(secret, ts, vector["raw_body"]), signature
                )
                for now in (int(ts), int(ts) + 300, int(ts) - 300):
                    self.assertTrue(
                        zoom_webhook.verify(secret, ts, body, signature, now=now)
                    )

    def test_vectors_refused_when_altered(self):
        for vector in self.all_vectors():
            secret = vector["secret_token"]
            ts = vector["x-zm-request-timestamp"]
            body = vector["raw_body"].encode()
            signature = vector["x-zm-signature"]
            now = int(ts)
            refused = [
                (secret, ts, body, signature, now + 301),  # stale
                (secret, ts, body, signature, now - 301),  # from the future
                (secret, ts, body, signature, None),  # stale today
                ("other-secret", ts, body, signature, now),
                (secret, ts, body + b" ", signature, now),
                (secret, str(now + 1), body, signature, now),
                (secret, ts, body, signature[3:], now),
                (secret, ts, body, signature.upper(), now),
                (secret, ts, body, signature[:-1] + "é", now),
                (secret, ts, body, "", now),
                (secret, "", body, signature, now),
                (secret, "abc", body, signature, now),
                (secret, f"{ts}.0", body, signature, now),
                ("", ts, body, signature, now),
                (None, ts, body, signature, now),
            ]
            for args in refused:
                with self.subTest(args=args[:2] + args[3:]):
                    self.assertFalse(zoom_webhook.verify(*args[:4], now=args[4]))

    def test_url_validation_vector(self):
        vector = self.vectors["url_validation"]
        plain_token = json.loads(vector["raw_body"])["payload"]["plainToken"]
        self.assertEqual(
            zoom_webhook.url_validation_response(vector["secret_token"], plain_token),
            vector["expected_response"],
        )


class ZoomWebhookCase(ZoomBookingCase):
    """The webhook route over real HTTP, signed as Zoom (or its double) signs."""

    def setUp(self):
        super().setUp()
        self.webhook_url = self.base_url() + WEBHOOK_PATH
        self.Event = self.env["zoom.webhook.event"].sudo()

    # ----------------------------------------------------------- helpers
    def post(self, body, timestamp=None, secret=WEBHOOK_SECRET, headers=None):
        """POST ``body`` (bytes, or a dict sent as Zoom's compact JSON) signed
        like Zoom at ``timestamp`` (now by default), unless ``headers`` given."""
        if not isinstance(body, bytes):
            body = json.dumps(body, separators=(",", ":")).encode()
        if headers is None:
            ts = str(int(time.time()) if timestamp is None else timestamp)
            headers = {
                "x-zm-request-timestamp": ts,
                "x-zm-signature": zoom_webhook.sign(secret, ts, body),
            }
        headers = dict(headers, **{"Content-Type": "application/json"})
        # Not url_open: it turns an empty body into a GET.
        response = self.opener.post(
            self.webhook_url, data=body, headers=headers, timeout=12
        )
        self.env.invalidate_all()
        return response

    def stored_connection(self, user, zoom_user_id="zoom-user-1", account="acc-1"):
        """A connection stored directly, for tests not about the OAuth flow."""
        return (
            self.env["zoom.connection"]
            .sudo()
            .create(
                {
                    "user_id": user.id,
                    "zoom_user_id": zoom_user_id,
                    "zoom_account_id": account,
                    "zoom_email": user.email,
                    "access_token": "access-token-1",
                    "refresh_token": "refresh-token-1",
                    "connected_on": fields.Datetime.now(),
                }
            )
        )

    def deauthorization(self, zoom_user_id, account_id, event_ts=None):
        return {
            "event": "app_deauthorized",
            "event_ts": event_ts or int(time.time() * 1000),
            "payload": {
                "account_id": account_id,
                "user_id": zoom_user_id,
                "signature": "legacy-compliance-signature-0123456789",
                "deauthorization_time": time.strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()
                ),
                "client_id": "zoom-booking-test-client",
            },
        }

    def assertRefused(self, response, status=401):
        self.assertEqual(response.status_code, status, response.text[:500])
        self.assertNotIn("Traceback", response.text)


@tagged("post_install", "-at_install")
class TestZoomWebhook(ZoomWebhookCase):
    # ------------------------------------------------ authentication
    def test_url_validation(self):
        from .zoom_double import url_validation_response

        response = self.zoom.send_webhook(
            self.webhook_url, "endpoint.url_validation", {"plainToken": "plain-42"}
        )
        self.assertEqual(response.status_code, 200, response.text[:500])
        self.assertEqual(
            response.json(), url_validation_response(WEBHOOK_SECRET, "plain-42")
        )
        self.assertFalse(self.Event.search_count([]))

    def test_url_validation_must_be_signed(self):
        response = self.zoom.send_webhook(
            self.webhook_url,
            "endpoint.url_validation",
            {"plainToken": "plain-42"},
            secret="not-our-secret",
        )
        self.assertRefused(response)
        self.assertNotIn("encryptedToken", response.text)

    def test_bad_signature_changes_nothing(self):
        connection = self.stored_connection(self.host)
        body = self.deauthorization(connection.zoom_user_id, connection.zoom_account_id)
        response = self.zoom.send_webhook(
            self.webhook_url,
            "app_deauthorized",
            body["payload"],
            secret="not-our-secret",
        )
        self.assertRefused(response)
        self.env.invalidate_all()
        self.assertTrue(connection.exists())
        self.assertFalse(self.Event.search_count([]))

    def test_missing_headers(self):
        body = self.deauthorization("u1", "a1")
        raw = json.dumps(body).encode()
        ts = str(int(time.time()))
        signature = zoom_webhook.sign(WEBHOOK_SECRET, ts, raw)
        for headers in (
            {},
            {"x-zm-request-timestamp": ts},
            {"x-zm-signature": signature},
            {"x-zm-request-timestamp": "", "x-zm-signature": signature},
        ):
            with self.subTest(headers=list(headers)):
                self.assertRefused(self.post(raw, headers=headers))
        # The same request with both headers is accepted.
        self.assertEqual(self.post(raw, timestamp=ts).status_code, 200)

    def test_stale_or_future_timestamp(self):
        now = int(time.time())
        # Past Zoom's retry window, or ahead of any clock skew.
        for ts in (now - 3 * 3600, now + 400):
            with self.subTest(ts=ts - now):
                response = self.zoom.send_webhook(
                    self.webhook_url, "meeting.deleted", {"object": {"id": 1}}, ts
                )
                self.assertRefused(response)
        # A captured delivery replayed later: its signature is still valid.
        vector = json.loads(find_vectors().read_text())["webhooks"][0]
        response = self.post(
            vector["raw_body"].encode(),
            headers={
                key: vector[key] for key in ("x-zm-request-timestamp", "x-zm-signature")
            },
        )
        self.assertRefused(response)
        self.assertFalse(self.Event.search_count([]))

    def test_no_secret_configured(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "zoom_booking.webhook_secret_token", False
        )
        response = self.zoom.send_webhook(
            self.webhook_url, "endpoint.url_validation", {"plainToken": "plain-42"}
        )
        self.assertRefused(response)
        response = self.post(b"{}", secret="")
        self.assertRefused(response)

    # ---------------------------------------------------- malformed
    def test_malformed_body(self):
        for raw in (
            b"{not json",
            b"\xff\xfe\x00",
            b"",
            b"[1, 2]",
            b'"app_deauthorized"',
            b'{"payload": {}}',
            b'{"event": "", "payload": {}}',
            b'{"event": 12, "payload": {}}',
            b'{"event": "app_deauthorized", "payload": []}',
            b'{"event": "endpoint.url_validation", "payload": {}}',
            b"[" * 100000,
        ):
            with self.subTest(raw=raw[:40]):
                response = self.post(raw)
                self.assertRefused(response, 400)
                self.assertEqual(response.json(), {"status": "malformed"})
        self.assertFalse(self.Event.search_count([]))

    def test_unknown_event_ignored(self):
        response = self.zoom.send_webhook(
            self.webhook_url,
            "recording.completed",
            {"account_id": "acc", "object": {"id": 99, "share_url": "https://x/y"}},
        )
        self.assertEqual(response.status_code, 200, response.text[:500])
        self.assertEqual(response.json(), {"status": "ignored"})
        event = self.Event.search([])
        self.assertEqual(len(event), 1)
        self.assertEqual(event.event, "recording.completed")
        self.assertEqual(event.state, "ignored")

    # ---------------------------------------------- app_deauthorized
    def test_app_deauthorized(self):
        connection = self.connect_zoom(self.host)
        zoom_user_id = connection.zoom_user_id
        other = self.connect_zoom(self.other_host)
        result = self.zoom.deauthorize(self.host.email, webhook_url=self.webhook_url)
        self.assertEqual(result, {"status": 200, "body": {"status": "ok"}})
        self.env.invalidate_all()
        self.assertFalse(connection.exists())
        self.assertEqual(other.exists().state, "connected")
        event = self.Event.search([])
        self.assertEqual(event.event, "app_deauthorized")
        self.assertEqual(event.state, "processed")
        self.assertEqual(event.zoom_user_id, zoom_user_id)
        self.assertEqual(event.result, "1 connection(s) removed")

    def test_app_deauthorized_keeps_no_secret(self):
        connection = self.stored_connection(self.host)
        body = self.deauthorization(connection.zoom_user_id, connection.zoom_account_id)
        self.assertEqual(self.post(body).status_code, 200)
        values = self.Event.search([]).read()[0]
        stored = json.dumps(values, default=str)
        self.assertNotIn(body["payload"]["signature"], stored)
        self.assertNotIn(WEBHOOK_SECRET, stored)

    def test_app_deauthorized_twice(self):
        """Zoom's retry of a deauthorization changes nothing, even when the user
        connected again in between."""
        connection = self.connect_zoom(self.host)
        zoom_user_id = connection.zoom_user_id
        body = self.deauthorization(zoom_user_id, connection.zoom_account_id)
        now = int(time.time())
        response = self.post(body, timestamp=now)
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertFalse(connection.exists())

        reconnected = self.connect_zoom(self.host)
        self.assertEqual(reconnected.zoom_user_id, zoom_user_id)
        response = self.post(body, timestamp=now + 5)
        self.assertEqual(response.status_code, 200, response.text[:500])
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertEqual(reconnected.exists().state, "connected")
        self.assertEqual(self.Event.search_count([]), 1)

    def test_app_deauthorized_unknown_user(self):
        connection = self.stored_connection(self.host)
        response = self.post(self.deauthorization("unknown-zoom-user", "acc"))
        self.assertEqual(response.status_code, 200, response.text[:500])
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertTrue(connection.exists())
        event = self.Event.search([])
        self.assertEqual(event.state, "processed")
        self.assertEqual(event.result, "No connection for this Zoom user")

    def test_app_deauthorized_other_account(self):
        connection = self.stored_connection(self.host)
        body = self.deauthorization(connection.zoom_user_id, "another-account")
        self.assertEqual(self.post(body).status_code, 200)
        self.assertTrue(connection.exists())

    def test_handler_failure_is_rolled_back(self):
        """A failing handler leaves nothing half done; Zoom still gets a 200."""
        connection = self.stored_connection(self.host)
        body = self.deauthorization(connection.zoom_user_id, connection.zoom_account_id)
        real_disconnect = type(connection)._disconnect

        def failing_disconnect(records, revoke=True):
            real_disconnect(records, revoke=revoke)
            raise ValueError("boom")

        with (
            patch.object(type(connection), "_disconnect", failing_disconnect),
            mute_logger(HANDLER_LOGGER),
        ):
            response = self.post(body)
        self.assertEqual(response.status_code, 200, response.text[:500])
        self.assertEqual(response.json(), {"status": "failed"})
        self.assertTrue(connection.exists())
        event = self.Event.search([])
        self.assertEqual((event.state, event.result), ("failed", "Error: ValueError"))

    # ------------------------------------------------------ meeting.*
    # Known bookings' meetings: test_zoom_meeting.TestZoomChangesSeenInOdoo.
    def test_meeting_deleted_unknown_meeting(self):
        response = self.zoom.send_webhook(
            self.webhook_url,
            "meeting.deleted",
            {
                "account_id": "acc",
                "operation": "single",
                "object": {"id": 85746065432, "uuid": "u==", "host_id": "h"},
            },
        )
        self.assertEqual(response.status_code, 200, response.text[:500])
        event = self.Event.search([])
        self.assertEqual(event.event, "meeting.deleted")
        self.assertEqual(event.meeting_id, "85746065432")
        self.assertEqual(event.state, "processed")

    def test_meeting_updated_unknown_meeting(self):
        response = self.zoom.send_webhook(
            self.webhook_url,
            "meeting.updated",
            {
                "account_id": "acc",
                "object": {"id": 85746065433, "start_time": "2030-01-01T10:00:00Z"},
                "old_object": {"id": 85746065433},
            },
        )
        self.assertEqual(response.status_code, 200, response.text[:500])
        event = self.Event.search([])
        self.assertEqual((event.meeting_id, event.state), ("85746065433", "processed"))

    def test_dedupe_key_is_unique(self):
        """The key, not a prior search, stops a concurrent second delivery."""
        raw = json.dumps(self.deauthorization("u1", "a1", event_ts=1)).encode()
        data = json.loads(raw)
        values = self.Event._event_values(data, data["payload"], raw)
        first = self.Event._create_once(values)
        self.assertTrue(first)
        self.assertFalse(self.Event._create_once(dict(values)))
        self.assertEqual(self.Event.search([]), first)

    def test_headers_any_case(self):
        raw = json.dumps({"event": "recording.completed", "payload": {}}).encode()
        ts = str(int(time.time()))
        headers = {
            "X-Zm-Request-Timestamp": ts,
            "X-ZM-SIGNATURE": zoom_webhook.sign(WEBHOOK_SECRET, ts, raw),
        }
        self.assertEqual(
            self.Event._receive(headers, raw), (200, {"status": "ignored"})
        )

    # ------------------------------------------------------ retention
    def test_old_events_vacuumed(self):
        now = fields.Datetime.now()
        old, recent = self.Event.create(
            [
                {"event": "x", "dedupe_key": "old", "received_on": now - timedelta(91)},
                {"event": "x", "dedupe_key": "new", "received_on": now - timedelta(89)},
            ]
        )
        self.Event._gc_old_events()
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())


@tagged("post_install", "-at_install")
class TestZoomWebhookRetries(ZoomWebhookCase):
    """Zoom's retries (5, 25 and 85 minutes after an unanswered delivery),
    signed anew or not, are handled once; both app_deauthorized shapes too."""

    def test_an_unanswered_deauthorization_is_handled_at_zooms_retry(self):
        for resign in (False, True):
            with self.subTest(resign=resign):
                self.zoom.reset()
                self.zoom._set_config({"webhook_retry_resign": resign})
                connection = self.connect_zoom(self.host)
                user = self.zoom.users()[0]
                payload = {
                    "account_id": connection.zoom_account_id,
                    "user_id": connection.zoom_user_id,
                    "signature": "legacy-compliance-signature",
                    "deauthorization_time": time.strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()
                    ),
                    "client_id": "zoom-booking-test-client",
                    "user_data_retention": None,
                }
                self.assertTrue(user)
                # Odoo does not answer the first delivery with a 2xx.
                params = self.env["ir.config_parameter"].sudo()
                params.set_param("zoom_booking.webhook_secret_token", "rotating")
                self.env.flush_all()
                first = self.zoom.send_webhook(
                    self.webhook_url, "app_deauthorized", payload, retry=True
                )
                self.assertEqual(first.status_code, 401)
                params.set_param("zoom_booking.webhook_secret_token", WEBHOOK_SECRET)
                self.env.flush_all()
                self.assertTrue(connection.exists())
                # Five minutes later Zoom retries, perhaps with the old signature.
                self.zoom.advance_clock(300)
                (retry,) = self.zoom.deliver_due_webhooks()
                self.assertEqual(retry["status"], 200)
                self.env.invalidate_all()
                self.assertFalse(connection.exists())
                purges = self.env["zoom.data.purge"].search(
                    [("user_id", "=", self.host.id)]
                )
                # Later deliveries of the same event change nothing.
                self.post_again(payload)
                self.assertEqual(
                    self.env["zoom.data.purge"].search_count(
                        [("user_id", "=", self.host.id)]
                    ),
                    len(purges),
                )
                self.assertEqual(self.zoom.pending_webhooks(), [])
                self.Event.search([]).unlink()

    def post_again(self, payload):
        (event,) = self.Event.search([("event", "=", "app_deauthorized")])
        body = {
            "event": "app_deauthorized",
            "event_ts": int(event.event_ts),
            "payload": payload,
        }
        for age in (1500, 5100):
            response = self.post(body, timestamp=int(time.time()) - age)
            self.assertEqual(response.status_code, 200, response.text[:300])
            self.assertEqual(response.json(), {"status": "ok"})

    def test_deauthorization_with_event_ts_in_the_payload(self):
        connection = self.connect_zoom(self.host)
        result = self.zoom.deauthorize(
            self.host.email, webhook_url=self.webhook_url, event_ts_in_payload=True
        )
        self.assertEqual(result, {"status": 200, "body": {"status": "ok"}})
        self.env.invalidate_all()
        self.assertFalse(connection.exists())
        event = self.Event.search([])
        self.assertEqual(event.state, "processed")
        self.assertTrue(event.event_ts)
        self.assertTrue(event.event_time)

    def test_a_partial_meeting_updated_is_understood(self):
        connection = self.connect_zoom(self.host)
        event = self.env["calendar.event"].create(
            {
                "name": "Call",
                "start": fields.Datetime.now() + timedelta(days=2),
                "stop": fields.Datetime.now() + timedelta(days=2, minutes=30),
                "user_id": self.host.id,
                "zoom_host_id": self.host.id,
                "zoom_meeting_id": "85746065433",
                "zoom_status": "created",
            }
        )
        self.env.flush_all()
        before = len(event.message_ids)
        # Only the topic changed, no host_id: nothing to tell the host.
        response = self.zoom.send_webhook(
            self.webhook_url,
            "meeting.updated",
            {
                "account_id": connection.zoom_account_id,
                "object": {"id": 85746065433, "topic": "New topic"},
                "old_object": {"id": 85746065433, "topic": "Call"},
            },
        )
        self.assertEqual(response.status_code, 200, response.text[:300])
        event.invalidate_recordset()
        self.assertEqual(len(event.message_ids), before)
        # Only the time changed: the host hears that Zoom and Odoo disagree.
        moved = (event.start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        response = self.zoom.send_webhook(
            self.webhook_url,
            "meeting.updated",
            {
                "account_id": connection.zoom_account_id,
                "object": {"id": 85746065433, "start_time": moved},
                "old_object": {"id": 85746065433, "start_time": "x"},
            },
        )
        self.assertEqual(response.status_code, 200, response.text[:300])
        event.invalidate_recordset()
        self.assertEqual(len(event.message_ids), before + 1)
        self.assertIn("moved in Zoom", event.message_ids[0].body)
