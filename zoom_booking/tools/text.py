"""Text helpers without the ORM: link names, guest input, Zoom identifiers."""

import re
import unicodedata

from markupsafe import escape

# Control characters (NUL included, which PostgreSQL refuses) have no place in
# a guest's answers; line feeds and tabs are checked by the caller.
CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def slugify(value):
    """A URL-safe slug: lowercase ASCII words separated by dashes."""
    text = unicodedata.normalize("NFKD", value or "")
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60].strip("-")


def has_control_chars(value):
    """Whether ``value`` holds a control character other than LF and TAB."""
    return bool(CONTROL_CHARS_RE.search(value.replace("\n", "").replace("\t", "")))


def format_meeting_id(meeting_id):
    """Zoom's way of showing a meeting ID: ``926 7439 2836``, ``123 456 7890``."""
    digits = "".join(ch for ch in str(meeting_id or "") if ch.isdigit())
    sizes = {9: (3, 3, 3), 10: (3, 3, 4), 11: (3, 4, 4)}.get(len(digits))
    if not sizes:
        return digits
    parts, position = [], 0
    for size in sizes:
        parts.append(digits[position : position + size])
        position += size
    return " ".join(parts)


# The Zoom block of the module's own mails: one div without nested divs.
ZOOM_DETAILS_RE = re.compile(
    r"<div\b[^>]*\bclass=\"[^\"]*\bo_zoom_details\b[^\"]*\"[^>]*>.*?</div>",
    re.DOTALL,
)


def remove_zoom_details(html):
    """``html`` without the Zoom block of the module's mails (join link,
    meeting ID, passcode), whatever values it held."""
    return ZOOM_DETAILS_RE.sub("", html)


def scrub(text, secrets_):
    """``text`` without any of ``secrets_`` (also in their HTML-escaped form)."""
    for value in sorted(secrets_, key=len, reverse=True):
        for form in {value, str(escape(value))}:
            text = text.replace(form, "[removed]")
    return text
