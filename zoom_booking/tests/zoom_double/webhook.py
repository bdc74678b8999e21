"""Zoom webhook signing helpers (scheme "v0", as documented by Zoom)."""

import hashlib
import hmac


def _to_bytes(value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def sign_webhook(secret, timestamp, raw_body):
    """Return the ``x-zm-signature`` header value for a webhook delivery.

    ``"v0=" + hex(HMAC_SHA256(secret, "v0:" + timestamp + ":" + raw_body))``
    computed over the raw body bytes.
    """
    message = b"v0:" + _to_bytes(timestamp) + b":" + _to_bytes(raw_body)
    digest = hmac.new(_to_bytes(secret), message, hashlib.sha256).hexdigest()
    return "v0=" + digest


def url_validation_response(secret, plain_token):
    """Return the answer Zoom expects to an ``endpoint.url_validation`` event."""
    encrypted = hmac.new(
        _to_bytes(secret), _to_bytes(plain_token), hashlib.sha256
    ).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}
