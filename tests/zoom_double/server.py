"""A faithful local fake of Zoom's OAuth + Meetings API, served over HTTP.

See ``ZoomDouble`` for the Python API and ``_Handler._control`` for the
``/_double/...`` HTTP control routes.
"""

import base64
import copy
import hashlib
import hmac
import html
import json
import random
import re
import secrets
import socket
import string
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from .webhook import sign_webhook

DEFAULT_USER = "host@example.com"
SCOPE = (
    "meeting:write:meeting meeting:update:meeting meeting:delete:meeting user:read:user"
)
CODE_TTL = 300  # seconds an authorization code stays valid
DEFAULT_TOKEN_EXPIRES_IN = 3600
DEFAULT_REFRESH_TOKEN_EXPIRES_IN = 90 * 86400  # unconfirmed at Zoom: configurable
DEFAULT_DAILY_MEETING_LIMIT = 100  # create/update per host user per UTC day
FAULT_ACTIONS = ("status", "delay", "timeout_after_success", "drop", "rate_limit")
RATE_LIMIT_MESSAGE = (
    "You have reached the maximum per-second rate limit for this API. Try again later."
)
DAILY_LIMIT_MESSAGE = (
    "You have exceeded the daily rate limit ({limit}) of Meeting Create/Update "
    "API requests permitted for this particular user. You may resume these "
    "requests at GMT 00:00:00."
)
PASSWORD_RE = re.compile(r"[A-Za-z0-9@\-_*]{1,10}")
PASSWORD_MESSAGE = (
    "Password may only contain the following characters: [a-z A-Z 0-9 @ - _ *] "
    "and can have a maximum of 10 characters."
)
ALLOW_BUTTON = (
    '<button type="submit" name="decision" value="allow" id="zoom-authorize">'
    "Authorize</button>"
)
DENY_BUTTON = (
    '<button type="submit" name="decision" value="deny" id="zoom-decline">'
    "Decline</button>"
)
START_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z?)")
MEETING_TYPES = (1, 2, 3, 8)
LIST_TYPES = ("scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings")
DEFAULT_SETTINGS = {
    "host_video": False,
    "participant_video": False,
    "join_before_host": False,
    "jbh_time": 0,
    "mute_upon_entry": False,
    "waiting_room": False,
    "meeting_authentication": False,
    "auto_recording": "none",
    "alternative_hosts": "",
    "approval_type": 2,
    "audio": "voip",
}
BOOL_SETTINGS = (
    "host_video",
    "participant_video",
    "join_before_host",
    "mute_upon_entry",
    "waiting_room",
    "meeting_authentication",
)
SUMMARY_FIELDS = (
    "uuid",
    "id",
    "host_id",
    "topic",
    "type",
    "start_time",
    "duration",
    "timezone",
    "agenda",
    "created_at",
    "join_url",
)


class _Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def _json_response(status, data, headers=None):
    out = {"Content-Type": "application/json;charset=UTF-8"}
    out.update(headers or {})
    return _Response(status, json.dumps(data).encode("utf-8"), out)


def _html_response(status, text):
    return _Response(
        status, text.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"}
    )


def _zoom_error(status, code, message, errors=None):
    body = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return _json_response(status, body)


def _oauth_error(status, error, reason):
    return _json_response(status, {"reason": reason, "error": error})


def _validation_failed(errors):
    return _zoom_error(400, 300, "Validation Failed.", errors)


