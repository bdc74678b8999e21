"""The public booking pages' paths, built in one place."""

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
