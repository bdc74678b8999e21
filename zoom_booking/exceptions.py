"""The module's errors: those of the guest-facing booking flow carry the HTTP
status of the page that shows their message; those of a Zoom connection."""

from odoo.exceptions import UserError

from .tools.zoom_client import ZoomError


class BookingError(UserError):
    """A guest's request cannot be honoured; the message is shown to the guest."""

    http_status = 400


class BookingBusyError(BookingError):
    """Too many bookings of the same host at once: the guest may try again."""

    http_status = 503


class BookingLimitError(BookingError):
    """Too many bookings from one client address or one email address."""

    http_status = 429


class BookingCaptchaError(BookingError):
    """The captcha addon (reCAPTCHA, Turnstile) did not recognise a person."""

    http_status = 403


class SlotTakenError(BookingError):
    """The chosen slot is no longer free (typically: another guest just took it)."""

    http_status = 409


class SlotLostError(SlotTakenError):
    """Another booking of the same host was committed while this one was being
    made: the booking is tried again at once, in a new transaction, where the
    slot shows as taken (or, on a round-robin calendar, another host free)."""


class ZoomConnectError(UserError):
    """The Zoom connection could not be made; the message is for the user."""


class ZoomNeedsReconnect(ZoomError):
    """The host's Zoom connection is missing or must be renewed by its owner."""
