"""What a guest types or sends, checked: timezones, day ranges and the booking
form. Messages are for the guest, in the language of ``env``."""

import re
from datetime import timedelta

import pytz

from odoo import fields
from odoo.tools import email_normalize

from ..exceptions import BookingError
from .text import has_control_chars

MAX_RANGE_DAYS = 42
# Slots are asked for around today: dates far off are refused (and would
# overflow in timezone arithmetic at year 1 or 9999).
MAX_PAST = timedelta(days=31)
MAX_FUTURE = timedelta(days=3660)
FIELD_LIMITS = {"name": 128, "email": 254, "phone": 32, "notes": 2000}
PHONE_RE = re.compile(r"^[0-9+()./\- ]+$")
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+^_{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$"
)
ONE_LINE_FIELDS = ("name", "email", "phone")


def check_timezone(env, tz_name):
    """``tz_name`` if it is an IANA timezone; else BookingError."""
    if not isinstance(tz_name, str) or tz_name not in pytz.all_timezones_set:
        raise BookingError(env._("Unknown timezone."))
    return tz_name


def parse_day_range(env, start, end, tz_name):
    """A guest's slots request, checked: ``(first_day, last_day, tz_name)``."""
    tz_name = check_timezone(env, tz_name)
    try:
        first_day = fields.Date.to_date(start)
        last_day = fields.Date.to_date(end)
    except (ValueError, TypeError):
        first_day = last_day = None
    if not first_day or not last_day:
        raise BookingError(env._("Dates must be given as YYYY-MM-DD."))
    today = fields.Date.context_today(env["res.users"])
    for day in (first_day, last_day):
        if not today - MAX_PAST <= day <= today + MAX_FUTURE:
            raise BookingError(env._("Ask for dates within the next ten years."))
    if last_day < first_day:
        raise BookingError(env._("The end date must not be before the start date."))
    if (last_day - first_day).days >= MAX_RANGE_DAYS:
        raise BookingError(
            env._("Ask for at most %(days)s days at once.", days=MAX_RANGE_DAYS)
        )
    return first_day, last_day, tz_name


def field_label(env, key):
    return {
        "name": env._("Name"),
        "email": env._("Email"),
        "phone": env._("Phone"),
        "notes": env._("Notes"),
    }[key]


def clean_text(env, value, label, limit, one_line=False):
    """A guest's text stripped and checked (``label`` names it in the
    message); BookingError with the guest's message otherwise."""
    if not isinstance(value, str):
        value = ""
    # Browsers send CRLF in a textarea: texts keep their lines, as LF.
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if one_line and "\n" in value:
        raise BookingError(env._("%(field)s must be on one line.", field=label))
    if has_control_chars(value):
        raise BookingError(
            env._("%(field)s contains characters that can't be stored.", field=label)
        )
    if len(value) > limit:
        raise BookingError(
            env._(
                "%(field)s is too long (at most %(limit)s characters).",
                field=label,
                limit=limit,
            )
        )
    return value


def clean_guest_values(env, values):
    """The booking form's ``name``, ``email``, ``phone``, ``notes`` and ``tz``,
    stripped and checked; BookingError with the guest's message otherwise."""
    cleaned = {
        key: clean_text(
            env,
            values.get(key),
            field_label(env, key),
            limit,
            one_line=key in ONE_LINE_FIELDS,
        )
        for key, limit in FIELD_LIMITS.items()
    }
    if not cleaned["name"]:
        raise BookingError(env._("Please enter your name."))
    # One plain address: no display name, no quotes, no markup.
    email = email_normalize(cleaned["email"], strict=True)
    if not email or not EMAIL_RE.match(cleaned["email"]):
        raise BookingError(env._("Please enter a valid email address."))
    cleaned["email"] = email
    if cleaned["phone"] and not PHONE_RE.match(cleaned["phone"]):
        raise BookingError(
            env._("The phone number may only contain digits, spaces and + ( ) . - /.")
        )
    cleaned["tz"] = check_timezone(env, values.get("tz"))
    return cleaned
