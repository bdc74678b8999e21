"""zoom.webhook.event: Zoom's notifications, checked, handled once, kept a while."""

import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone

from odoo import api, fields, models
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

from ..tools import zoom_webhook

_logger = logging.getLogger(__name__)

SECRET_PARAM = "zoom_booking.webhook_secret_token"
RETENTION_DAYS = 90
URL_VALIDATION = "endpoint.url_validation"


def _text(value, size=64):
    """A short identifier from Zoom's JSON, or False (ints become text)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return False
    return str(value).replace("\x00", "")[:size] or False


# Zoom's clock and ours may differ a little: a connection made within this
# margin of a deauthorization is still taken as the deauthorized one.
DEAUTHORIZATION_CLOCK_SKEW = timedelta(minutes=5)


def _zoom_time(value):
    """Zoom's ``2023-11-14T22:14:20.000Z`` as a naive UTC datetime, or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


class ZoomWebhookEvent(models.Model):
    """One event Zoom sent us: an audit trail, and what makes retries harmless.

    Only identifiers and a short summary are kept: never the raw body, tokens,
    signatures or join URLs.
    """

    _name = "zoom.webhook.event"
    _description = "Zoom webhook event"
    _order = "received_on desc, id desc"
    _rec_name = "event"

    event = fields.Char(required=True, readonly=True)
    event_ts = fields.Char(
        "Event timestamp", readonly=True, help="Zoom's event_ts (epoch milliseconds)."
    )
    event_time = fields.Datetime("Event time", readonly=True)
    zoom_user_id = fields.Char("Zoom user ID", readonly=True, index=True)
    zoom_account_id = fields.Char("Zoom account ID", readonly=True)
    meeting_id = fields.Char("Zoom meeting ID", readonly=True, index=True)
    dedupe_key = fields.Char(required=True, readonly=True, copy=False)
    state = fields.Selection(
        [
            ("received", "Received"),
            ("processed", "Processed"),
            ("ignored", "Ignored"),
            ("failed", "Failed"),
        ],
        default="received",
        required=True,
        readonly=True,
    )
    result = fields.Char(readonly=True)
    received_on = fields.Datetime(
        default=fields.Datetime.now, required=True, readonly=True, index=True
    )

    _sql_constraints = [
        (
            "dedupe_key_unique",
            "UNIQUE(dedupe_key)",
            "This Zoom event was already received.",
        ),
    ]

    # ------------------------------------------------------------ receiving
    @api.model
    def _receive(self, headers, raw_body):
        """Check and handle one webhook request; returns (HTTP status, JSON body).

        200: accepted (handled, ignored or already received), 400: signed but
        malformed, 401: not from Zoom (bad or stale signature, no secret set).
        """
        events = self.sudo()
        headers = {key.lower(): value for key, value in headers.items()}
        secret = events.env["ir.config_parameter"].get_param(SECRET_PARAM)
        if not secret:
            _logger.warning("Zoom webhook refused: no webhook secret token is set.")
            return 401, {"status": "unauthorized"}
        if not zoom_webhook.verify(
            secret,
            headers.get("x-zm-request-timestamp"),
            raw_body,
            headers.get("x-zm-signature"),
            max_age=zoom_webhook.RETRY_WINDOW,
            max_ahead=zoom_webhook.MAX_AGE,
        ):
            _logger.info("Zoom webhook refused: bad signature or stale timestamp.")
            return 401, {"status": "unauthorized"}

        try:
            data = json.loads(raw_body)
        except (ValueError, RecursionError):
            data = None
        payload = data.get("payload", {}) if isinstance(data, dict) else None
        event = data.get("event") if isinstance(data, dict) else None
        if not (event and isinstance(event, str) and isinstance(payload, dict)):
            return 400, {"status": "malformed"}

        if event == URL_VALIDATION:
            plain_token = payload.get("plainToken")
            if not plain_token or not isinstance(plain_token, str):
                return 400, {"status": "malformed"}
            return 200, zoom_webhook.url_validation_response(secret, plain_token)

        record = events._create_once(events._event_values(data, payload, raw_body))
        if not record:
            # Zoom's retry of an event already received: nothing more to do.
            return 200, {"status": "ok"}
        state = record._handle(payload)
        return 200, {"status": "ok" if state == "processed" else state}

    @api.model
    def _event_values(self, data, payload, raw_body):
        # PostgreSQL refuses NUL in text: a signed body may still carry one.
        event = data["event"][:100].replace("\x00", "")
        # Seen at the top level (a number) and inside the payload (a string).
        event_ts = _text(data.get("event_ts") or payload.get("event_ts"), 32)
        obj = payload.get("object") if isinstance(payload.get("object"), dict) else {}
        values = {
            "event": event,
            "event_ts": event_ts,
            "zoom_account_id": _text(payload.get("account_id")),
            "zoom_user_id": _text(payload.get("user_id") or obj.get("host_id")),
        }
        if event.startswith("meeting."):
            values["meeting_id"] = _text(obj.get("id"))
        if event_ts and event_ts.isdigit():
            try:
                values["event_time"] = datetime.fromtimestamp(
                    int(event_ts) / 1000, tz=timezone.utc
                ).replace(tzinfo=None)
            except (OverflowError, ValueError, OSError):
                pass
        # Zoom retries with the same event_ts and body but a new signature
        # timestamp; without event_ts, the body itself identifies the event.
        subject = _text(obj.get("uuid") or obj.get("id") or payload.get("user_id"))
        if event_ts:
            account = values["zoom_account_id"] or ""
            key = f"{event}|{event_ts}|{account}|{subject or ''}"
        else:
            if isinstance(raw_body, str):
                raw_body = raw_body.encode()
            key = f"{event}|body|{hashlib.sha256(raw_body).hexdigest()}"
        values["dedupe_key"] = hashlib.sha256(key.encode()).hexdigest()
        return values

    @api.model
    def _create_once(self, values):
        """The new event, or an empty recordset when its key was already stored.

        The unique key serialises concurrent deliveries: a second one waits for
        the first and then gets a serialization failure, which makes Odoo retry
        the request, which then finds the stored event.
        """
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """INSERT INTO zoom_webhook_event
                       (dedupe_key, event, state, received_on,
                        create_uid, create_date, write_uid, write_date)
                   VALUES (%s, %s, 'received', %s, %s, %s, %s, %s)
                   ON CONFLICT (dedupe_key) DO NOTHING
                   RETURNING id""",
                values["dedupe_key"],
                values["event"],
                now,
                self.env.uid,
                now,
                self.env.uid,
                now,
            ),
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        if not row:
            return self.browse()
        record = self.browse(row[0])
        record.write(
            {
                key: value
                for key, value in values.items()
                if key not in ("dedupe_key", "event")
            }
        )
        return record

    # ------------------------------------------------------------- handling
    @api.model
    def _event_handlers(self):
        """Zoom event name -> method name; extend to handle more events."""
        return {
            "app_deauthorized": "_handle_app_deauthorized",
            "meeting.deleted": "_handle_meeting_deleted",
            "meeting.updated": "_handle_meeting_updated",
        }

    def _handle(self, payload):
        """Run this event's handler; returns the event's final state.

        A failing handler leaves no partial change and the event is kept as
        failed for administrators: Zoom gets a 200 anyway, as a retry would
        fail the same way.
        """
        self.ensure_one()
        method = self._event_handlers().get(self.event)
        if not method:
            self.write({"state": "ignored", "result": "Event not handled"})
            return "ignored"
        try:
            with self.env.cr.savepoint():
                state, result = getattr(self, method)(payload)
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            # Odoo retries the whole request in a new transaction.
            raise
        except Exception as exc:  # noqa: BLE001 - Zoom must never get a 500
            _logger.exception("Zoom webhook event %s (%s) failed", self.event, self.id)
            state, result = "failed", f"Error: {type(exc).__name__}"
        self.write({"state": state, "result": (result or "")[:250]})
        return state

    def _handle_app_deauthorized(self, payload):
        """The user removed our app in Zoom: forget their connection and data."""
        user_id = _text(payload.get("user_id"))
        if not user_id:
            return "ignored", "No Zoom user in the event"
        account_id = _text(payload.get("account_id"))
        connections = (
            self.env["zoom.connection"]
            .sudo()
            .search([("zoom_user_id", "=", user_id)])
            .filtered(
                lambda c: (
                    not (account_id and c.zoom_account_id)
                    or c.zoom_account_id == account_id
                )
            )
        )
        # A retry that arrives after the user connected again concerns the old
        # authorization, whose data is gone already: keep the new connection.
        removed_at = _zoom_time(payload.get("deauthorization_time"))
        if removed_at:
            connections = connections.filtered(
                lambda c: (
                    not c.connected_on
                    or c.connected_on <= removed_at + DEAUTHORIZATION_CLOCK_SKEW
                )
            )
        if not connections:
            return "processed", "No connection for this Zoom user"
        count = len(connections)
        # Zoom already killed the tokens: nothing to revoke.
        connections._disconnect(revoke=False)
        return "processed", f"{count} connection(s) removed"

    def _handle_meeting_deleted(self, payload):
        obj = payload.get("object")
        if not isinstance(obj, dict) or not obj.get("id"):
            return "ignored", "No meeting in the event"
        result = self.env["calendar.event"]._zoom_webhook_meeting_deleted(obj)
        return "processed", self._summary(result, "Meeting deletion handled")

    def _handle_meeting_updated(self, payload):
        obj = payload.get("object")
        if not isinstance(obj, dict) or not obj.get("id"):
            return "ignored", "No meeting in the event"
        old_object = payload.get("old_object")
        result = self.env["calendar.event"]._zoom_webhook_meeting_updated(
            obj, old_object if isinstance(old_object, dict) else {}
        )
        return "processed", self._summary(result, "Meeting update handled")

    @api.model
    def _summary(self, result, default):
        if isinstance(result, str) and result:
            return result
        if isinstance(result, models.BaseModel):
            return f"{default}: {len(result)} record(s)"
        return default

    # ------------------------------------------------------------ retention
    @api.autovacuum
    def _gc_old_events(self):
        """Events are an audit trail for a while, not forever."""
        limit = fields.Datetime.now() - timedelta(days=RETENTION_DAYS)
        self.sudo().search([("received_on", "<", limit)]).unlink()