def _iso(ts, millis=False):
    dt = datetime.fromtimestamp(ts, timezone.utc)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _stable_id(kind, email):
    digest = hashlib.sha256(f"{kind}:{email.lower()}".encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _valid_tz(name):
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _append_query(url, params):
    parts = urlsplit(url)
    extra = urlencode(params, quote_via=quote, safe="")
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _params_from(url_or_params):
    """Authorize parameters from a full URL, a query string or a mapping."""
    if isinstance(url_or_params, dict):
        return {str(k): str(v) for k, v in url_or_params.items()}
    text = str(url_or_params)
    if "?" in text:
        text = text.split("?", 1)[1]
    text = text.split("#", 1)[0]
    return dict(parse_qsl(text, keep_blank_values=True))


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _path_matches(pattern, path):
    if pattern is None:
        return True
    if pattern.startswith("^"):
        return re.match(pattern, path) is not None
    return pattern == path


class _Headers(dict):
    """Request headers as received (original case), looked up case-insensitively."""

    def _key(self, key):
        if dict.__contains__(self, key):
            return key
        lower = str(key).lower()
        for existing in self:
            if existing.lower() == lower:
                return existing
        return key

    def __getitem__(self, key):
        return dict.__getitem__(self, self._key(key))

    def __contains__(self, key):
        return dict.__contains__(self, self._key(key))

    def get(self, key, default=None):
        return dict.get(self, self._key(key), default)


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address, handler, double):
        self.double = double
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all_connections(self):
        """Cut kept-alive and in-flight connections (so a stop is a real outage)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ZoomDouble:
    """Zoom's OAuth (``url``) and Meetings API (``url + "/v2"``) on loopback."""

    def __init__(
        self,
        client_id,
        client_secret,
        webhook_secret=None,
        host="127.0.0.1",
        port=0,
        app_name="Zoom Booking (Odoo)",
        token_expires_in=DEFAULT_TOKEN_EXPIRES_IN,
        latency_ms=0,
    ):
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_secret = webhook_secret
        self.host = host
        self.port = port
        self._defaults = {
            "app_name": app_name,
            "token_expires_in": token_expires_in,
            "latency_ms": latency_ms,
            "refresh_token_expires_in": DEFAULT_REFRESH_TOKEN_EXPIRES_IN,
            "daily_meeting_limit": DEFAULT_DAILY_MEETING_LIMIT,
        }
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self._users = {}
        self._init_state()

    # ------------------------------------------------------------------ life
    def _init_state(self):
        for key, value in self._defaults.items():
            setattr(self, key, value)
        self._codes = {}
        self._grants = {}
        self._access = {}
        self._refresh = {}
        self._meetings = {}
        self._daily = {}
        self._faults = []
        self._log = []
        self._clock_offset = 0.0
        self._authorizing_email = DEFAULT_USER
        if DEFAULT_USER not in self._users:
            self._users[DEFAULT_USER] = self._make_user(DEFAULT_USER)

    def start(self):
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler, self)
        self.port = server.server_address[1]  # a restart reuses the same port
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"zoom-double-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_all_connections()
        self._thread.join(timeout=5)
        self._thread = None

    @property
    def running(self):
        return self._server is not None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        if not self.port:
            raise RuntimeError("ZoomDouble has not been started yet")
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self):
        return self.url + "/v2"

    def reset(self):
        """Forget tokens, codes, meetings, faults, requests, clock and config.

        Users are kept (their ids are derived from their email anyway); the
        authorizing user goes back to host@example.com.
        """
        with self._lock:
            self._init_state()

    # ----------------------------------------------------------------- clock
    def now(self):
        return time.time() + self._clock_offset

    def advance_clock(self, seconds):
        with self._lock:
            self._clock_offset += float(seconds)

    # ----------------------------------------------------------------- users
    def _make_user(self, email, first_name="Host", last_name="User", tz="UTC"):
        if not _valid_tz(tz):
            raise ValueError(f"unknown timezone: {tz!r}")
        uid = _stable_id("user", email)
        account_id = _stable_id("account", email)
        pmi = (
            1000000000
            + int.from_bytes(hashlib.sha256(email.lower().encode()).digest()[:4], "big")
            % 8999999999
        )
        return {
            "id": uid,
            "first_name": first_name,
            "last_name": last_name,
            "display_name": f"{first_name} {last_name}".strip(),
            "email": email,
            "type": 1,
            "role_name": "Owner",
            "pmi": pmi,
            "use_pmi": False,
            "personal_meeting_url": f"https://zoom.us/j/{pmi}",
            "timezone": tz,
            "verified": 1,
            "dept": "",
            "created_at": "2024-01-01T00:00:00Z",
            "last_login_time": "2024-01-01T00:00:00Z",
            "pic_url": "",
            "language": "en-US",
            "phone_number": "",
            "status": "active",
            "role_id": "0",
            "account_id": account_id,
            "account_number": 100000000 + pmi % 899999999,
            "cluster": "us05",
            "user_created_at": "2024-01-01T00:00:00Z",
        }

    def add_user(self, email, first_name="Host", last_name="User", timezone="UTC"):
        user = self._make_user(email, first_name, last_name, timezone)
        with self._lock:
            self._users[email.lower()] = user
            return dict(user)

    def users(self):
        with self._lock:
            return [dict(u) for u in self._users.values()]

    def _user_locked(self, email):
        user = self._users.get(email.lower())
        if user is None:
            user = self._make_user(email)
            self._users[email.lower()] = user
        return user

    def set_authorizing_user(self, email):
        """Who "logs in" at /oauth/authorize from now on (created if unknown)."""
        with self._lock:
            self._user_locked(email)
            self._authorizing_email = email.lower()

    # ----------------------------------------------------------------- oauth
    def _check_authorize_params(self, params):
        for name in ("response_type", "client_id", "redirect_uri", "state"):
            if not params.get(name):
                raise ValueError(f"Missing parameter: {name}")
        if params["response_type"] != "code":
            raise ValueError("Unsupported response_type")
        if not hmac.compare_digest(params["client_id"], self.client_id):
            raise ValueError(f"Invalid client_id: {params['client_id']}")
        scheme = urlsplit(params["redirect_uri"]).scheme
        if scheme not in ("http", "https"):
            raise ValueError("Invalid redirect_uri")
        challenge = params.get("code_challenge")
        if challenge and params.get("code_challenge_method") != "S256":
            raise ValueError("Unsupported code_challenge_method")

    def _decide(self, url_or_params, allow):
        params = _params_from(url_or_params)
        self._check_authorize_params(params)
        if not allow:
            return _append_query(
                params["redirect_uri"],
                {"error": "access_denied", "state": params["state"]},
            )
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {
                "email": self._authorizing_email,
                "redirect_uri": params["redirect_uri"],
                "code_challenge": params.get("code_challenge") or None,
                "issued_at": self.now(),
            }
        return _append_query(
            params["redirect_uri"], {"code": code, "state": params["state"]}
        )

    def approve(self, authorize_url_or_params):
        """Approve as the authorizing user; return the redirect URL."""
        return self._decide(authorize_url_or_params, True)

    def deny(self, authorize_url_or_params):
        """Decline; return ``redirect_uri?error=access_denied&state=...``."""
        return self._decide(authorize_url_or_params, False)

    def _revoke_user_locked(self, email):
        for gid, grant in list(self._grants.items()):
            if grant["email"] == email:
                self._drop_grant_locked(gid)

    def _drop_grant_locked(self, gid):
        grant = self._grants.pop(gid, None)
        if grant is None:
            return
        for token in grant["access_tokens"]:
            self._access.pop(token, None)
        self._refresh.pop(grant["refresh_token"], None)

    def _issue_locked(self, gid):
        grant = self._grants[gid]
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        now = self.now()
        expires_in = int(self.token_expires_in)
        self._access[access] = {"grant": gid, "expires_at": now + expires_in}
        grant["access_tokens"].append(access)
        self._refresh.pop(grant.get("refresh_token"), None)
        grant["refresh_token"] = refresh
        grant["refresh_expires_at"] = now + float(self.refresh_token_expires_in)
        self._refresh[refresh] = gid
        return {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": expires_in,
            "scope": SCOPE,
            "api_url": self.url,
        }

    def expire_access_tokens(self, email=None):
        """Make current access tokens expired (-> 401 "Access token is expired.")."""
        with self._lock:
            past = self.now() - 1
            for entry in self._access.values():
                grant = self._grants.get(entry["grant"])
                if grant and (email is None or grant["email"] == email.lower()):
                    entry["expires_at"] = min(entry["expires_at"], past)

    def _token_user_locked(self, token):
        """(user, error_message) for a bearer token."""
        entry = self._access.get(token) if token else None
        grant = self._grants.get(entry["grant"]) if entry else None
        if grant is None:
            return None, "Invalid access token."
        if self.now() >= entry["expires_at"]:
            return None, "Access token is expired."
        return self._user_locked(grant["email"]), None

    # -------------------------------------------------------------- webhooks
    def send_webhook(
        self, webhook_url, event, payload, timestamp=None, secret=None, timeout=10
    ):
        """POST a signed Zoom event; returns the ``requests.Response``."""
        secret = secret if secret is not None else self.webhook_secret
        if not secret:
            raise ValueError("no webhook_secret configured")
        ts = str(timestamp) if timestamp is not None else str(int(time.time()))
        body = json.dumps(
            {"event": event, "event_ts": int(time.time() * 1000), "payload": payload},
            separators=(",", ":"),
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Zoom Marketplace/1.0a",
            "x-zm-request-timestamp": ts,
            "x-zm-signature": sign_webhook(secret, ts, body),
            "x-zm-trackingid": "v=2.0;clid=us05;rid=" + secrets.token_hex(8),
        }
        return requests.post(
            webhook_url, data=body.encode(), headers=headers, timeout=timeout
        )

    def deauthorize(self, email, webhook_url=None):
        """The user removes the app: kill their tokens, optionally notify."""
        with self._lock:
            user = self._users.get(email.lower())
            if user is None:
                raise KeyError(f"unknown user: {email}")
            self._revoke_user_locked(email.lower())
            user = dict(user)
            when = _iso(self.now(), millis=True)
        if not webhook_url:
            return None
        payload = {
            "account_id": user["account_id"],
            "user_id": user["id"],
            "signature": secrets.token_hex(32),
            "deauthorization_time": when,
            "client_id": self.client_id,
        }
        resp = self.send_webhook(webhook_url, "app_deauthorized", payload)
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        return {"status": resp.status_code, "body": body}

    # ---------------------------------------------------------------- faults
    def add_fault(
        self,
        method="POST",
        path="/v2/users/me/meetings",
        action="status",
        status=503,
        body=None,
        headers=None,
        delay_ms=0,
        times=1,
    ):
        """Inject a fault on matching requests (method None or "*" = any)."""
        if action not in FAULT_ACTIONS:
            raise ValueError(f"unknown fault action: {action!r}")
        if path is not None and path.startswith("^"):
            re.compile(path)
        if times is not None and int(times) < 1:
            raise ValueError("times must be >= 1 or None")
        fault = {
            "method": None if method in (None, "*") else method.upper(),
            "path": path,
            "action": action,
            "status": int(status),
            "body": body,
            "headers": dict(headers or {}),
            "delay_ms": int(delay_ms or 0),
            "times": None if times is None else int(times),
        }
        with self._lock:
            self._faults.append(fault)
        return dict(fault)

    def clear_faults(self):
        with self._lock:
            self._faults = []

    def _take_fault(self, method, path):
        with self._lock:
            for fault in self._faults:
                if fault["method"] not in (None, method):
                    continue
                if not _path_matches(fault["path"], path):
                    continue
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self._faults.remove(fault)
                return dict(fault)
        return None

    # -------------------------------------------------------------- requests
    def requests(self, method=None, path=None):
        """Recorded (non-control) requests, oldest first."""
        with self._lock:
            return [
                copy.deepcopy(r)
                for r in self._log
                if (method is None or r["method"] == method.upper())
                and _path_matches(path, r["path"])
            ]

    def clear_requests(self):
        with self._lock:
            self._log = []

    def _record(self, entry):
        with self._lock:
            self._log.append(entry)

    # -------------------------------------------------------------- meetings
    def meetings(self, email=None):
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._meetings.values()
                if email is None or m["host_email"].lower() == email.lower()
            ]

    def _config(self):
        return {key: getattr(self, key) for key in self._defaults}

    def _set_config(self, data):
        for key, value in data.items():
            if key not in self._defaults:
                raise ValueError(f"unknown config key: {key}")
            setattr(self, key, value)
        return self._config()


