"""A local stand-in for Zoom's OAuth and Meetings API, served on loopback."""

from .state import ZoomDouble
from .webhook import sign_webhook, url_validation_response

__all__ = ["ZoomDouble", "sign_webhook", "url_validation_response"]
