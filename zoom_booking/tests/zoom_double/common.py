"""What the parts of the Zoom double share: constants and small HTTP helpers."""

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_USER = "host@example.com"
# What the README tells an admin to select: the app is granted exactly these
# unless a test grants others (config ``granted_scopes``).
DEFAULT_SCOPES = (
    "meeting:write:meeting meeting:update:meeting meeting:delete:meeting "
    "meeting:read:meeting meeting:read:list_meetings user:read:user "
    "user:read:settings"
)
SCOPE = DEFAULT_SCOPES  # the scopes the authorization screen asks for
# Each endpoint's granular scope, and the classic scope that covers it too.
ROUTE_SCOPES = {
    ("GET", "user"): ("user:read:user", "user:read"),
    ("GET", "user_settings"): ("user:read:settings", "user:read"),
    ("POST", "meetings"): ("meeting:write:meeting", "meeting:write"),
    ("GET", "meetings"): ("meeting:read:list_meetings", "meeting:read"),
    ("GET", "meeting"): ("meeting:read:meeting", "meeting:read"),
    ("PATCH", "meeting"): ("meeting:update:meeting", "meeting:write"),
    ("DELETE", "meeting"): ("meeting:delete:meeting", "meeting:write"),
}
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
PASSCODE_SPECIALS = "@-_*"
# Zoom's default passcode policy (an account may make it stricter).
DEFAULT_PASSCODE_POLICY = {
    "length": 0,
    "have_letter": False,
    "have_number": False,
    "have_special_character": False,
    "only_allow_numeric": False,
    "have_upper_and_lower_characters": False,
    "consecutive_characters_length": 0,
    "weak_enhance_detection": False,
}
PASSWORD_MESSAGE = (
    "Password may only contain the following characters: [a-z A-Z 0-9 @ - _ *] "
    "and can have a maximum of 10 characters."
)
# What the authorization screen says of each scope, as Zoom's screen does.
SCOPE_WORDS = {
    "meeting:write:meeting": "Create meetings for you",
    "meeting:update:meeting": "Change your meetings",
    "meeting:delete:meeting": "Delete your meetings",
    "meeting:read:meeting": "View your meetings",
    "meeting:read:list_meetings": "List your meetings",
    "user:read:user": "View your name, email address and timezone",
    "user:read:settings": "View your meeting settings",
}
AUTHORIZE_CSS = (
    "body{margin:0;font-family:Lato,Helvetica,Arial,sans-serif;background:#f4f5f7;"
    "color:#232333}header{background:#fff;border-bottom:1px solid #e4e4ed;"
    "padding:14px 24px}.logo{color:#0b5cff;font-weight:800;font-size:26px;"
    "letter-spacing:-1px}.sandbox{color:#747487;font-size:13px;margin-left:6px}"
    "main{display:flex;justify-content:center;padding:40px 16px}"
    "form{background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08);"
    "padding:32px;max-width:480px;width:100%}h1{font-size:20px;font-weight:400}"
    ".muted{color:#747487;font-size:13px}label{display:block;font-weight:700;"
    "margin-top:16px}input[type=email]{box-sizing:border-box;width:100%;"
    "padding:10px;margin-top:6px;border:1px solid #babacc;border-radius:8px;"
    "font-size:15px}ul{padding-left:20px;line-height:1.8}.buttons{display:flex;"
    "justify-content:flex-end;gap:12px;margin-top:24px}button{border-radius:8px;"
    "padding:10px 22px;font-size:15px;cursor:pointer;border:1px solid #babacc;"
    "background:#fff}#zoom-authorize{background:#0b5cff;border-color:#0b5cff;"
    "color:#fff}"
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


def _zoom_error(status, code, message, errors=None, headers=None):
    body = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return _json_response(status, body, headers)


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


def passcode_problems(password, policy):
    """What breaks the account's passcode policy in ``password`` (a list)."""
    problems = []
    if len(password) < int(policy.get("length") or 0):
        problems.append(f"at least {policy['length']} characters")
    if policy.get("only_allow_numeric") and not password.isdigit():
        problems.append("only numbers")
    if policy.get("have_letter") and not any(c.isalpha() for c in password):
        problems.append("a letter")
    if policy.get("have_number") and not any(c.isdigit() for c in password):
        problems.append("a number")
    if policy.get("have_upper_and_lower_characters") and not (
        any(c.isupper() for c in password) and any(c.islower() for c in password)
    ):
        problems.append("upper and lower case letters")
    if policy.get("have_special_character") and not any(
        c in PASSCODE_SPECIALS for c in password
    ):
        problems.append("a special character (@ - _ *)")
    run = int(policy.get("consecutive_characters_length") or 0)
    if run and _has_consecutive(password, run):
        problems.append(f"no {run} consecutive characters (1111, 1234, abcd)")
    return problems


def _has_consecutive(text, run):
    same = up = 1
    for previous, current in zip(text, text[1:], strict=False):
        same = same + 1 if current == previous else 1
        up = up + 1 if ord(current) == ord(previous) + 1 else 1
        if max(same, up) >= run:
            return True
    return False


def generate_passcode(policy, rng):
    """A passcode Zoom would generate: one that meets ``policy``."""
    length = min(10, max(6, int(policy.get("length") or 0)))
    if policy.get("only_allow_numeric"):
        alphabet = "0123456789"
    else:
        alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        if policy.get("have_special_character"):
            alphabet += PASSCODE_SPECIALS
    while True:
        password = "".join(rng.choice(alphabet) for _ in range(length))
        if not passcode_problems(password, policy):
            return password