# ---------------------------------------------------------------------------
# meeting validation
def _parse_start(value, tzname, errors):
    if not isinstance(value, str):
        errors.append({"field": "start_time", "message": "Invalid field."})
        return None
    match = START_TIME_RE.fullmatch(value)
    try:
        if not match:
            raise ValueError
        dt = datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        errors.append(
            {
                "field": "start_time",
                "message": "Invalid start_time: use yyyy-MM-ddTHH:mm:ssZ "
                "or yyyy-MM-ddTHH:mm:ss with a timezone.",
            }
        )
        return None
    if match.group(1):
        dt = dt.replace(tzinfo=timezone.utc)
    else:
        dt = dt.replace(tzinfo=ZoneInfo(tzname))
    return dt.astimezone(timezone.utc).timestamp()


def _validate_text_and_numbers(data, out, bad):
    for field, limit in (("topic", 200), ("agenda", 2000)):
        if field not in data:
            continue
        value = data[field]
        if not isinstance(value, str):
            bad(field)
        elif len(value) > limit:
            bad(field, f"{field.capitalize()} cannot exceed {limit} characters.")
        else:
            out[field] = value
    if "type" in data:
        if not _is_int(data["type"]) or data["type"] not in MEETING_TYPES:
            bad("type", "Invalid meeting type.")
        else:
            out["type"] = data["type"]
    if "duration" in data:
        duration = data["duration"]
        if not _is_int(duration) or not 1 <= duration <= 1440:
            bad("duration", "Duration must be an integer between 1 and 1440.")
        else:
            out["duration"] = duration
    if data.get("password") not in (None, ""):
        password = data["password"]
        if not isinstance(password, str) or not PASSWORD_RE.fullmatch(password):
            bad("password", PASSWORD_MESSAGE)
        else:
            out["password"] = password


