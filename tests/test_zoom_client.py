"""The addon's Zoom client against the Zoom double, over real HTTP.

The client is ORM-free, so it is loaded straight from its file, without Odoo.
"""

import importlib.util
import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

CLIENT_FILE = Path(__file__).parents[1] / "zoom_booking" / "tools" / "zoom_client.py"
spec = importlib.util.spec_from_file_location("zoom_client_under_test", CLIENT_FILE)
zc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(zc)


@pytest.fixture
def zoom(d):
    """The module's Zoom double (``tests/conftest.py``), as new."""
    return d


def connect(zoom, **kwargs):
    """A client and a valid access token for the double's default user."""
    client = zc.ZoomClient(zoom.url, zoom.url + "/v2", "cid", "csecret", **kwargs)
    verifier, challenge = zc.pkce_pair()
    redirect = zoom.approve(
        client.authorize_url("http://127.0.0.1/cb", "st", challenge)
    )
    code = redirect.split("code=")[1].split("&")[0]
    tokens = client.exchange_code(code, "http://127.0.0.1/cb", verifier)
    return client, tokens


def meeting_body(**values):
    body = {"topic": "t", "type": 2, "start_time": "2030-01-01T10:00:00Z"}
    body.update(duration=30, **values)
    return body


def test_authorize_url_carries_pkce_and_state(zoom):
    client = zc.ZoomClient(zoom.url, zoom.url + "/v2", "cid", "csecret")
    url = client.authorize_url("http://127.0.0.1/cb", "a.b", "challenge")
    assert url.startswith(zoom.url + "/oauth/authorize?")
    assert "code_challenge_method=S256" in url and "state=a.b" in url


def test_meeting_lifecycle(zoom):
    client, tokens = connect(zoom)
    token = tokens["access_token"]
    meeting = client.create_meeting(token, meeting_body())
    assert client.get_meeting(token, meeting["id"])["id"] == meeting["id"]
    assert client.update_meeting(token, meeting["id"], {"duration": 45}) is None
    assert [m["id"] for m in client.list_upcoming_meetings(token)] == [meeting["id"]]
    assert client.delete_meeting(token, meeting["id"]) is None
    with pytest.raises(zc.ZoomNotFound) as caught:
        client.delete_meeting(token, meeting["id"])
    assert caught.value.code == 3001


def test_upcoming_meetings_follow_pagination(zoom):
    client, tokens = connect(zoom)
    for hour in range(5):
        client.create_meeting(
            tokens["access_token"],
            meeting_body(start_time=f"2030-01-01T0{hour}:00:00Z"),
        )
    meetings = client.list_upcoming_meetings(tokens["access_token"])
    assert len(meetings) == 5


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"action": "status", "status": 503}, zc.ZoomUnavailable),
        ({"action": "drop"}, zc.ZoomUnavailable),
        ({"action": "status", "status": 400}, zc.ZoomRequestError),
        (
            {"action": "rate_limit", "headers": {"Retry-After": "42"}},
            zc.ZoomRateLimited,
        ),
    ],
)
def test_zoom_errors_become_named_exceptions(zoom, fault, error):
    client, tokens = connect(zoom)
    zoom.add_fault(method="POST", path="/v2/users/me/meetings", **fault)
    with pytest.raises(error) as caught:
        client.create_meeting(tokens["access_token"], meeting_body())
    if error is zc.ZoomRateLimited:
        assert caught.value.retry_after == 42


def test_expired_token_and_invalid_grant(zoom):
    client, tokens = connect(zoom)
    zoom.expire_access_tokens()
    with pytest.raises(zc.ZoomAuthError) as caught:
        client.get_me(tokens["access_token"])
    assert caught.value.code == 124
    fresh = client.refresh(tokens["refresh_token"])
    assert client.get_me(fresh["access_token"])["email"]
    with pytest.raises(zc.ZoomInvalidGrant):
        client.refresh(tokens["refresh_token"])  # rotated: the old one is dead


def test_slow_zoom_times_out(zoom):
    client, tokens = connect(zoom, timeout=0.5)
    zoom.add_fault(method="GET", path="/v2/users/me", action="delay", delay_ms=2000)
    started = time.monotonic()
    with pytest.raises(zc.ZoomTimeout):
        client.get_me(tokens["access_token"])
    assert time.monotonic() - started < 1.5


def test_deadline_bounds_the_whole_wait(zoom):
    """However many calls it takes, a guest waits on Zoom only until the deadline."""
    client, tokens = connect(zoom)
    client.deadline = time.monotonic() + 1.0
    zoom.add_fault(
        method="GET", path="/v2/users/me", action="delay", delay_ms=600, times=None
    )
    started = time.monotonic()
    with pytest.raises(zc.ZoomTimeout):
        for _i in range(5):
            client.get_me(tokens["access_token"])
    assert time.monotonic() - started < 1.4


