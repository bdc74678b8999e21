"""The ``/_double/...`` control routes that tests and the benchmark drive."""

import json
import re

import requests

from .common import (
    _json_response,
)


class ControlRoutes:
    """The control routes of the double's request handler."""

    # -------------------------------------------------------------- control
    def _control(self, method, path, query, body):
        double = self.double
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            return _json_response(400, {"error": "body must be JSON"})
        if not isinstance(data, dict):
            return _json_response(400, {"error": "body must be a JSON object"})
        route = (method, path.rstrip("/"))
        try:
            return self._control_route(double, route, query, data)
        except KeyError as exc:
            return _json_response(404, {"error": str(exc)})
        except (ValueError, TypeError, re.error) as exc:
            return _json_response(400, {"error": str(exc)})
        except requests.RequestException as exc:
            return _json_response(502, {"error": f"webhook delivery failed: {exc}"})

    def _control_route(self, double, route, query, data):
        func = _CONTROL_ROUTES.get(route)
        if func is None:
            return _json_response(404, {"error": f"unknown control route {route}"})
        result = func(double, query, data)
        return _json_response(200, {"ok": True} if result is None else result)


# ---------------------------------------------------------------------------
# control routes: func(double, query, data) -> JSON-able result (None = ok)
def _ctl_users(double, query, data):
    kwargs = {k: data[k] for k in ("first_name", "last_name", "timezone") if k in data}
    return double.add_user(data["email"], **kwargs)


def _ctl_set_config(double, query, data):
    with double._lock:
        return double._set_config(data)


def _ctl_clock(double, query, data):
    double.advance_clock(data.get("advance_seconds", 0))
    return {"now": double.now()}


def _ctl_webhook(double, query, data):
    resp = double.send_webhook(
        data["webhook_url"],
        data["event"],
        data.get("payload", {}),
        timestamp=data.get("timestamp"),
    )
    try:
        body = resp.json()
    except ValueError:
        body = resp.text
    return {"status": resp.status_code, "body": body}


def _ctl_decide(allow):
    def decide(double, query, data):
        target = data.get("authorize_url") or data.get("params")
        if not target:
            raise ValueError("authorize_url is required")
        return {"redirect": double._decide(target, allow)}

    return decide


_CONTROL_ROUTES = {
    ("GET", "/_double/health"): lambda d, q, data: {"ok": True, "url": d.url},
    ("POST", "/_double/reset"): lambda d, q, data: d.reset(),
    ("POST", "/_double/users"): _ctl_users,
    ("GET", "/_double/users"): lambda d, q, data: d.users(),
    ("POST", "/_double/authorizing_user"): (
        lambda d, q, data: d.set_authorizing_user(data["email"])
    ),
    ("POST", "/_double/faults"): lambda d, q, data: d.add_fault(**data),
    ("DELETE", "/_double/faults"): lambda d, q, data: d.clear_faults(),
    ("POST", "/_double/config"): _ctl_set_config,
    ("GET", "/_double/config"): lambda d, q, data: d._config(),
    ("GET", "/_double/requests"): (
        lambda d, q, data: d.requests(q.get("method") or None, q.get("path") or None)
    ),
    ("DELETE", "/_double/requests"): lambda d, q, data: d.clear_requests(),
    ("POST", "/_double/clock"): _ctl_clock,
    ("POST", "/_double/expire_tokens"): (
        lambda d, q, data: d.expire_access_tokens(data.get("email"))
    ),
    ("POST", "/_double/user_settings"): lambda d, q, data: d.set_user_settings(
        data["email"], data.get("require_passcode"), data.get("passcode_policy")
    ),
    ("POST", "/_double/meeting_status"): (
        lambda d, q, data: d.set_meeting_status(data["id"], data["status"])
    ),
    ("POST", "/_double/webhooks/deliver_due"): (
        lambda d, q, data: {"retries": d.deliver_due_webhooks()}
    ),
    ("POST", "/_double/deauthorize"): (
        lambda d, q, data: d.deauthorize(data["email"], data.get("webhook_url"))
    ),
    ("POST", "/_double/webhook"): _ctl_webhook,
    ("GET", "/_double/meetings"): lambda d, q, data: d.meetings(q.get("email") or None),
    ("POST", "/_double/approve"): _ctl_decide(True),
    ("POST", "/_double/deny"): _ctl_decide(False),
}