def _validate_settings(settings, bad):
    if not isinstance(settings, dict):
        bad("settings")
        return False
    for key in BOOL_SETTINGS:
        if key in settings and not isinstance(settings[key], bool):
            bad(f"settings.{key}")
    if "jbh_time" in settings and settings["jbh_time"] not in (0, 5, 10, 15):
        bad("settings.jbh_time", "jbh_time must be 0, 5, 10 or 15.")
    if settings.get("auto_recording", "none") not in ("local", "cloud", "none"):
        bad("settings.auto_recording")
    if settings.get("approval_type", 2) not in (0, 1, 2):
        bad("settings.approval_type")
    if not isinstance(settings.get("alternative_hosts", ""), str):
        bad("settings.alternative_hosts")
    return True


def _validate_meeting(data, default_tz):
    """Return (fields, start_ts_or_None, errors) for a create/patch body."""
    errors = []
    out = {}

    def bad(field, message="Invalid field."):
        errors.append({"field": field, "message": message})

    _validate_text_and_numbers(data, out, bad)
    tzname = default_tz
    if data.get("timezone") not in (None, ""):
        if _valid_tz(data["timezone"]):
            tzname = out["timezone"] = data["timezone"]
        else:
            bad("timezone", f"Invalid timezone: {data['timezone']}.")
    start = None
    if data.get("start_time") not in (None, ""):
        start = _parse_start(data["start_time"], tzname, errors)
    if "settings" in data and _validate_settings(data["settings"], bad):
        out["settings"] = data["settings"]
    return out, start, errors


