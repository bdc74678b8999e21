"""Zoom's Meetings API routes, validated as strictly as Zoom does."""

import base64
import copy
import html
import json
import random
import re
import secrets
import string
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from .common import (
    BOOL_SETTINGS,
    DAILY_LIMIT_MESSAGE,
    DEFAULT_SETTINGS,
    LIST_TYPES,
    MEETING_TYPES,
    PASSWORD_MESSAGE,
    PASSWORD_RE,
    ROUTE_SCOPES,
    START_TIME_RE,
    SUMMARY_FIELDS,
    _html_response,
    _is_int,
    _iso,
    _json_response,
    _Response,
    _valid_tz,
    _validation_failed,
    _zoom_error,
    generate_passcode,
    passcode_problems,
)


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


def _join_url(base_url, meeting_id, encrypted):
    return f"{base_url}/j/{meeting_id}" + (f"?pwd={encrypted}" if encrypted else "")


def _numeric_password(password):
    if password.isdigit():
        return password
    return "".join(random.choice(string.digits) for _ in range(max(6, len(password))))


# ---------------------------------------------------------------------------


class MeetingRoutes:
    """The Meetings API routes of the double's request handler."""

    def _join_page(self, kind, meeting_id, query=None):
        """The page a join link opens. As at Zoom, a link whose ``pwd`` is not
        the meeting's current encrypted passcode asks for the passcode."""
        with self.double._lock:
            meeting = copy.deepcopy(self.double._meetings.get(meeting_id))
        if meeting is None:
            return _html_response(404, "<h1>This meeting link is invalid.</h1>\n")
        encrypted = meeting.get("encrypted_password")
        if kind == "j" and encrypted and (query or {}).get("pwd") != encrypted:
            resp = _html_response(
                200,
                "<!DOCTYPE html><html><head><title>Zoom (test double)</title></head>"
                f"<body><h1>Enter meeting passcode</h1><p>Meeting {meeting_id}</p>"
                "</body></html>\n",
            )
            resp.headers["X-Zoom-Double-Join"] = "passcode-required"
            return resp
        label = "Start" if kind == "s" else "Join"
        resp = _html_response(
            200,
            f"<!DOCTYPE html><html><head><title>Zoom (test double)</title></head>"
            f"<body><h1>{label} meeting {meeting_id}</h1>"
            f"<p>{html.escape(meeting['topic'])}</p></body></html>\n",
        )
        resp.headers["X-Zoom-Double-Join"] = "joined"
        return resp

    # ------------------------------------------------------------------ API
    def _api(self, method, path, query, body):
        routes = (
            ("GET", r"/users/([^/]+)", "user", self._get_user),
            ("GET", r"/users/([^/]+)/settings", "user_settings", self._get_settings),
            ("GET", r"/users/([^/]+)/meetings", "meetings", self._list_meetings),
            ("POST", r"/users/([^/]+)/meetings", "meetings", self._create_meeting),
            ("GET", r"/meetings/([^/]+)", "meeting", self._get_meeting),
            ("PATCH", r"/meetings/([^/]+)", "meeting", self._patch_meeting),
            ("DELETE", r"/meetings/([^/]+)", "meeting", self._delete_meeting),
        )
        for route_method, pattern, resource, handler in routes:
            match = re.fullmatch(pattern, path)
            if match and method == route_method:
                func, needed = handler, ROUTE_SCOPES[(method, resource)]
                break
        else:
            return _zoom_error(404, 404, "Not found")
        header = self.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        double = self.double
        with double._lock:
            user, error = double._token_user_locked(token)
            user = dict(user) if user else None
            scopes = double._token_scopes_locked(token)
        if user is None:
            return _zoom_error(401, 124, error)
        granular, classic = needed
        if not scopes & {granular, classic}:
            # Zoom answers a missing scope with 400, not 401 or 403.
            return _zoom_error(
                400,
                4711,
                f"Invalid access token, does not contain scopes:[{granular}]",
            )
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

    def _get_settings(self, user, user_id, query, body):
        if not self._is_self(user, user_id):
            return _zoom_error(404, 1001, f"User does not exist: {user_id}.")
        with self.double._lock:
            settings = copy.deepcopy(self.double._user_settings_locked(user["email"]))
        return _json_response(
            200,
            {
                "schedule_meeting": {
                    "require_password_for_scheduling_new_meetings": settings[
                        "require_passcode"
                    ],
                    "host_video": False,
                    "participants_video": False,
                },
                "meeting_security": {
                    "meeting_password_requirement": settings["passcode_policy"],
                    "waiting_room": False,
                },
            },
        )

    def _passcode_refused_locked(self, user, password):
        """Zoom's answer to a passcode the account's policy refuses, or None."""
        policy = self.double._user_settings_locked(user["email"])["passcode_policy"]
        problems = passcode_problems(password, policy)
        if not problems:
            return None
        return _validation_failed(
            [
                {
                    "field": "password",
                    "message": "The passcode does not meet the account's passcode "
                    "requirements: " + ", ".join(problems) + ".",
                }
            ]
        )

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
            headers = {
                "X-RateLimit-Type": "Daily-limit",
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
            }
            if double.daily_limit_retry_after:
                # Zoom's daily reset: the next 00:00 UTC, as an ISO date.
                headers["Retry-After"] = _iso((int(double.now()) // 86400 + 1) * 86400)
            return _zoom_error(
                429, 429, DAILY_LIMIT_MESSAGE.format(limit=limit), headers=headers
            )
        double._daily[key] = used + 1
        return None

    def _alternative_hosts_refused_locked(self, user, fields):
        emails = fields.get("settings", {}).get("alternative_hosts") or ""
        email = self.double._alternative_hosts_refused_locked(user, emails)
        if email is None:
            return None
        # Zoom accepts as alternative hosts only users of the host's own
        # account (its web page says "not part of the same account").
        return _zoom_error(
            400, 1114, f"Alternative host is not in this account: {email}."
        )

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
            refused = self._alternative_hosts_refused_locked(user, fields)
            if refused:
                return refused
            account = double._user_settings_locked(user["email"])
            if "password" in fields:
                refused = self._passcode_refused_locked(user, fields["password"])
                if refused:
                    return refused
                password = fields["password"]
            elif account["require_passcode"]:
                # Zoom makes one that meets the account's policy.
                password = generate_passcode(account["passcode_policy"], random)
            else:
                password = ""
            encrypted = secrets.token_urlsafe(24) if password else ""
            numeric = _numeric_password(password) if password else ""
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
                "join_url": _join_url(double.url, meeting_id, encrypted),
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
            refused = self._alternative_hosts_refused_locked(user, fields)
            if refused:
                return refused
            if "password" in fields:
                refused = self._passcode_refused_locked(user, fields["password"])
                if refused:
                    return refused
            over = self._daily_quota_locked(user)
            if over:
                return over
            settings = fields.pop("settings", None)
            if fields.get("password", meeting["password"]) != meeting["password"]:
                # A new passcode is a new encrypted passcode in the join URL:
                # links handed out before no longer let anyone in.
                meeting["encrypted_password"] = secrets.token_urlsafe(24)
                meeting["join_url"] = _join_url(
                    double.url, meeting["id"], meeting["encrypted_password"]
                )
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
            if meeting["status"] == "started":
                return _zoom_error(
                    400,
                    3002,
                    "Sorry, you cannot delete this meeting since it is in progress.",
                )
            if meeting["status"] == "finished":
                return _zoom_error(
                    400,
                    3007,
                    "Sorry, you cannot delete this meeting since it has ended.",
                )
            del double._meetings[meeting["id"]]
        return _Response(204)
