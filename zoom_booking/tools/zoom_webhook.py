"""Zoom webhook signatures (scheme "v0"), without the ORM.

``x-zm-signature = "v0=" + hex(HMAC_SHA256(secret, "v0:{timestamp}:{raw_body}"))``,
computed over the raw request bytes.
"""

import hashlib
import hmac
import time

MAX_AGE = 300  # seconds: Zoom's samples refuse deliveries older than 5 minutes
# Zoom retries an unanswered delivery 5, 25 and 85 minutes after the first try,
# and whether it signs a retry anew is undocumented: a delivery signed up to
# this long ago is still Zoom's (replays are harmless: each event is handled
# once).
RETRY_WINDOW = 2 * 3600


def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def sign(secret, timestamp, raw_body):
    """The ``x-zm-signature`` header value of ``raw_body`` sent at ``timestamp``."""
    message = b"v0:" + _to_bytes(timestamp) + b":" + _to_bytes(raw_body)
    return "v0=" + hmac.new(_to_bytes(secret), message, hashlib.sha256).hexdigest()


def verify(
    secret, timestamp, raw_body, signature, now=None, max_age=MAX_AGE, max_ahead=None
):
    """Whether ``signature`` is Zoom's for this body and ``timestamp`` is fresh.

    :param timestamp: the ``x-zm-request-timestamp`` header (epoch seconds).
    :param now: the current epoch time (for tests).
    :param max_age: seconds ``timestamp`` may be in the past.
    :param max_ahead: seconds it may be in the future (clock skew); ``max_age``
        by default.
    """
    if not secret or not timestamp or not signature:
        return False
    timestamp = timestamp.decode() if isinstance(timestamp, bytes) else str(timestamp)
    # Epoch seconds have 10 digits for centuries: anything longer is not Zoom's
    # (and int() of thousands of digits raises).
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    now = time.time() if now is None else now
    age = now - int(timestamp)
    if age > max_age or -age > (max_age if max_ahead is None else max_ahead):
        return False
    # Bytes on both sides: compare_digest refuses non-ASCII str.
    return hmac.compare_digest(
        sign(secret, timestamp, raw_body).encode(), _to_bytes(signature)
    )


def url_validation_response(secret, plain_token):
    """Zoom's expected answer to an ``endpoint.url_validation`` event."""
    encrypted = hmac.new(
        _to_bytes(secret), _to_bytes(plain_token), hashlib.sha256
    ).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}