def test_logs_and_call_log_carry_no_secret(zoom, caplog):
    calls = []
    client, tokens = connect(zoom, call_logger=calls.append)
    caplog.set_level(logging.DEBUG)
    meeting = client.create_meeting(tokens["access_token"], meeting_body())
    zoom.add_fault(method="GET", path="/v2/users/me", status=500)
    with pytest.raises(zc.ZoomUnavailable):
        client.get_me(tokens["access_token"])
    text = caplog.text + repr(calls)
    for secret in (
        tokens["access_token"],
        tokens["refresh_token"],
        "csecret",
        meeting["join_url"],
        meeting["start_url"],
        meeting["password"],
    ):
        assert secret not in text
    assert [c["path"] for c in calls][-2:] == ["/v2/users/me/meetings", "/v2/users/me"]


def test_mask_secrets():
    text = 'Bearer abc.def token=xyz {"join_url": "https://z/j/1?pwd=p"}'
    masked = zc.mask_secrets(text)
    assert "abc.def" not in masked and "xyz" not in masked and "pwd=p" not in masked


def test_retry_after_as_seconds_iso_date_or_http_date():
    now = 1_700_000_000  # 2023-11-14T22:13:20Z
    assert zc._parse_retry_after("42", now=now) == 42
    assert zc._parse_retry_after("2023-11-15T00:00:00Z", now=now) == 6400
    assert zc._parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", now=now) == 60
    assert zc._parse_retry_after("2023-11-14T00:00:00Z", now=now) == 0
    assert zc._parse_retry_after("soon", now=now) is None
    assert zc.seconds_to_next_utc_midnight(now) == 6400


def test_daily_limit_waits_for_zoom_reset(zoom):
    client, tokens = connect(zoom)
    token = tokens["access_token"]
    zoom._set_config({"daily_meeting_limit": 0})
    body = {"topic": "t", "type": 2, "start_time": "2031-01-01T10:00:00Z"}
    with pytest.raises(zc.ZoomRateLimited) as caught:
        client.create_meeting(token, body)
    assert caught.value.daily
    left = zc.seconds_to_next_utc_midnight()
    assert abs(caught.value.retry_after - left) < 5
    # Without Retry-After, the wait still ends at Zoom's reset.
    zoom._set_config({"daily_limit_retry_after": False})
    with pytest.raises(zc.ZoomRateLimited) as caught:
        client.create_meeting(token, body)
    assert caught.value.daily
    assert abs(caught.value.retry_after - zc.seconds_to_next_utc_midnight()) < 5


def test_xml_errors_are_understood(zoom):
    client, tokens = connect(zoom)
    zoom._set_config({"xml_error_statuses": [401, 404]})
    with pytest.raises(zc.ZoomAuthError) as caught:
        client.get_me("not-a-token")
    assert (caught.value.code, caught.value.message) == (124, "Invalid access token.")
    with pytest.raises(zc.ZoomNotFound) as caught:
        client.get_meeting(tokens["access_token"], "81234567890")
    assert caught.value.code == 3001


def test_the_callers_work_goes_on_while_zoom_answers(zoom):
    """call_beside: Zoom's answer is awaited in another thread while the
    caller works on. Each side waits for the other to have begun, so run one
    after the other they would fail (no timing involved)."""
    client, tokens = connect(zoom)
    calling, working = threading.Event(), threading.Event()
    workers = []

    def call():
        calling.set()
        assert working.wait(10), "the caller's work did not start meanwhile"
        return client.create_meeting(tokens["access_token"], meeting_body())

    def meanwhile():
        working.set()
        assert calling.wait(10), "the call did not start meanwhile"
        workers.append(threading.current_thread())

    meeting = zc.call_beside(call, meanwhile)
    assert meeting["id"] and zoom.meetings()
    assert workers == [threading.current_thread()]


def test_zooms_error_and_the_callers_come_back_after_both_ended(zoom):
    client, tokens = connect(zoom)
    zoom.add_fault(method="POST", path="/v2/users/me/meetings", status=503)
    done = []
    with pytest.raises(zc.ZoomUnavailable):
        zc.call_beside(
            lambda: client.create_meeting(tokens["access_token"], meeting_body()),
            lambda: done.append("meanwhile"),
        )
    assert done == ["meanwhile"]

    def failing():
        raise RuntimeError("the caller's work failed")

    # The caller's error wins, but only once Zoom has answered: the meeting
    # it made is not left to a request still running.
    with pytest.raises(RuntimeError):
        zc.call_beside(
            lambda: client.create_meeting(tokens["access_token"], meeting_body()),
            failing,
        )
    assert len(zoom.meetings()) == 1


def test_a_forked_worker_waits_on_zoom_with_threads_of_its_own(zoom):
    """Odoo's workers are forked from a server that may have used the pool:
    the parent's threads don't follow a fork, a worker makes its own."""
    client, tokens = connect(zoom)
    assert zc.call_beside(lambda: "parent", lambda: None) == "parent"
    pid = os.fork()
    if pid == 0:  # the worker
        signal.alarm(20)  # a pool of the parent's would never answer
        try:
            meeting = zc.call_beside(
                lambda: client.create_meeting(tokens["access_token"], meeting_body()),
                lambda: None,
            )
            os._exit(0 if meeting["id"] else 1)
        except BaseException:  # noqa: BLE001 - told to the parent by the exit code
            os._exit(2)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(zoom.meetings()) == 1
