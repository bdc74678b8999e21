"""Errors of the guest-facing booking flow; each carries the HTTP status of the
page that shows its message."""

from odoo.exceptions import UserError


class BookingError(UserError):
    """A guest's request cannot be honoured; the message is shown to the guest."""

    http_status = 400


class BookingBusyError(BookingError):
    """Too many bookings of the same host at once: the guest may try again."""

    http_status = 503


class SlotTakenError(BookingError):
    """The chosen slot is no longer free (typically: another guest just took it)."""

    http_status = 409
