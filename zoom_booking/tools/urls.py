"""The public booking pages' paths, built in one place, and the links that
add a booking to a guest's own calendar."""

from urllib.parse import urlencode

BOOKING_PREFIX = "/book"


def booking_path(*, slug=None, token=None, action=None):
    """Path of a booking calendar's page (``slug``) or of one booking's page
    (``token``, the guest's secret), with an optional ``action``: ``slots``,
    ``cancel`` or ``reschedule``."""
    if token:
        path = f"{BOOKING_PREFIX}/booking/{token}"
    else:
        path = f"{BOOKING_PREFIX}/{slug}"
    return f"{path}/{action}" if action else path


def add_to_calendar_links(title, start, stop, details, location):
    """Google Calendar's and Outlook's "new event" links (``start`` and
    ``stop`` naive UTC datetimes), as their own sites build them."""
    google = "https://calendar.google.com/calendar/render?" + urlencode(
        {
            "action": "TEMPLATE",
            "text": title,
            "dates": f"{start:%Y%m%dT%H%M%SZ}/{stop:%Y%m%dT%H%M%SZ}",
            "details": details,
            "location": location,
        }
    )
    outlook = "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(
        {
            "path": "/calendar/action/compose",
            "rru": "addevent",
            "subject": title,
            "startdt": f"{start:%Y-%m-%dT%H:%M:%SZ}",
            "enddt": f"{stop:%Y-%m-%dT%H:%M:%SZ}",
            "body": details,
            "location": location,
        }
    )
    return {"google": google, "outlook": outlook}
