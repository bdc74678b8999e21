"""The Zoom API bound to one user's Zoom connection: real methods, each call
with the connection's access token (refreshed in one place, the connection)."""

from .passcodes import make_passcode


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
        policy = self._connection._passcode_policy(self)
        return None if policy is None else make_passcode(policy)

    def refresh_passcode_policy(self):
        return self._connection._passcode_policy(self, refresh=True)

    def create_meeting(self, body):
        return self._connection._call_with_token(self._client.create_meeting, body)

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
