"""Tests of the local Zoom double (zoom_booking/tests/zoom_double)."""

import base64
import hashlib
import html
import json
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from zoom_double import ZoomDouble, sign_webhook
from zoom_double.webhook import url_validation_response

CLIENT_ID = "cid"
CLIENT_SECRET = "csecret"
WEBHOOK_SECRET = "wsecret"
REDIRECT = "http://localhost:8069/zoom/oauth/callback"
DOUBLE_PARENT = Path(__file__).resolve().parents[1] / "zoom_booking" / "tests"
VECTORS = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "zoom-webhook-vectors.json"
)


# ---------------------------------------------------------------- helpers
def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        .decode()
        .rstrip("=")
    )
    return verifier, challenge


def authorize_url(d, state="st-1", challenge=None, redirect_uri=REDIRECT):
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return f"{d.url}/oauth/authorize?{urlencode(params)}"


def redirect_params(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def token_request(d, data, auth=(CLIENT_ID, CLIENT_SECRET)):
    return requests.post(f"{d.url}/oauth/token", data=data, auth=auth, timeout=5)


def get_code(d, challenge=None, state="st-1", redirect_uri=REDIRECT):
    url = authorize_url(d, state=state, challenge=challenge, redirect_uri=redirect_uri)
    return redirect_params(d.approve(url))["code"]


def login(d, email=None):
    """Full authorization (with PKCE); returns the token response."""
    if email:
        d.set_authorizing_user(email)
    verifier, challenge = pkce_pair()
    code = get_code(d, challenge=challenge)
    resp = token_request(
        d,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def api(d, method, path, token, **kwargs):
    kwargs.setdefault("timeout", 5)
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, f"{d.url}/v2{path}", headers=headers, **kwargs)


def future(days=1, hours=0):
    when = datetime.now(timezone.utc) + timedelta(days=days, hours=hours)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def create(d, token, **fields):
    body = {"topic": "Consultation", "type": 2, "duration": 30}
    body["start_time"] = future()
    body.update(fields)
    return api(d, "POST", "/users/me/meetings", token, json=body)


class Receiver:
    """A tiny local webhook receiver recording raw deliveries."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"headers": dict(self.headers), "raw": raw})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/zoom/webhook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()


# ---------------------------------------------------------------- webhook
def load_vectors():
    if not VECTORS.exists():
        pytest.skip(f"webhook test vectors not found at shared/{VECTORS.name}")
    return json.loads(VECTORS.read_text())


def test_sign_webhook_vectors():
    vectors = load_vectors()
    cases = [*vectors["webhooks"], vectors["url_validation"]]
    for case in cases:
        ts = case["x-zm-request-timestamp"]
        body = case["raw_body"]
        assert sign_webhook(case["secret_token"], ts, body) == case["x-zm-signature"]
        assert (
            sign_webhook(case["secret_token"], ts, body.encode())
            == case["x-zm-signature"]
        )


def test_url_validation_response_vector():
    case = load_vectors()["url_validation"]
    plain = json.loads(case["raw_body"])["payload"]["plainToken"]
    response = url_validation_response(case["secret_token"], plain)
    assert response == case["expected_response"]


def test_send_webhook_is_signed(d, receiver):
    resp = d.send_webhook(
        receiver.url, "meeting.deleted", {"object": {"id": 1}}, timestamp="1700000000"
    )
    assert resp.status_code == 200
    got = receiver.received[0]
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["x-zm-request-timestamp"] == "1700000000"
    assert headers["x-zm-signature"] == sign_webhook(
        WEBHOOK_SECRET, "1700000000", got["raw"]
    )
    assert json.loads(got["raw"])["event"] == "meeting.deleted"


# ------------------------------------------------------------------ oauth
def test_full_authorize_flow_with_pkce(d):
    d.add_user("alice@example.com", "Alice", "Doe", timezone="Europe/Brussels")
    d.set_authorizing_user("alice@example.com")
    verifier, challenge = pkce_pair()
    state = "a b/+=&é?x"
    page = requests.get(authorize_url(d, state=state, challenge=challenge), timeout=5)
    assert page.status_code == 200
    assert "Zoom (sandbox)" in page.text
    assert "alice@example.com" in page.text
    assert (
        '<button type="submit" name="decision" value="allow" '
        'id="zoom-authorize">Authorize</button>'
    ) in page.text
    assert 'value="deny"' in page.text
    fields = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page.text
        )
    }
    assert fields["state"] == state
    assert fields["code_challenge"] == challenge
    resp = requests.post(
        f"{d.url}/oauth/authorize",
        data={**fields, "decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    params = redirect_params(location)
    assert params["state"] == state
    tokens = token_request(
        d,
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200
    data = tokens.json()
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 3600
    assert data["api_url"] == d.url
    assert data["scope"] == (
        "meeting:write:meeting meeting:update:meeting meeting:delete:meeting "
        "meeting:read:meeting meeting:read:list_meetings user:read:user "
        "user:read:settings"
    )
    assert data["access_token"] and data["refresh_token"]
    me = api(d, "GET", "/users/me", data["access_token"])
    assert me.status_code == 200
    user = me.json()
    assert user["email"] == "alice@example.com"
    assert user["timezone"] == "Europe/Brussels"
    assert user["display_name"] == "Alice Doe"
    assert user["type"] == 1 and user["status"] == "active"
    assert len(user["id"]) == 22 and len(user["account_id"]) == 22
    assert user["id"] == d.add_user("alice@example.com")["id"]  # stable id
    form = d.requests("POST", "/oauth/token")[-1]["form"]
    assert form["grant_type"] == "authorization_code"


def test_authorize_page_errors(d):
    bad = authorize_url(d).replace(f"client_id={CLIENT_ID}", "client_id=nope")
    resp = requests.get(bad, timeout=5)
    assert resp.status_code == 400
    assert "text/html" in resp.headers["Content-Type"]
    resp = requests.get(f"{d.url}/oauth/authorize?response_type=code", timeout=5)
    assert resp.status_code == 400
    with pytest.raises(ValueError):
        d.approve(bad)


def test_decline(d):
    url = authorize_url(d, state="s&t")
    assert redirect_params(d.deny(url)) == {"error": "access_denied", "state": "s&t"}
    page = requests.get(url, timeout=5).text
    fields = dict(re.findall(r'name="([^"]*)" value="([^"]*)">', page))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    resp = requests.post(
        f"{d.url}/oauth/authorize",
        data={**fields, "decision": "deny"},
        allow_redirects=False,
        timeout=5,
    )
    assert resp.status_code == 302
    assert redirect_params(resp.headers["Location"]) == {
        "error": "access_denied",
        "state": "s&t",
    }


def test_token_errors(d):
    invalid = {"reason": "Invalid authorization code", "error": "invalid_grant"}
    verifier, challenge = pkce_pair()
    # wrong verifier
    code = get_code(d, challenge=challenge)
    base = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    resp = token_request(d, {**base, "code_verifier": "x" * 50})
    assert (resp.status_code, resp.json()) == (400, invalid)
    resp = token_request(d, base)  # missing verifier
    assert (resp.status_code, resp.json()) == (400, invalid)
    # wrong redirect_uri
    resp = token_request(
        d, {**base, "code_verifier": verifier, "redirect_uri": REDIRECT + "x"}
    )
    assert (resp.status_code, resp.json()) == (400, invalid)
    # bad Basic auth
    for auth in ((CLIENT_ID, "wrong"), ("other", CLIENT_SECRET), None):
        resp = token_request(d, {**base, "code_verifier": verifier}, auth=auth)
        assert resp.status_code == 401
        assert resp.json() == {
            "reason": "Invalid client_id or client_secret",
            "error": "invalid_client",
        }
    # JSON body refused
    resp = requests.post(
        f"{d.url}/oauth/token",
        json={**base, "code_verifier": verifier},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=5,
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
    # the code is still good after all those failures, then single-use
    resp = token_request(d, {**base, "code_verifier": verifier})
    assert resp.status_code == 200
    resp = token_request(d, {**base, "code_verifier": verifier})
    assert (resp.status_code, resp.json()) == (400, invalid)


def test_code_expires_after_five_minutes(d):
    code = get_code(d)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    d.advance_clock(301)
    resp = token_request(d, data)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    code = get_code(d)
    d.advance_clock(290)
    assert token_request(d, {**data, "code": code}).status_code == 200


def test_refresh_rotation(d):
    first = login(d)
    resp = token_request(
        d, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert resp.status_code == 200
    second = resp.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert api(d, "GET", "/users/me", second["access_token"]).status_code == 200
    again = token_request(
        d, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert again.status_code == 400
    assert again.json() == {"reason": "Invalid Token!", "error": "invalid_grant"}
    resp = token_request(
        d, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )
    assert resp.status_code == 200


def test_concurrent_refresh_only_one_wins(d):
    tokens = login(d)
    results = []

    def refresh():
        resp = token_request(
            d, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        results.append(resp.status_code)

    threads = [threading.Thread(target=refresh) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 400, 400, 400, 400]


def test_reauthorizing_invalidates_older_tokens(d):
    old = login(d)
    new = login(d)
    resp = api(d, "GET", "/users/me", old["access_token"])
    assert resp.status_code == 401
    assert resp.json() == {"code": 124, "message": "Invalid access token."}
    assert api(d, "GET", "/users/me", new["access_token"]).status_code == 200
    # another user's tokens are not affected
    other = login(d, "bob@example.com")
    assert api(d, "GET", "/users/me", new["access_token"]).status_code == 200
    assert api(d, "GET", "/users/me", other["access_token"]).json()["email"] == (
        "bob@example.com"
    )


def revoke(d, token, form=False, auth=(CLIENT_ID, CLIENT_SECRET)):
    """POST /oauth/revoke with the token in the query, or in a form body."""
    where = {"data": {"token": token}} if form else {"params": {"token": token}}
    return requests.post(f"{d.url}/oauth/revoke", auth=auth, timeout=5, **where)


def test_revoke(d):
    tokens = login(d)
    # Zoom documents the token in the query; a form body is unconfirmed.
    assert revoke(d, tokens["access_token"], form=True).status_code == 400
    assert api(d, "GET", "/users/me", tokens["access_token"]).status_code == 200
    resp = revoke(d, tokens["access_token"])
    assert resp.status_code == 200 and resp.json() == {"status": "success"}
    assert api(d, "GET", "/users/me", tokens["access_token"]).status_code == 401
    resp = token_request(
        d, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert resp.status_code == 400
    assert revoke(d, "x", auth=("a", "b")).status_code == 401


def test_revoke_with_a_form_body_when_zoom_accepts_it(d):
    d._set_config({"revoke_accepts_form_body": True})
    tokens = login(d)
    assert revoke(d, tokens["access_token"], form=True).status_code == 200
    assert api(d, "GET", "/users/me", tokens["access_token"]).status_code == 401


def test_api_auth_errors(d):
    invalid = {"code": 124, "message": "Invalid access token."}
    resp = api(d, "GET", "/users/me", None)
    assert (resp.status_code, resp.json()) == (401, invalid)
    resp = api(d, "GET", "/users/me", "garbage")
    assert (resp.status_code, resp.json()) == (401, invalid)
    tokens = login(d)
    resp = requests.get(
        f"{d.url}/v2/users/me",
        params={"access_token": tokens["access_token"]},
        timeout=5,
    )
    assert (resp.status_code, resp.json()["code"]) == (401, 124)


def test_expired_access_token(d):
    tokens = login(d)
    d.expire_access_tokens()
    resp = api(d, "GET", "/users/me", tokens["access_token"])
    assert resp.status_code == 401
    assert resp.json() == {"code": 124, "message": "Access token is expired."}
    # refreshing gives a working token
    new = token_request(
        d, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    ).json()
    assert api(d, "GET", "/users/me", new["access_token"]).status_code == 200
    # the clock also expires tokens; token_expires_in is configurable
    d.token_expires_in = 60
    newer = login(d)
    assert newer["expires_in"] == 60
    d.advance_clock(61)
    resp = api(d, "GET", "/users/me", newer["access_token"])
    assert resp.json()["message"] == "Access token is expired."


# --------------------------------------------------------------- meetings
def test_meeting_lifecycle(d):
    token = login(d)["access_token"]
    start = future(days=2)
    resp = create(
        d,
        token,
        start_time=start,
        timezone="Europe/Brussels",
        agenda="Talk",
        settings={"join_before_host": False, "waiting_room": True, "jbh_time": 5},
    )
    assert resp.status_code == 201, resp.text
    meeting = resp.json()
    mid = meeting["id"]
    assert isinstance(mid, int) and 80000000000 <= mid <= 99999999999
    assert meeting["start_time"] == start
    assert meeting["timezone"] == "Europe/Brussels"
    assert meeting["status"] == "waiting"
    assert meeting["host_email"] == "host@example.com"
    assert meeting["join_url"].startswith(f"{d.url}/j/{mid}?pwd=")
    assert meeting["start_url"].startswith(f"{d.url}/s/{mid}?zak=")
    assert re.fullmatch(r"[A-Za-z0-9]{6,10}", meeting["password"])
    assert meeting["settings"]["waiting_room"] is True
    assert meeting["settings"]["jbh_time"] == 5
    for key in ("uuid", "host_id", "h323_password", "pstn_password", "created_at"):
        assert meeting[key]
    assert meeting["encrypted_password"] in meeting["join_url"]

    got = api(d, "GET", f"/meetings/{mid}", token)
    assert got.status_code == 200 and got.json() == meeting

    new_start = future(days=3)
    resp = api(
        d,
        "PATCH",
        f"/meetings/{mid}",
        token,
        json={"start_time": new_start, "topic": "X"},
    )
    assert resp.status_code == 204 and resp.content == b""
    got = api(d, "GET", f"/meetings/{mid}", token).json()
    assert (got["start_time"], got["topic"]) == (new_start, "X")
    assert got["settings"]["waiting_room"] is True

    past = future(days=0, hours=-1)
    resp = api(d, "PATCH", f"/meetings/{mid}", token, json={"start_time": past})
    assert resp.status_code == 400 and resp.json()["code"] == 300

    resp = api(d, "DELETE", f"/meetings/{mid}?schedule_for_reminder=false", token)
    assert resp.status_code == 204
    for method in ("GET", "DELETE"):
        resp = api(d, method, f"/meetings/{mid}", token)
        assert resp.status_code == 404
        assert resp.json() == {
            "code": 3001,
            "message": f"Meeting does not exist: {mid}.",
        }
    resp = api(d, "PATCH", f"/meetings/{mid}", token, json={"topic": "Y"})
    assert resp.status_code == 404 and resp.json()["code"] == 3001
    assert d.meetings() == []


def test_local_start_time_converted_to_utc(d):
    token = login(d)["access_token"]
    resp = create(
        d, token, start_time="2031-07-01T10:00:00", timezone="Europe/Brussels"
    )
    assert resp.status_code == 201
    assert resp.json()["start_time"] == "2031-07-01T08:00:00Z"
    # without timezone: the user's timezone
    d.add_user("ny@example.com", timezone="America/New_York")
    token = login(d, "ny@example.com")["access_token"]
    resp = create(d, token, start_time="2031-01-15T10:00:00")
    assert resp.json()["start_time"] == "2031-01-15T15:00:00Z"
    assert resp.json()["timezone"] == "America/New_York"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"topic": "x" * 201}, "topic"),
        ({"type": 5}, "type"),
        ({"agenda": "x" * 2001}, "agenda"),
        ({"duration": 0}, "duration"),
        ({"duration": 1441}, "duration"),
        ({"duration": "30"}, "duration"),
        ({"start_time": "2030-01-01 10:00"}, "start_time"),
        ({"start_time": "2030-01-01T10:00:00+02:00"}, "start_time"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"password": "x" * 11}, "password"),
        ({"settings": {"jbh_time": 7}}, "settings.jbh_time"),
        ({"settings": {"auto_recording": "tape"}}, "settings.auto_recording"),
    ],
)
def test_meeting_validation(d, fields, field):
    token = login(d)["access_token"]
    resp = create(d, token, **fields)
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == 300 and body["message"] == "Validation Failed."
    assert field in [e["field"] for e in body["errors"]]
    assert d.meetings() == []


def test_malformed_json_and_unknown_route(d):
    token = login(d)["access_token"]
    resp = api(
        d,
        "POST",
        "/users/me/meetings",
        token,
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 400 and resp.json()["code"] == 300
    resp = api(d, "GET", "/nope", token)
    assert resp.status_code == 404
    assert resp.json() == {"code": 404, "message": "Not found"}
    resp = requests.get(f"{d.url}/whatever", timeout=5)
    assert resp.status_code == 404


def test_password_kept_and_meetings_belong_to_their_user(d):
    token = login(d)["access_token"]
    meeting = create(d, token, password="abc123").json()
    assert meeting["password"] == "abc123"
    other = login(d, "bob@example.com")["access_token"]
    resp = api(d, "GET", f"/meetings/{meeting['id']}", other)
    assert resp.status_code == 404 and resp.json()["code"] == 3001
    assert len(d.meetings("host@example.com")) == 1
    assert d.meetings("bob@example.com") == []


def test_list_upcoming_sorted_and_paginated(d):
    token = login(d)["access_token"]
    for days in (3, 1, 2, 4, 5):
        assert create(d, token, start_time=future(days=days)).status_code == 201
    past = future(days=-1)
    assert create(d, token, start_time=past).status_code == 201
    seen = []
    page_token = ""
    while True:
        resp = api(
            d,
            "GET",
            "/users/me/meetings",
            token,
            params={"type": "upcoming", "page_size": 2, "next_page_token": page_token},
        )
        assert resp.status_code == 200
        body = resp.json()
        assert body["total_records"] == 5 and body["page_size"] == 2
        assert set(body["meetings"][0]) == {
            "uuid",
            "id",
            "host_id",
            "topic",
            "type",
            "start_time",
            "duration",
            "timezone",
            "agenda",
            "created_at",
            "join_url",
        }
        seen += [m["start_time"] for m in body["meetings"]]
        page_token = body["next_page_token"]
        if not page_token:
            break
    assert len(seen) == 5 and seen == sorted(seen) and past not in seen
    # the double's clock decides what is upcoming
    d.advance_clock(int(timedelta(days=2, hours=12).total_seconds()))
    token = login(d)["access_token"]  # the old token expired with the clock
    body = api(d, "GET", "/users/me/meetings?type=upcoming", token).json()
    assert body["total_records"] == 3 and body["next_page_token"] == ""


def test_daily_create_update_limit(d):
    token = login(d)["access_token"]
    d.daily_meeting_limit = 2
    mid = create(d, token).json()["id"]
    resp = api(d, "PATCH", f"/meetings/{mid}", token, json={"topic": "Again"})
    assert resp.status_code == 204
    resp = create(d, token)
    assert resp.status_code == 429 and resp.json()["code"] == 429
    d.advance_clock(86400)
    token = login(d)["access_token"]
    assert create(d, token, start_time=future(days=3)).status_code == 201


def test_user_by_id_and_join_pages(d):
    tokens = login(d)
    me = api(d, "GET", "/users/me", tokens["access_token"]).json()
    resp = api(d, "GET", f"/users/{me['id']}", tokens["access_token"])
    assert resp.status_code == 200 and resp.json() == me
    resp = api(d, "GET", "/users/someone-else", tokens["access_token"])
    assert resp.status_code == 404 and resp.json()["code"] == 1001
    meeting = create(d, tokens["access_token"], topic="Visible").json()
    page = requests.get(meeting["join_url"], timeout=5)
    assert page.status_code == 200 and "Visible" in page.text
    assert meeting["h323_password"] == meeting["pstn_password"]
    assert meeting["h323_password"].isdigit()


# ----------------------------------------------------------------- faults
def test_fault_status(d):
    token = login(d)["access_token"]
    d.add_fault(status=503, body={"code": 503, "message": "down"}, times=1)
    resp = create(d, token)
    assert resp.status_code == 503 and resp.json()["message"] == "down"
    assert d.meetings() == []
    assert create(d, token).status_code == 201  # times=1: consumed
    assert [r["status"] for r in d.requests("POST", "/v2/users/me/meetings")] == [
        503,
        201,
    ]


def test_fault_regex_forever_and_clear(d):
    token = login(d)["access_token"]
    d.add_fault(method="GET", path=r"^/v2/meetings/\d+$", status=500, times=None)
    mid = create(d, token).json()["id"]
    for _ in range(3):
        assert api(d, "GET", f"/meetings/{mid}", token).status_code == 500
    d.clear_faults()
    assert api(d, "GET", f"/meetings/{mid}", token).status_code == 200


def test_fault_rate_limit(d):
    token = login(d)["access_token"]
    d.add_fault(action="rate_limit")
    resp = create(d, token)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "1"
    assert resp.json()["code"] == 429
    assert resp.json()["message"].startswith(
        "You have reached the maximum per-second rate limit"
    )
    d.add_fault(action="rate_limit", headers={"Retry-After": "7"})
    assert create(d, token).headers["Retry-After"] == "7"


def test_fault_delay(d):
    token = login(d)["access_token"]
    d.add_fault(action="delay", delay_ms=400)
    started = time.monotonic()
    resp = create(d, token)
    assert resp.status_code == 201
    assert time.monotonic() - started >= 0.4


def test_fault_timeout_after_success(d):
    token = login(d)["access_token"]
    d.add_fault(action="timeout_after_success", delay_ms=1500)
    with pytest.raises(requests.Timeout):
        api(
            d,
            "POST",
            "/users/me/meetings",
            token,
            json={"topic": "Lost answer", "type": 2, "duration": 30},
            timeout=0.5,
        )
    meetings = d.meetings()
    assert [m["topic"] for m in meetings] == ["Lost answer"]
    assert d.requests("POST", "/v2/users/me/meetings")[-1]["status"] == 201


def test_fault_drop(d):
    token = login(d)["access_token"]
    d.add_fault(method="POST", path="/oauth/token", action="drop")
    with pytest.raises(requests.ConnectionError):
        token_request(d, {"grant_type": "refresh_token", "refresh_token": "x"})
    assert d.requests("POST", "/oauth/token")[-1]["status"] == 0
    d.add_fault(action="drop")
    with pytest.raises(requests.ConnectionError):
        create(d, token)
    assert d.meetings() == []


def test_latency(d):
    d.latency_ms = 300
    started = time.monotonic()
    resp = requests.get(f"{d.url}/v2/users/me", timeout=5)
    assert resp.status_code == 401
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    requests.get(f"{d.url}/_double/requests", timeout=5)  # control: no latency
    assert time.monotonic() - started < 0.3
    d.reset()
    assert d.latency_ms == 0


def test_request_log(d):
    tokens = login(d)
    create(d, tokens["access_token"], topic="Logged")
    entry = d.requests("POST", "/v2/users/me/meetings")[0]
    assert entry["json"]["topic"] == "Logged"
    assert entry["status"] == 201
    assert entry["headers"]["authorization"] == f"Bearer {tokens['access_token']}"
    assert entry["headers"]["Authorization"] == entry["headers"]["authorization"]
    assert "AUTHORIZATION" in entry["headers"]
    assert entry["headers"].get("x-missing") is None
    assert entry["form"] is None and isinstance(entry["time"], float)
    # Whose account each request drove: the token's user, or None.
    assert entry["zoom_user"] == "host@example.com"  # the default Zoom user
    requests.get(
        f"{d.url}/v2/users/me", headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert d.requests("GET", "/v2/users/me")[-1]["zoom_user"] is None
    assert d.requests(path="^/oauth/")
    assert not [r for r in d.requests() if r["path"].startswith("/_double")]
    d.clear_requests()
    assert d.requests() == []


# --------------------------------------------------------- process control
def test_restart_on_same_port():
    double = ZoomDouble(CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET)
    double.start()
    url = double.url
    session = requests.Session()  # keeps a pooled connection across the stop
    assert session.get(f"{url}/v2/users/me", timeout=5).status_code == 401
    double.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(f"{url}/v2/users/me", timeout=2)
    double.start()
    try:
        assert double.url == url
        assert session.get(f"{url}/v2/users/me", timeout=5).status_code == 401
    finally:
        double.stop()


def test_deauthorize_posts_signed_webhook(d, receiver):
    user = d.add_user("carol@example.com", "Carol", "C")
    tokens = login(d, "carol@example.com")
    result = d.deauthorize("carol@example.com", webhook_url=receiver.url)
    assert result == {"status": 200, "body": {}}
    assert api(d, "GET", "/users/me", tokens["access_token"]).status_code == 401
    resp = token_request(
        d, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert resp.status_code == 400
    got = receiver.received[0]
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["content-type"].startswith("application/json")
    ts = headers["x-zm-request-timestamp"]
    assert abs(int(ts) - time.time()) < 60
    assert headers["x-zm-signature"] == sign_webhook(WEBHOOK_SECRET, ts, got["raw"])
    event = json.loads(got["raw"])
    assert event["event"] == "app_deauthorized"
    payload = event["payload"]
    assert payload["user_id"] == user["id"]
    assert payload["account_id"] == user["account_id"]
    assert payload["client_id"] == CLIENT_ID
    assert payload["deauthorization_time"].endswith("Z")
    assert payload["signature"]
    assert d.deauthorize("carol@example.com") is None


def test_control_routes_over_http(d, receiver):
    base = f"{d.url}/_double"

    def call(method, path, **kwargs):
        resp = requests.request(method, base + path, timeout=5, **kwargs)
        assert resp.status_code == 200, resp.text
        return resp.json()

    user = call("POST", "/users", json={"email": "dan@example.com", "timezone": "UTC"})
    assert user["email"] == "dan@example.com" and len(user["id"]) == 22
    call("POST", "/authorizing_user", json={"email": "dan@example.com"})
    verifier, challenge = pkce_pair()
    redirect = call(
        "POST",
        "/approve",
        json={"authorize_url": authorize_url(d, challenge=challenge)},
    )["redirect"]
    tokens = token_request(
        d,
        {
            "grant_type": "authorization_code",
            "code": redirect_params(redirect)["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    ).json()
    token = tokens["access_token"]
    assert api(d, "GET", "/users/me", token).json()["email"] == "dan@example.com"

    call("POST", "/faults", json={"method": "GET", "path": "/v2/users/me"})
    assert api(d, "GET", "/users/me", token).status_code == 503
    call("POST", "/faults", json={"method": "GET", "path": "/v2/users/me"})
    call("DELETE", "/faults")
    assert api(d, "GET", "/users/me", token).status_code == 200

    config = call("POST", "/config", json={"latency_ms": 0, "token_expires_in": 120})
    assert config["token_expires_in"] == 120

    assert create(d, token).status_code == 201
    meetings = call("GET", "/meetings")
    assert len(meetings) == 1 and meetings[0]["host_email"] == "dan@example.com"

    logged = call("GET", "/requests", params={"method": "POST", "path": "/oauth/token"})
    assert len(logged) == 1 and logged[0]["status"] == 200
    call("DELETE", "/requests")
    assert call("GET", "/requests") == []

    call("POST", "/expire_tokens", json={})
    assert api(d, "GET", "/users/me", token).json()["message"] == (
        "Access token is expired."
    )
    call("POST", "/clock", json={"advance_seconds": 10})

    result = call(
        "POST",
        "/deauthorize",
        json={"email": "dan@example.com", "webhook_url": receiver.url},
    )
    assert result["status"] == 200
    assert json.loads(receiver.received[0]["raw"])["event"] == "app_deauthorized"

    call("POST", "/reset")
    assert call("GET", "/meetings") == []
    assert d.token_expires_in == 3600
    resp = requests.post(base + "/nope", timeout=5)
    assert resp.status_code == 404


def _run_cli(args, cwd):
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("ZOOM_DOUBLE_URL=http://127.0.0.1:"), line
        url = line.split("=", 1)[1]
        resp = requests.post(
            f"{url}/_double/users", json={"email": "cli@example.com"}, timeout=5
        )
        assert resp.status_code == 200
        resp = requests.get(f"{url}/v2/users/me", timeout=5)
        assert resp.status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    assert rc == 0


@pytest.mark.parametrize(
    "args",
    [
        ["zoom_double", "--port", "0"],
        ["-m", "zoom_double", "--host", "127.0.0.1", "--port", "0"],
    ],
)
def test_cli(args):
    creds = ["--client-id", "a", "--client-secret", "b", "--webhook-secret", "w"]
    _run_cli([*args, *creds], cwd=DOUBLE_PARENT)
