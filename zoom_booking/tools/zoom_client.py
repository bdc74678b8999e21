"""A small, ORM-free client for Zoom's OAuth and Meetings API.

Every HTTP call goes through :meth:`ZoomClient.request`: one timeout policy, secrets
masked in logs, and Zoom's answers turned into a few named exceptions. Models decide
what to do with them; this module only talks.
"""

import base64
import hashlib
import html
import logging
import os
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import requests

_logger = logging.getLogger(__name__)

# Seconds, for connecting and for each read: a guest never waits much more than
# about 5 s on Zoom. A single number, as Odoo's test harness expects.
DEFAULT_TIMEOUT = 4.0
DAY = 86400

_sessions = threading.local()


def thread_session():
    """This thread's ``requests`` session: the connection to Zoom (its TLS
    handshake included) is kept alive from one call to the next, and no
    session is shared between threads (requests doesn't promise that)."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
    return session


_callers = {"pid": None, "pool": None}
_callers_lock = threading.Lock()


def _caller_pool():
    """This process's threads that wait on Zoom while Odoo works on (made
    anew in a forked worker: a parent's threads don't follow a fork)."""
    with _callers_lock:
        if _callers["pid"] != os.getpid():
            _callers["pool"] = ThreadPoolExecutor(
                max_workers=32, thread_name_prefix="zoom-call"
            )
            _callers["pid"] = os.getpid()
        return _callers["pool"]


def call_beside(call, meanwhile):
    """``call()`` in another thread while ``meanwhile()`` runs in this one;
    returns what ``call()`` returned, or raises what it raised, once both are
    done. ``call`` must not touch the database: this thread's cursor is
    ``meanwhile``'s. A client made here keeps this thread's session (and its
    kept-alive connection to Zoom): the call's thread has it while
    ``meanwhile`` runs, which makes no Zoom call, so one thread at a time.

    What a guest waits for is then one Zoom round trip, not a round trip plus
    the work that doesn't need Zoom's answer."""
    caller = threading.current_thread()
    names = {
        name: getattr(caller, name)
        for name in ("dbname", "uid")
        if hasattr(caller, name)
    }

    def run():
        # Odoo's log lines name the database from the thread.
        thread = threading.current_thread()
        for name, value in names.items():
            setattr(thread, name, value)
        try:
            return call()
        finally:
            for name in names:
                delattr(thread, name)

    future = _caller_pool().submit(run)
    try:
        meanwhile()
    finally:
        # Not left running when meanwhile() fails: the transaction that made
        # the call ends only once Zoom has answered it.
        wait([future])
    return future.result()


_SECRET_PATTERNS = [
    re.compile(r"(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
    re.compile(
        r"((?:access_token|refresh_token|code|code_verifier|token|client_secret|"
        r"password|pwd|zak)=)[^&\s\"']+"
    ),
    re.compile(
        r"(\"(?:access_token|refresh_token|password|encrypted_password|"
        r"h323_password|pstn_password|start_url|join_url)\"\s*:\s*\")[^\"]*"
    ),
]


def mask_secrets(text):
    """Return ``text`` with tokens, passcodes and Zoom URLs replaced by ``***``."""
    text = str(text)
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


class ZoomError(Exception):
    """Zoom answered with an error, or could not be reached."""

    def __init__(self, message, status=None, code=None, retry_after=None, fields=()):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        # The request fields Zoom named in a validation error.
        self.fields = tuple(fields)


class ZoomUnavailable(ZoomError):
    """Zoom could not be reached, or answered 5xx: try again later."""


class ZoomTimeout(ZoomUnavailable):
    """No answer in time: the request may or may not have been carried out."""


class ZoomRateLimited(ZoomError):
    """Zoom answered 429: back off, for ``retry_after`` seconds when known.
    ``daily``: the host's daily limit of meeting creates and updates, which
    ends at Zoom's reset time (00:00 UTC)."""

    def __init__(self, *args, daily=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.daily = daily


class ZoomAuthError(ZoomError):
    """The access token was refused (401, code 124): refresh and retry once."""


class ZoomInvalidGrant(ZoomError):
    """The refresh token or authorization code is no longer valid: reconnect."""


class ZoomNotFound(ZoomError):
    """The meeting or user does not exist at Zoom (404, e.g. code 3001)."""


class ZoomRequestError(ZoomError):
    """Zoom refused the request itself (other 4xx): retrying will not help."""


def pkce_pair():
    """Return a fresh ``(code_verifier, code_challenge)`` pair for PKCE S256."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return verifier, challenge


def _parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After``: seconds, an ISO-8601 date (what
    Zoom's daily limit sends, e.g. ``2020-05-31T00:00:00Z``) or an HTTP date."""
    if not value:
        return None
    now = time.time() if now is None else now
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, moment.timestamp() - now)