def _numeric_password(password):
    if password.isdigit():
        return password
    return "".join(random.choice(string.digits) for _ in range(max(6, len(password))))


# ---------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ZoomDouble/1.0"
    sys_version = ""

    def log_message(self, format, *args):
        pass

    @property
    def double(self):
        return self.server.double

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    # ------------------------------------------------------------- plumbing
    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _write(self, resp):
        try:
            self.send_response(resp.status)
            for key, value in resp.headers.items():
                self.send_header(key, value)
            if resp.status not in (204, 304):
                self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if resp.status not in (204, 304) and resp.body:
                self.wfile.write(resp.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client gave up (timeout, stop)

    def _serve(self, method):
        parts = urlsplit(self.path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = self._read_body()
        if path == "/_double" or path.startswith("/_double/"):
            self._write(self._safe(self._control, method, path, query, body))
            return
        double = self.double
        ctype = self.headers.get("Content-Type", "").lower()
        entry = {
            "method": method,
            "path": path,
            "query": query,
            "headers": _Headers(self.headers.items()),
            "json": None,
            "form": None,
            "body": body.decode("utf-8", "replace"),
            "status": None,
            "time": time.time(),
        }
        if "json" in ctype and body:
            try:
                entry["json"] = json.loads(body)
            except ValueError:
                pass
        if "application/x-www-form-urlencoded" in ctype:
            entry["form"] = dict(
                parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            )
        double._record(entry)

        fault = double._take_fault(method, path)
        action = fault["action"] if fault else None
        delay = fault["delay_ms"] / 1000.0 if fault else 0.0
        if action in ("status", "rate_limit", "drop", "delay") and delay:
            time.sleep(delay)
        if action == "drop":
            entry["status"] = 0
            time.sleep(double.latency_ms / 1000.0)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if action == "status":
            resp = self._fault_response(fault)
        elif action == "rate_limit":
            headers = {"Retry-After": "1"}
            headers.update(fault["headers"])
            resp = _json_response(
                429, {"code": 429, "message": RATE_LIMIT_MESSAGE}, headers
            )
        else:
            resp = self._safe(self._dispatch, method, path, query, body)
        entry["status"] = resp.status
        if action == "timeout_after_success":
            time.sleep(delay)
        time.sleep(double.latency_ms / 1000.0)
        self._write(resp)

    def _fault_response(self, fault):
        body = fault["body"]
        headers = dict(fault["headers"])
        if body is None:
            body = {
                "code": fault["status"],
                "message": self.responses.get(fault["status"], ("Error",))[0],
            }
        if isinstance(body, (dict, list)):
            return _json_response(fault["status"], body, headers)
        if isinstance(body, str):
            body = body.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        return _Response(fault["status"], body, headers)

    def _safe(self, func, *args):
        try:
            return func(*args)
        except Exception as exc:  # noqa: BLE001 - surfaced to the client
            traceback.print_exc(file=sys.stderr)
            return _json_response(
                500, {"code": 500, "message": f"Zoom double error: {exc!r}"}
            )

    # ------------------------------------------------------------- dispatch
    def _dispatch(self, method, path, query, body):
        if path == "/oauth/authorize":
            if method == "GET":
                return self._authorize_page(query)
            if method == "POST":
                return self._authorize_post(body)
        if path == "/oauth/token" and method == "POST":
            return self._token(body)
        if path == "/oauth/revoke" and method == "POST":
            return self._revoke(body)
        match = re.fullmatch(r"/([js])/(\d+)", path)
        if match and method == "GET":
            return self._join_page(match.group(1), int(match.group(2)))
        if path.startswith("/v2/"):
            return self._api(method, path[3:], query, body)
        return _zoom_error(404, 404, "Not found")

    # ---------------------------------------------------------------- oauth
    def _authorize_page(self, params):
        double = self.double
        try:
            double._check_authorize_params(params)
        except ValueError as exc:
            return self._oauth_html_error(str(exc))
        with double._lock:
            email = double._users[double._authorizing_email]["email"]
        esc = html.escape
        hidden = "\n".join(
            f'    <input type="hidden" name="{esc(k)}" value="{esc(v)}">'
            for k, v in params.items()
            if k
            in (
                "response_type",
                "client_id",
                "redirect_uri",
                "state",
                "code_challenge",
                "code_challenge_method",
            )
        )
        page = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Zoom (test double)</title></head>
<body>
  <h1>Zoom (test double)</h1>
  <p id="zoom-app">The app <strong>{esc(double.app_name)}</strong>
  (client id <code>{esc(params["client_id"])}</code>) would like to access
  your Zoom account.</p>
  <p id="zoom-user">You are signed in as <strong>{esc(email)}</strong>.</p>
  <p id="zoom-scopes">Requested access: <code>{esc(SCOPE)}</code></p>
  <form method="post" action="/oauth/authorize" id="zoom-authorize-form">
{hidden}
    {ALLOW_BUTTON}
    {DENY_BUTTON}
  </form>
</body>
</html>
"""
        return _html_response(200, page)

    def _oauth_html_error(self, message):
        page = (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            "<title>Zoom (test double)</title></head><body>"
            "<h1>Zoom (test double)</h1>"
            f'<p id="zoom-error">Invalid authorization request: '
            f"{html.escape(message)}</p></body></html>\n"
        )
        return _html_response(400, page)

    def _authorize_post(self, body):
        text = body.decode("utf-8", "replace")
        params = dict(parse_qsl(text, keep_blank_values=True))
        decision = params.pop("decision", None)
        if decision not in ("allow", "deny"):
            return self._oauth_html_error("Missing decision")
        try:
            location = self.double._decide(params, decision == "allow")
        except ValueError as exc:
            return self._oauth_html_error(str(exc))
        return _Response(302, b"", {"Location": location, "Content-Type": "text/html"})

    def _client_ok(self):
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        client_id, _, secret = decoded.partition(":")
        double = self.double
        return hmac.compare_digest(
            client_id.encode(), double.client_id.encode()
        ) and hmac.compare_digest(secret.encode(), double.client_secret.encode())

    def _form(self, body):
        ctype = self.headers.get("Content-Type", "").lower()
        if "application/x-www-form-urlencoded" not in ctype:
            return {}
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))

    def _token(self, body):
        if not self._client_ok():
            return _oauth_error(
                401, "invalid_client", "Invalid client_id or client_secret"
            )
        form = self._form(body)
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "Missing grant type")
        if grant_type == "authorization_code":
            return self._token_from_code(form)
        if grant_type == "refresh_token":
            return self._token_from_refresh(form)
        return _oauth_error(400, "unsupported_grant_type", "Unsupported grant type")

    def _token_from_code(self, form):
        double = self.double
        invalid = _oauth_error(400, "invalid_grant", "Invalid authorization code")
        with double._lock:
            code = double._codes.get(form.get("code", ""))
            if code is None:
                return invalid
            if double.now() - code["issued_at"] > CODE_TTL:
                double._codes.pop(form["code"], None)
                return invalid
            if form.get("redirect_uri") != code["redirect_uri"]:
                return invalid
            if code["code_challenge"]:
                verifier = form.get("code_verifier", "")
                computed = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    .decode()
                    .rstrip("=")
                )
                if not verifier or not hmac.compare_digest(
                    computed, code["code_challenge"]
                ):
                    return invalid
            del double._codes[form["code"]]  # single use
            double._revoke_user_locked(code["email"])  # re-authorizing
            gid = secrets.token_hex(8)
            double._grants[gid] = {
                "email": code["email"],
                "access_tokens": [],
                "refresh_token": None,
            }
            data = double._issue_locked(gid)
        return _json_response(200, data, {"Cache-Control": "no-store"})

    def _token_from_refresh(self, form):
        double = self.double
        with double._lock:
            gid = double._refresh.get(form.get("refresh_token", ""))
            grant = double._grants.get(gid) if gid else None
            if grant is None or double.now() >= grant["refresh_expires_at"]:
                return _oauth_error(400, "invalid_grant", "Invalid Token!")
            data = double._issue_locked(gid)  # rotates: the old one dies now
        return _json_response(200, data, {"Cache-Control": "no-store"})

    def _revoke(self, body):
        if not self._client_ok():
            return _oauth_error(
                401, "invalid_client", "Invalid client_id or client_secret"
            )
        token = self._form(body).get("token")
        if not token:
            return _oauth_error(400, "invalid_request", "Missing token")
        double = self.double
        with double._lock:
            entry = double._access.get(token)
            gid = entry["grant"] if entry else double._refresh.get(token)
            if gid:
                double._drop_grant_locked(gid)
        return _json_response(200, {"status": "success"})

    def _join_page(self, kind, meeting_id):
        with self.double._lock:
            meeting = self.double._meetings.get(meeting_id)
            topic = meeting["topic"] if meeting else None
        if topic is None:
            return _html_response(404, "<h1>This meeting link is invalid.</h1>\n")
        label = "Start" if kind == "s" else "Join"
        return _html_response(
            200,
            f"<!DOCTYPE html><html><head><title>Zoom (test double)</title></head>"
            f"<body><h1>{label} meeting {meeting_id}</h1>"
            f"<p>{html.escape(topic)}</p></body></html>\n",
        )

    # ------------------------------------------------------------------ API
    def _api(self, method, path, query, body):
        routes = (
            ("GET", r"/users/([^/]+)", self._get_user),
            ("GET", r"/users/([^/]+)/meetings", self._list_meetings),
            ("POST", r"/users/([^/]+)/meetings", self._create_meeting),
            ("GET", r"/meetings/([^/]+)", self._get_meeting),
            ("PATCH", r"/meetings/([^/]+)", self._patch_meeting),
            ("DELETE", r"/meetings/([^/]+)", self._delete_meeting),
        )
        for route_method, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and method == route_method:
                func = handler
                break
        else:
            return _zoom_error(404, 404, "Not found")
        header = self.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        double = self.double
        with double._lock:
            user, error = double._token_user_locked(token)
            user = dict(user) if user else None
        if user is None:
            return _zoom_error(401, 124, error)
        return func(user, match.group(1), query, body)

    @staticmethod
    def _json_body(body):
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else None
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            return None, _zoom_error(
                400, 300, "Request Body should be a valid JSON object."
            )
        return data, None

    @staticmethod
    def _is_self(user, user_id):
        return user_id in ("me", user["id"]) or user_id.lower() == user["email"].lower()

    def _get_user(self, user, user_id, query, body):
        if not self._is_self(user, user_id):
            return _zoom_error(404, 1001, f"User does not exist: {user_id}.")
        return _json_response(200, user)

    def _owned_meeting_locked(self, user, meeting_id):
        if not meeting_id.isdigit():
            return None
        meeting = self.double._meetings.get(int(meeting_id))
        if meeting is None or meeting["host_email"].lower() != user["email"].lower():
            return None
        return meeting

    def _daily_quota_locked(self, user):
        double = self.double
        limit = double.daily_meeting_limit
        if limit is None:
            return None
        day = _iso(double.now())[:10]
        key = (user["email"].lower(), day)
        used = double._daily.get(key, 0)
        if used >= int(limit):
            return _zoom_error(429, 429, DAILY_LIMIT_MESSAGE.format(limit=limit))
        double._daily[key] = used + 1
        return None

    def _create_meeting(self, user, user_id, query, body):
        if not self._is_self(user, user_id):
            return _zoom_error(404, 1001, f"User does not exist: {user_id}.")
        data, error = self._json_body(body)
        if error:
            return error
        fields, start, errors = _validate_meeting(data, user["timezone"])
        if errors:
            return _validation_failed(errors)
        double = self.double
        with double._lock:
            over = self._daily_quota_locked(user)
            if over:
                return over
            now = double.now()
            meeting_id = random.randint(80000000000, 99999999999)
            while meeting_id in double._meetings:
                meeting_id = random.randint(80000000000, 99999999999)
            password = fields.get("password") or "".join(
                random.choice(string.ascii_letters + string.digits)
                for _ in range(random.randint(6, 10))
            )
            encrypted = secrets.token_urlsafe(24)
            numeric = _numeric_password(password)
            settings = dict(DEFAULT_SETTINGS)
            settings.update(fields.get("settings", {}))
            meeting = {
                "uuid": base64.b64encode(secrets.token_bytes(16)).decode(),
                "id": meeting_id,
                "host_id": user["id"],
                "host_email": user["email"],
                "topic": fields.get("topic", "Zoom Meeting"),
                "type": fields.get("type", 2),
                "status": "waiting",
                "start_time": _iso(start if start is not None else now),
                "duration": fields.get("duration", 60),
                "timezone": fields.get("timezone", user["timezone"]),
                "agenda": fields.get("agenda", ""),
                "created_at": _iso(now),
                "start_url": f"{double.url}/s/{meeting_id}?zak="
                + secrets.token_urlsafe(32),
                "join_url": f"{double.url}/j/{meeting_id}?pwd={encrypted}",
                "password": password,
                "h323_password": numeric,
                "pstn_password": numeric,
                "encrypted_password": encrypted,
                "settings": settings,
                "pre_schedule": False,
            }
            double._meetings[meeting_id] = meeting
            out = copy.deepcopy(meeting)
        return _json_response(201, out)

    def _list_meetings(self, user, user_id, query, body):
        if not self._is_self(user, user_id):
            return _zoom_error(404, 1001, f"User does not exist: {user_id}.")
        list_type = query.get("type") or "scheduled"
        errors = []
        if list_type not in LIST_TYPES:
            errors.append({"field": "type", "message": "Invalid field."})
        page_size = query.get("page_size") or "30"
        if not page_size.isdigit() or int(page_size) < 1:
            errors.append({"field": "page_size", "message": "Invalid field."})
        offset = 0
        token = query.get("next_page_token") or ""
        if token:
            try:
                raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
                prefix, _, number = raw.decode().partition(":")
                if prefix != "offset" or not number.isdigit():
                    raise ValueError
                offset = int(number)
            except ValueError:
                errors.append({"field": "next_page_token", "message": "Invalid field."})
        if errors:
            return _validation_failed(errors)
        page_size = min(int(page_size), 300)
        double = self.double
        with double._lock:
            now = _iso(double.now())
            mine = [
                m
                for m in double._meetings.values()
                if m["host_email"].lower() == user["email"].lower()
            ]
            if list_type in ("upcoming", "upcoming_meetings"):
                mine = [m for m in mine if m["start_time"] > now]
            elif list_type == "previous_meetings":
                mine = [m for m in mine if m["start_time"] <= now]
            elif list_type == "live":
                mine = []
            mine.sort(key=lambda m: (m["start_time"], m["id"]))
            page = [
                {k: m[k] for k in SUMMARY_FIELDS}
                for m in mine[offset : offset + page_size]
            ]
        next_token = ""
        if offset + page_size < len(mine):
            next_token = (
                base64.urlsafe_b64encode(f"offset:{offset + page_size}".encode())
                .decode()
                .rstrip("=")
            )
        return _json_response(
            200,
            {
                "page_size": page_size,
                "total_records": len(mine),
                "next_page_token": next_token,
                "meetings": page,
            },
        )

    def _get_meeting(self, user, meeting_id, query, body):
        with self.double._lock:
            meeting = self._owned_meeting_locked(user, meeting_id)
            meeting = copy.deepcopy(meeting) if meeting else None
        if meeting is None:
            return _zoom_error(404, 3001, f"Meeting does not exist: {meeting_id}.")
        return _json_response(200, meeting)

    def _patch_meeting(self, user, meeting_id, query, body):
        double = self.double
        with double._lock:
            exists = self._owned_meeting_locked(user, meeting_id) is not None
        if not exists:
            return _zoom_error(404, 3001, f"Meeting does not exist: {meeting_id}.")
        data, error = self._json_body(body)
        if error:
            return error
        with double._lock:
            meeting = self._owned_meeting_locked(user, meeting_id)
            if meeting is None:
                return _zoom_error(404, 3001, f"Meeting does not exist: {meeting_id}.")
            fields, start, errors = _validate_meeting(data, meeting["timezone"])
            if start is not None and start <= double.now():
                errors.append(
                    {
                        "field": "start_time",
                        "message": "The start time cannot be in the past.",
                    }
                )
            if errors:
                return _validation_failed(errors)
            over = self._daily_quota_locked(user)
            if over:
                return over
            settings = fields.pop("settings", None)
            meeting.update(fields)
            if "password" in fields:
                meeting["h323_password"] = _numeric_password(fields["password"])
                meeting["pstn_password"] = meeting["h323_password"]
            if settings:
                meeting["settings"].update(settings)
            if start is not None:
                meeting["start_time"] = _iso(start)
        return _Response(204)

    def _delete_meeting(self, user, meeting_id, query, body):
        double = self.double
        with double._lock:
            meeting = self._owned_meeting_locked(user, meeting_id)
            if meeting is None:
                return _zoom_error(404, 3001, f"Meeting does not exist: {meeting_id}.")
            del double._meetings[meeting["id"]]
        return _Response(204)

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
    ("POST", "/_double/deauthorize"): (
        lambda d, q, data: d.deauthorize(data["email"], data.get("webhook_url"))
    ),
    ("POST", "/_double/webhook"): _ctl_webhook,
    ("GET", "/_double/meetings"): lambda d, q, data: d.meetings(q.get("email") or None),
    ("POST", "/_double/approve"): _ctl_decide(True),
    ("POST", "/_double/deny"): _ctl_decide(False),
}
