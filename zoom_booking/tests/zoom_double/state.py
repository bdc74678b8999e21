"""The Zoom double's state and its Python API: users, grants, tokens,
meetings, faults, recorded requests; started and stopped here."""

import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from urllib.parse import urlsplit

import requests

from .common import (
    DEFAULT_DAILY_MEETING_LIMIT,
    DEFAULT_PASSCODE_POLICY,
    DEFAULT_REFRESH_TOKEN_EXPIRES_IN,
    DEFAULT_SCOPES,
    DEFAULT_TOKEN_EXPIRES_IN,
    DEFAULT_USER,
    FAULT_ACTIONS,
    _append_query,
    _iso,
    _params_from,
    _path_matches,
    _stable_id,
    _valid_tz,
)
from .server import _Handler, _Server
from .webhook import sign_webhook

# Zoom retries an unanswered delivery 5, 25 and 85 minutes after the first try,
# and waits 3 seconds for each answer.
WEBHOOK_RETRY_DELAYS = (300, 1500, 5100)
WEBHOOK_DEADLINE = 3


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
            "granted_scopes": DEFAULT_SCOPES,
            # Daily-limit 429s carry Retry-After (an ISO date) or none at all.
            "daily_limit_retry_after": True,
            # Unconfirmed at Zoom: whether a webhook retry is signed anew.
            "webhook_retry_resign": False,
            # HTTP statuses whose error answers come as XML, as some of Zoom's
            # gateways send them.
            "xml_error_statuses": [],
            # Unconfirmed at Zoom: revoke documented with the token in the query.
            "revoke_accepts_form_body": False,
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
        self._user_settings = {}
        self._pending_webhooks = []
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

    def add_user(
        self,
        email,
        first_name="Host",
        last_name="User",
        timezone="UTC",
        same_account_as=None,
    ):
        """A Zoom user; ``same_account_as``: a user's email whose Zoom account
        this one joins (each user has an account of their own otherwise)."""
        user = self._make_user(email, first_name, last_name, timezone)
        with self._lock:
            if same_account_as:
                user["account_id"] = self._users[same_account_as.lower()]["account_id"]
            self._users[email.lower()] = user
            return dict(user)

    def set_user_settings(self, email, require_passcode=None, passcode_policy=None):
        """The account's meeting settings: whether a new meeting must have a
        passcode, and the passcode policy (``meeting_password_requirement``
        keys; unknown keys are refused)."""
        with self._lock:
            settings = self._user_settings_locked(email)
            if require_passcode is not None:
                settings["require_passcode"] = bool(require_passcode)
            if passcode_policy is not None:
                unknown = set(passcode_policy) - set(DEFAULT_PASSCODE_POLICY)
                if unknown:
                    raise ValueError(f"unknown passcode policy keys: {sorted(unknown)}")
                settings["passcode_policy"].update(passcode_policy)
            return copy.deepcopy(settings)

    def _user_settings_locked(self, email):
        return self._user_settings.setdefault(
            email.lower(),
            {
                "require_passcode": True,
                "passcode_policy": dict(DEFAULT_PASSCODE_POLICY),
            },
        )

    def set_meeting_status(self, meeting_id, status):
        """``waiting`` (default), ``started`` (in progress) or ``finished``."""
        if status not in ("waiting", "started", "finished"):
            raise ValueError(f"unknown meeting status: {status!r}")
        with self._lock:
            self._meetings[int(meeting_id)]["status"] = status

    def users(self):
        with self._lock:
            return [dict(u) for u in self._users.values()]

    def _user_locked(self, email):
        user = self._users.get(email.lower())
        if user is None:
            # A new sandbox user is named after their address: hana.sato@ → Hana Sato.
            words = re.split(r"[._+-]+", email.split("@")[0]) + ["User"]
            first, last = (w.capitalize() or "Host" for w in words[:2])
            user = self._make_user(email, first, last)
            self._users[email.lower()] = user
        return user

    def _alternative_hosts_refused_locked(self, host, emails):
        """Zoom's answer to alternative hosts outside the host's account (an
        alternative host must be a user of the same Zoom account), or None."""
        for email in filter(None, (e.strip() for e in emails.split(";"))):
            other = self._users.get(email.lower())
            if other is None or other["account_id"] != host["account_id"]:
                return email
        return None

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

    def _decide(self, url_or_params, allow, email=None):
        """The screen's answer; ``email``: who signed in there (a sandbox
        user, created if new), else the authorizing user."""
        params = _params_from(url_or_params)
        self._check_authorize_params(params)
        if not allow:
            return _append_query(
                params["redirect_uri"],
                {"error": "access_denied", "state": params["state"]},
            )
        code = secrets.token_urlsafe(24)
        with self._lock:
            if email:
                self._user_locked(email)
            self._codes[code] = {
                "email": (email or self._authorizing_email).lower(),
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
            "scope": grant["scopes"],
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

    def _token_scopes_locked(self, token):
        """The scopes granted with a bearer token (a set)."""
        entry = self._access.get(token) if token else None
        grant = self._grants.get(entry["grant"]) if entry else None
        return set((grant or {}).get("scopes", "").split())

    def _bearer_email(self, authorization):
        """The Zoom user whose valid access token a request carries, or None:
        logged with each request, so tests see whose account was driven."""
        if not (authorization or "").lower().startswith("bearer "):
            return None
        with self._lock:
            user, _error = self._token_user_locked(authorization[7:].strip())
        return user["email"] if user else None

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
        self,
        webhook_url,
        event,
        payload,
        timestamp=None,
        secret=None,
        timeout=10,
        retry=False,
        event_ts_in_payload=False,
    ):
        """POST a signed Zoom event; returns the ``requests.Response``.

        :param retry: as Zoom does, keep an unanswered delivery (no 2xx within
            3 seconds) for retries 5, 25 and 85 minutes after the first try,
            made by :meth:`deliver_due_webhooks` as the clock advances; then
            returns None instead of raising when the endpoint is unreachable.
        :param event_ts_in_payload: ``event_ts`` inside the payload, as a
            string, instead of at the top level (both shapes are seen).
        """
        secret = secret if secret is not None else self.webhook_secret
        if not secret:
            raise ValueError("no webhook_secret configured")
        ts = str(timestamp) if timestamp is not None else str(int(time.time()))
        event_ts = int(time.time() * 1000)
        data = {"event": event, "event_ts": event_ts, "payload": payload}
        if event_ts_in_payload:
            data = {"event": event, "payload": dict(payload, event_ts=str(event_ts))}
        body = json.dumps(data, separators=(",", ":"))
        if not retry:
            return self._post_webhook(webhook_url, body, ts, secret, timeout)
        try:
            resp = self._post_webhook(webhook_url, body, ts, secret, WEBHOOK_DEADLINE)
        except requests.RequestException:
            resp = None
        if resp is None or not 200 <= resp.status_code < 300:
            with self._lock:
                self._pending_webhooks.append(
                    {
                        "url": webhook_url,
                        "body": body,
                        "secret": secret,
                        "first_try": self.now(),
                        "retries": 0,
                    }
                )
        return resp

    def _post_webhook(self, webhook_url, body, ts, secret, timeout):
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

    def deliver_due_webhooks(self):
        """Retry the unanswered deliveries whose time has come (double's clock).

        A retry carries the same body. Re-signed (config
        ``webhook_retry_resign``), its timestamp is now; else it keeps the first
        signature, whose timestamp is then as old as the retry's delay: what
        the receiving server's clock sees. Returns what each retry got."""
        results = []
        with self._lock:
            pending = list(self._pending_webhooks)
        for item in pending:
            delay = WEBHOOK_RETRY_DELAYS[item["retries"]]
            if self.now() - item["first_try"] < delay:
                continue
            item["retries"] += 1
            ts = (
                int(time.time())
                if self.webhook_retry_resign
                else int(time.time()) - delay
            )
            try:
                resp = self._post_webhook(
                    item["url"], item["body"], str(ts), item["secret"], WEBHOOK_DEADLINE
                )
                status = resp.status_code
            except requests.RequestException as exc:
                status = f"error: {type(exc).__name__}"
            results.append(
                {"retry": item["retries"], "timestamp": ts, "status": status}
            )
            answered = isinstance(status, int) and 200 <= status < 300
            if answered or item["retries"] == len(WEBHOOK_RETRY_DELAYS):
                with self._lock:
                    self._pending_webhooks.remove(item)
        return results

    def host_edits_meeting(self, meeting_id, webhook_url=None, **changes):
        """The host changes a meeting in Zoom's own app: Zoom then sends
        ``meeting.updated`` with only the changed fields (and no host_id)."""
        with self._lock:
            meeting = self._meetings[int(meeting_id)]
            old = {key: meeting.get(key) for key in changes}
            meeting.update(changes)
            account_id = self._user_locked(meeting["host_email"])["account_id"]
        if not webhook_url:
            return None
        payload = {
            "account_id": account_id,
            "operator": meeting["host_email"],
            "object": dict(changes, id=int(meeting_id)),
            "old_object": dict(old, id=int(meeting_id)),
        }
        return self.send_webhook(webhook_url, "meeting.updated", payload)

    def pending_webhooks(self):
        with self._lock:
            return copy.deepcopy(self._pending_webhooks)

    def deauthorize(self, email, webhook_url=None, event_ts_in_payload=False):
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
            "user_data_retention": None,
        }
        resp = self.send_webhook(
            webhook_url,
            "app_deauthorized",
            payload,
            event_ts_in_payload=event_ts_in_payload,
        )
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
