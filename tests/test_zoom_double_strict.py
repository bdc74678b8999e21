"""The Zoom double refuses what real Zoom refuses (``shared/zoom-api.md``):
scopes per endpoint, the account's passcode policy, a new passcode re-encoding
the join URL, no deletion of running or ended meetings, daily-limit answers."""

import re
from datetime import datetime, timedelta, timezone

import pytest
import requests
from test_zoom_double import DOUBLE_PARENT, api, login

MEETING = {"topic": "Intro", "type": 2, "start_time": "2030-01-07T10:00:00Z"}


def token_of(d, email="host@example.com"):
    return login(d, email)["access_token"]


def create(d, token, **body):
    return api(d, "POST", "/users/me/meetings", token, json=dict(MEETING, **body))


# ------------------------------------------------------------------- scopes
def test_by_default_the_app_has_exactly_the_readme_scopes(d):
    # The scopes the addon's configuration steps tell an admin to select.
    configure = (DOUBLE_PARENT.parent / "readme" / "CONFIGURE.md").read_text()
    readme_scopes = re.findall(r"`((?:meeting|user):[a-z_]+:[a-z_]+)`", configure)
    assert len(readme_scopes) == 7
    assert sorted(login(d)["scope"].split()) == sorted(readme_scopes)


@pytest.mark.parametrize(
    "method, path, scope",
    [
        ("GET", "/users/me", "user:read:user"),
        ("GET", "/users/me/settings", "user:read:settings"),
        ("POST", "/users/me/meetings", "meeting:write:meeting"),
        ("GET", "/users/me/meetings?type=upcoming", "meeting:read:list_meetings"),
        ("GET", "/meetings/{id}", "meeting:read:meeting"),
        ("PATCH", "/meetings/{id}", "meeting:update:meeting"),
        ("DELETE", "/meetings/{id}", "meeting:delete:meeting"),
    ],
)
def test_each_endpoint_needs_its_scope(d, method, path, scope):
    meeting = create(d, token_of(d)).json()
    everything_else = [s for s in d.granted_scopes.split() if s != scope]
    d._set_config({"granted_scopes": " ".join(everything_else)})
    token = token_of(d)
    body = {"topic": "Moved"} if method == "PATCH" else None
    if method == "POST":
        body = MEETING
    resp = api(d, method, path.format(id=meeting["id"]), token, json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json() == {
        "code": 4711,
        "message": f"Invalid access token, does not contain scopes:[{scope}]",
    }
    # Granted again, the same call goes through.
    d._set_config({"granted_scopes": " ".join([*everything_else, scope])})
    resp = api(d, method, path.format(id=meeting["id"]), token_of(d), json=body)
    assert resp.status_code in (200, 201, 204), resp.text


def test_classic_scopes_cover_their_granular_ones(d):
    d._set_config({"granted_scopes": "meeting:write meeting:read user:read"})
    token = token_of(d)
    meeting = create(d, token).json()
    assert api(d, "GET", f"/meetings/{meeting['id']}", token).status_code == 200
    assert api(d, "GET", "/users/me/settings", token).status_code == 200
    resp = api(d, "DELETE", f"/meetings/{meeting['id']}", token)
    assert resp.status_code == 204


# ---------------------------------------------------------- passcode policy
STRICT = {
    "length": 8,
    "have_upper_and_lower_characters": True,
    "have_special_character": True,
    "consecutive_characters_length": 3,
}


def test_settings_show_the_passcode_policy(d):
    d.set_user_settings("host@example.com", passcode_policy=STRICT)
    settings = api(d, "GET", "/users/me/settings", token_of(d)).json()
    requirement = settings["meeting_security"]["meeting_password_requirement"]
    assert requirement["length"] == 8
    assert requirement["have_special_character"] is True
    assert settings["schedule_meeting"]["require_password_for_scheduling_new_meetings"]


@pytest.mark.parametrize("password", ["a1b2c3d4", "Ab@1", "Abc@defgh", "AB@12xyz"])
def test_a_passcode_the_policy_refuses_fails_the_create(d, password):
    d.set_user_settings("host@example.com", passcode_policy=STRICT)
    resp = create(d, token_of(d), password=password)
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == 300
    assert resp.json()["errors"][0]["field"] == "password"
    assert d.meetings() == []


def test_only_numeric_policy(d):
    d.set_user_settings(
        "host@example.com", passcode_policy={"only_allow_numeric": True, "length": 6}
    )
    token = token_of(d)
    assert create(d, token, password="a1b2c3").status_code == 400
    assert create(d, token, password="591736").status_code == 201


def test_without_a_passcode_zoom_makes_one_that_meets_the_policy(d):
    d.set_user_settings("host@example.com", passcode_policy=STRICT)
    token = token_of(d)
    for _ in range(20):
        meeting = create(d, token).json()
        password = meeting["password"]
        assert len(password) >= 8
        assert any(c.isupper() for c in password)
        assert any(c.islower() for c in password)
        assert any(c in "@-_*" for c in password)
        assert "pwd=" in meeting["join_url"]


def test_no_passcode_when_the_account_requires_none(d):
    d.set_user_settings("host@example.com", require_passcode=False)
    meeting = create(d, token_of(d)).json()
    assert meeting["password"] == ""
    assert "pwd=" not in meeting["join_url"]


def test_a_new_passcode_re_encodes_the_join_url(d):
    token = token_of(d)
    meeting = create(d, token, password="first1").json()
    # A PATCH that keeps the passcode keeps the link.
    resp = api(
        d,
        "PATCH",
        f"/meetings/{meeting['id']}",
        token,
        json={"start_time": "2030-01-08T10:00:00Z"},
    )
    assert resp.status_code == 204
    same = api(d, "GET", f"/meetings/{meeting['id']}", token).json()
    assert same["join_url"] == meeting["join_url"]
    # A new passcode: the link handed out before is no longer the meeting's.
    resp = api(
        d,
        "PATCH",
        f"/meetings/{meeting['id']}",
        token,
        json={"password": "second2"},
    )
    assert resp.status_code == 204
    changed = api(d, "GET", f"/meetings/{meeting['id']}", token).json()
    assert changed["password"] == "second2"
    assert changed["join_url"] != meeting["join_url"]
    assert changed["encrypted_password"] in changed["join_url"]


def test_a_patch_passcode_must_meet_the_policy(d):
    token = token_of(d)
    meeting = create(d, token).json()
    d.set_user_settings("host@example.com", passcode_policy=STRICT)
    resp = api(
        d, "PATCH", f"/meetings/{meeting['id']}", token, json={"password": "abc"}
    )
    assert resp.status_code == 400
    unchanged = api(d, "GET", f"/meetings/{meeting['id']}", token).json()
    assert unchanged["password"] == meeting["password"]


# ------------------------------------------------------ running and ended
@pytest.mark.parametrize(
    "status, code", [("started", 3002), ("finished", 3007), ("waiting", None)]
)
def test_running_or_ended_meetings_cannot_be_deleted(d, status, code):
    token = token_of(d)
    meeting = create(d, token).json()
    d.set_meeting_status(meeting["id"], status)
    resp = api(d, "DELETE", f"/meetings/{meeting['id']}", token)
    if code:
        assert resp.status_code == 400
        assert resp.json()["code"] == code
        assert len(d.meetings()) == 1
    else:
        assert resp.status_code == 204
        assert d.meetings() == []


# ------------------------------------------------------------- daily limit
def test_daily_limit_answers_as_zoom_does(d):
    d._set_config({"daily_meeting_limit": 2})
    token = token_of(d)
    assert create(d, token).status_code == 201
    meeting = create(d, token).json()
    resp = create(d, token)
    assert resp.status_code == 429
    assert resp.headers["X-RateLimit-Type"] == "Daily-limit"
    assert resp.headers["X-RateLimit-Limit"] == "2"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    reset = datetime.strptime(resp.headers["Retry-After"], "%Y-%m-%dT%H:%M:%SZ")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert now < reset <= now + timedelta(days=1)
    assert (reset.hour, reset.minute, reset.second) == (0, 0, 0)
    # Updates count too.
    resp = api(d, "PATCH", f"/meetings/{meeting['id']}", token, json={"topic": "Again"})
    assert resp.status_code == 429


def test_daily_limit_without_retry_after(d):
    d._set_config({"daily_meeting_limit": 0, "daily_limit_retry_after": False})
    resp = create(d, token_of(d))
    assert resp.status_code == 429
    assert resp.headers["X-RateLimit-Type"] == "Daily-limit"
    assert "Retry-After" not in resp.headers


def test_control_routes_for_settings_and_status(d):
    token = token_of(d)
    meeting = create(d, token).json()
    resp = requests.post(
        f"{d.url}/_double/meeting_status",
        json={"id": meeting["id"], "status": "finished"},
        timeout=5,
    )
    assert resp.status_code == 200
    resp = requests.post(
        f"{d.url}/_double/user_settings",
        json={"email": "host@example.com", "passcode_policy": {"length": 9}},
        timeout=5,
    )
    assert resp.status_code == 200
    assert api(d, "DELETE", f"/meetings/{meeting['id']}", token).status_code == 400
    assert create(d, token, password="short1").status_code == 400


def test_a_join_link_with_an_old_passcode_asks_for_the_passcode(d):
    token = token_of(d)
    meeting = create(d, token, password="first1").json()
    joined = requests.get(meeting["join_url"], timeout=5)
    assert joined.headers["X-Zoom-Double-Join"] == "joined"
    api(d, "PATCH", f"/meetings/{meeting['id']}", token, json={"password": "second2"})
    stale = requests.get(meeting["join_url"], timeout=5)
    assert stale.status_code == 200
    assert stale.headers["X-Zoom-Double-Join"] == "passcode-required"
    current = api(d, "GET", f"/meetings/{meeting['id']}", token).json()["join_url"]
    assert requests.get(current, timeout=5).headers["X-Zoom-Double-Join"] == "joined"


# ------------------------------------------------------------ webhook retries
class Receiver:
    """A webhook endpoint on loopback that fails its first ``failures`` calls."""

    def __init__(self, failures):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self
        self.failures, self.calls = failures, []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                status = 500 if len(receiver.calls) <= receiver.failures else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("resign", [False, True])
def test_webhook_retries_on_zooms_schedule(d, resign):
    d._set_config({"webhook_retry_resign": resign})
    receiver = Receiver(failures=3)
    try:
        d.send_webhook(
            receiver.url, "meeting.deleted", {"object": {"id": 1}}, retry=True
        )
        assert len(receiver.calls) == 1
        first_ts = int(receiver.calls[0][0]["x-zm-request-timestamp"])
        assert d.deliver_due_webhooks() == []  # not yet
        for delay, minutes in ((300, 5), (1500, 25), (5100, 85)):
            d.advance_clock(delay - (d.now() - d._pending_webhooks[0]["first_try"]))
            (result,) = d.deliver_due_webhooks()
            headers, body = receiver.calls[-1]
            assert body == receiver.calls[0][1]  # the same event
            age = int(headers["x-zm-request-timestamp"]) - first_ts
            if resign:
                assert abs(age) <= 2
            else:
                # The first signature: as old as the delay, to the receiver.
                assert abs(age + minutes * 60) <= 2
            assert result["retry"] == len(receiver.calls) - 1
        assert len(receiver.calls) == 4
        # Answered at the third retry: nothing more is sent.
        d.advance_clock(86400)
        assert d.deliver_due_webhooks() == []
        assert d.pending_webhooks() == []
    finally:
        receiver.close()


def test_webhook_retries_stop_after_three(d):
    receiver = Receiver(failures=10)
    try:
        d.send_webhook(
            receiver.url, "meeting.deleted", {"object": {"id": 1}}, retry=True
        )
        for _ in range(5):
            d.advance_clock(6000)
            d.deliver_due_webhooks()
        assert len(receiver.calls) == 4
        assert d.pending_webhooks() == []
    finally:
        receiver.close()


def test_app_deauthorized_in_both_shapes(d):
    receiver = Receiver(failures=0)
    try:
        d.deauthorize("host@example.com", receiver.url)
        d.deauthorize("host@example.com", receiver.url, event_ts_in_payload=True)
        import json

        top, inside = (json.loads(body) for _headers, body in receiver.calls)
        assert isinstance(top["event_ts"], int)
        assert "event_ts" not in top["payload"]
        assert "event_ts" not in inside
        assert isinstance(inside["payload"]["event_ts"], str)
        for data in (top, inside):
            assert data["payload"]["user_data_retention"] is None
            assert data["payload"]["user_id"]
    finally:
        receiver.close()


def test_some_errors_come_in_xml(d):
    d._set_config({"xml_error_statuses": [401]})
    resp = api(d, "GET", "/users/me", "not-a-token")
    assert resp.status_code == 401
    assert resp.headers["Content-Type"].startswith("application/xml")
    assert "<code>124</code>" in resp.text
    assert "<message>Invalid access token.</message>" in resp.text


def test_a_meeting_edited_in_zoom_sends_only_what_changed(d):
    import json

    meeting = create(d, token_of(d)).json()
    receiver = Receiver(failures=0)
    try:
        d.host_edits_meeting(meeting["id"], receiver.url, topic="Renamed")
        (_headers, body) = receiver.calls[0]
        data = json.loads(body)
        assert data["event"] == "meeting.updated"
        assert data["payload"]["object"] == {"id": meeting["id"], "topic": "Renamed"}
        assert data["payload"]["old_object"] == {"id": meeting["id"], "topic": "Intro"}
        assert "host_id" not in data["payload"]["object"]
        assert d.meetings()[0]["topic"] == "Renamed"
    finally:
        receiver.close()
