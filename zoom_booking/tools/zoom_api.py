"""The Zoom API bound to one user's Zoom connection: real methods, each call
with the connection's access token (refreshed in one place, the connection)."""

import logging

from .passcodes import make_passcode
from .zoom_client import ZoomRequestError

_logger = logging.getLogger(__name__)


class ZoomApi:
    """The Zoom API as one connection's user: the client's calls, each with the
    connection's access token (refreshed in one place, the connection)."""

    def __init__(self, connection, client):
        self._connection = connection
        self._client = client

    def get_me(self):
        return self._connection._call_with_token(self._client.get_me)

    def get_settings(self):
        return self._connection._call_with_token(self._client.get_settings)

    def new_passcode(self):
        """A passcode for a new meeting that the host's account accepts; None
        when the account's policy can't be read (then Zoom makes one, if the
        account asks for passcodes)."""
        policy = self.passcode_policy()
        return None if policy is None else make_passcode(policy)

    def refresh_passcode_policy(self):
        return self.passcode_policy(refresh=True)

    def passcode_policy(self, refresh=False):
        """The account's passcode policy, read from Zoom once and kept on the
        connection; None when Zoom won't tell (e.g. a scope is missing)."""
        connection = self._connection.sudo()
        if connection.passcode_policy is not None and not refresh:
            return connection.passcode_policy
        try:
            settings = self.get_settings() or {}
        except ZoomRequestError as exc:
            _logger.info("Zoom passcode policy unreadable: %s", exc.message)
            return None
        policy = (settings.get("meeting_security") or {}).get(
            "meeting_password_requirement"
        )
        connection.passcode_policy = policy if isinstance(policy, dict) else {}
        return connection.passcode_policy

    def create_meeting(self, body, meanwhile=None):
        """Create a meeting; ``meanwhile()`` runs while Zoom answers."""
        return self._connection._call_with_token(
            self._client.create_meeting, body, meanwhile=meanwhile
        )

    def update_meeting(self, meeting_id, body):
        return self._connection._call_with_token(
            self._client.update_meeting, meeting_id, body
        )

    def delete_meeting(self, meeting_id):
        return self._connection._call_with_token(
            self._client.delete_meeting, meeting_id
        )

    def get_meeting(self, meeting_id):
        return self._connection._call_with_token(self._client.get_meeting, meeting_id)

    def list_upcoming_meetings(self):
        return self._connection._call_with_token(self._client.list_upcoming_meetings)