def _xml_error(text):
    """``{"code", "message"}`` of Zoom's XML error answer, or {}. Read with
    two patterns, not an XML parser: it is outside input."""
    found = {}
    for key in ("code", "message"):
        match = re.search(rf"<{key}>([^<]{{0,500}})</{key}>", text or "")
        if match:
            found[key] = html.unescape(match.group(1)).strip()
    if str(found.get("code", "")).isdigit():
        found["code"] = int(found["code"])
    return found


def seconds_to_next_utc_midnight(now=None):
    """When Zoom's daily limits reset: 00:00 UTC."""
    now = time.time() if now is None else now
    return DAY - now % DAY


class ZoomClient:
    """Talks to one Zoom app's OAuth server and API.

    :param oauth_base_url: e.g. ``https://zoom.us``
    :param api_base_url: e.g. ``https://api.zoom.us/v2``
    :param call_logger: optional callable receiving one dict per HTTP call
        (``method``, ``path``, ``status``, ``duration_ms``, ``error``); never a secret.
    :param deadline: optional ``time.monotonic()`` value after which no call is
        made and running calls time out: a guest waits for Zoom only so long.
    """

    def __init__(
        self,
        oauth_base_url,
        api_base_url,
        client_id=None,
        client_secret=None,
        timeout=DEFAULT_TIMEOUT,
        session=None,
        call_logger=None,
        deadline=None,
    ):
        self.oauth_base_url = (oauth_base_url or "").rstrip("/")
        self.api_base_url = (api_base_url or "").rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self.session = session or thread_session()
        self.call_logger = call_logger
        self.deadline = deadline

    # ------------------------------------------------------------------ core
    def request(
        self,
        method,
        url,
        *,
        token=None,
        basic_auth=False,
        json=None,
        data=None,
        params=None,
        timeout=None,
    ):
        """Send one request and return the decoded JSON body (``None`` if empty).

        Raises one of the ``Zoom*`` exceptions on any failure.
        """
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        auth = (self.client_id or "", self.client_secret or "") if basic_auth else None
        path = re.sub(r"^https?://[^/]+", "", url)
        timeout = self._timeout_left(timeout or self.timeout)
        started = time.monotonic()
        status = error = None
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                auth=auth,
                json=json,
                data=data,
                params=params,
                timeout=timeout,
                allow_redirects=False,
            )
            status = response.status_code
        except requests.exceptions.Timeout as exc:
            error = "timeout"
            raise ZoomTimeout("Zoom did not answer in time.") from exc
        except requests.exceptions.RequestException as exc:
            error = "unreachable"
            raise ZoomUnavailable("Zoom could not be reached.") from exc
        finally:
            self._log_call(method, path, status, error, started)
        return self._handle_response(response)

    def _timeout_left(self, timeout):
        """The timeout of a call, shortened to what the deadline leaves."""
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left < 0.2:
            raise ZoomTimeout("No time left to wait for Zoom.")
        return min(timeout, left)

    def _log_call(self, method, path, status, error, started):
        """One line in the server log and, when asked, one call-log entry;
        secrets masked in both."""
        duration_ms = int((time.monotonic() - started) * 1000)
        _logger.info(
            "Zoom %s %s -> %s (%d ms)",
            method,
            mask_secrets(path),
            status or error,
            duration_ms,
        )
        if self.call_logger:
            self.call_logger(
                {
                    "method": method,
                    "path": mask_secrets(path.split("?")[0]),
                    "status": status or 0,
                    "duration_ms": duration_ms,
                    "error": error or "",
                }
            )

    def _handle_response(self, response):
        status = response.status_code
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if 200 <= status < 300:
            return body
        if not isinstance(body, dict):
            # Some of Zoom's gateways answer errors in XML (or HTML).
            body = _xml_error(response.text) if response.content else {}
        code = body.get("code") or body.get("error")
        message = body.get("message") or body.get("reason") or f"HTTP {status}"
        _logger.warning(
            "Zoom error %s (%s): %s", status, code, mask_secrets(message)[:300]
        )
        if status == 429:
            headers = response.headers
            retry_after = _parse_retry_after(headers.get("Retry-After"))
            daily = headers.get("X-RateLimit-Type", "").lower() == "daily-limit"
            if daily and retry_after is None:
                retry_after = seconds_to_next_utc_midnight()
            raise ZoomRateLimited(
                message, status, code, retry_after=retry_after, daily=daily
            )
        if status >= 500:
            raise ZoomUnavailable(message, status, code)
        if body.get("error") == "invalid_grant":
            raise ZoomInvalidGrant(message, status, code)
        if status == 401 and body.get("error") is None:
            raise ZoomAuthError(message, status, code)
        if status == 404:
            raise ZoomNotFound(message, status, code)
        errors = body.get("errors") if isinstance(body.get("errors"), list) else []
        fields = [e.get("field") for e in errors if isinstance(e, dict)]
        raise ZoomRequestError(message, status, code, fields=fields)

    # ----------------------------------------------------------------- OAuth
    def authorize_url(self, redirect_uri, state, code_challenge):
        """URL of Zoom's authorization screen for this app."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.oauth_base_url}/oauth/authorize?{query}"

    def exchange_code(self, code, redirect_uri, code_verifier):
        """Trade an authorization code for tokens (Zoom's token JSON)."""
        return self.request(
            "POST",
            f"{self.oauth_base_url}/oauth/token",
            basic_auth=True,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
        )

    def refresh(self, refresh_token):
        """Trade a refresh token for new tokens; the old refresh token dies."""
        return self.request(
            "POST",
            f"{self.oauth_base_url}/oauth/token",
            basic_auth=True,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        )

    def revoke(self, access_token):
        """Revoke a token at Zoom."""
        # Zoom documents the token as a query parameter, not a form field.
        return self.request(
            "POST",
            f"{self.oauth_base_url}/oauth/revoke",
            basic_auth=True,
            params={"token": access_token},
        )

    # ------------------------------------------------------------------- API
    def get_me(self, token):
        return self.request("GET", f"{self.api_base_url}/users/me", token=token)

    def get_settings(self, token):
        """The user's settings, with the account's passcode policy."""
        return self.request(
            "GET", f"{self.api_base_url}/users/me/settings", token=token
        )

    def create_meeting(self, token, body):
        return self.request(
            "POST", f"{self.api_base_url}/users/me/meetings", token=token, json=body
        )

    def update_meeting(self, token, meeting_id, body):
        return self.request(
            "PATCH",
            f"{self.api_base_url}/meetings/{meeting_id}",
            token=token,
            json=body,
        )

    def delete_meeting(self, token, meeting_id):
        return self.request(
            "DELETE", f"{self.api_base_url}/meetings/{meeting_id}", token=token
        )

    def get_meeting(self, token, meeting_id):
        return self.request(
            "GET", f"{self.api_base_url}/meetings/{meeting_id}", token=token
        )

    def list_upcoming_meetings(self, token, max_pages=10):
        """All of the user's upcoming meetings, following Zoom's pagination."""
        meetings = []
        params = {"type": "upcoming", "page_size": 300}
        for _page in range(max_pages):
            body = (
                self.request(
                    "GET",
                    f"{self.api_base_url}/users/me/meetings",
                    token=token,
                    params=params,
                )
                or {}
            )
            meetings.extend(body.get("meetings") or [])
            next_token = body.get("next_page_token")
            if not next_token:
                break
            params = dict(params, next_page_token=next_token)
        return meetings
