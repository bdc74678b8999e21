"""The pure code in ``zoom_booking/tools``: slot maths, text helpers and booking
paths, tested with plain pytest, without Odoo or a database.

The tools are ORM-free, so they are loaded straight from their files."""

import importlib.util
from datetime import date, datetime, timedelta
from pathlib import Path

TOOLS = Path(__file__).parents[1] / "zoom_booking" / "tools"


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f"tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


slot_maths = load_tool("slots")
text = load_tool("text")
urls = load_tool("urls")
compute_free_slots = slot_maths.compute_free_slots
availability_windows = slot_maths.availability_windows

H = timedelta(hours=1)
M30 = timedelta(minutes=30)


def dt(*args):
    return datetime(*args)


def assert_equal(actual, expected):
    assert actual == expected


def test_windows_minus_busy():
    windows = [(dt(2026, 12, 1, 9), dt(2026, 12, 1, 12))]
    busy = [(dt(2026, 12, 1, 10), dt(2026, 12, 1, 10, 30))]
    slots = compute_free_slots(windows, busy, M30)
    assert_equal(
        slots,
        [
            dt(2026, 12, 1, 9),
            dt(2026, 12, 1, 9, 30),
            dt(2026, 12, 1, 10, 30),
            dt(2026, 12, 1, 11),
            dt(2026, 12, 1, 11, 30),
        ],
    )


def test_buffers():
    windows = [(dt(2026, 12, 1, 9), dt(2026, 12, 1, 12))]
    busy = [(dt(2026, 12, 1, 10), dt(2026, 12, 1, 10, 30))]
    slots = compute_free_slots(
        windows, busy, M30, buffer_before=M30, buffer_after=timedelta(minutes=15)
    )
    # 9:00 ends 9:30 + 15 min buffer: free; 9:30 would touch the busy time.
    assert_equal(
        slots, [dt(2026, 12, 1, 9), dt(2026, 12, 1, 11), dt(2026, 12, 1, 11, 30)]
    )


def test_notice_and_horizon():
    windows = [(dt(2026, 12, 1, 9), dt(2026, 12, 1, 17))]
    slots = compute_free_slots(
        windows, [], H, earliest=dt(2026, 12, 1, 10, 10), latest=dt(2026, 12, 1, 14)
    )
    # Steps stay aligned on the window's start.
    assert_equal(slots, [dt(2026, 12, 1, 11), dt(2026, 12, 1, 12), dt(2026, 12, 1, 13)])


def test_step_and_overlapping_busy():
    windows = [(dt(2026, 12, 1, 9), dt(2026, 12, 1, 12))]
    busy = [
        (dt(2026, 12, 1, 9, 15), dt(2026, 12, 1, 11)),
        (dt(2026, 12, 1, 9, 30), dt(2026, 12, 1, 9, 45)),  # inside the first
        (dt(2026, 12, 1, 8), dt(2026, 12, 1, 8, 30)),  # unsorted, before
    ]
    slots = compute_free_slots(windows, busy, H, step=timedelta(minutes=15))
    assert_equal(slots, [dt(2026, 12, 1, 11)])


def test_unsorted_windows_and_busy_across_windows():
    windows = [
        (dt(2026, 12, 2, 9), dt(2026, 12, 2, 11)),
        (dt(2026, 12, 1, 9), dt(2026, 12, 1, 11)),
    ]
    busy = [(dt(2026, 12, 1, 10), dt(2026, 12, 2, 10))]
    assert_equal(
        compute_free_slots(windows, busy, H),
        [dt(2026, 12, 1, 9), dt(2026, 12, 2, 10)],
    )


def test_large_input_is_linear():
    """20,000 windows and 20,000 busy intervals: a product would not finish."""
    start = dt(2026, 1, 1)
    windows = [(start + i * H, start + (i + 1) * H) for i in range(20000)]
    busy = [(start + i * H, start + i * H + M30) for i in range(0, 40000, 2)]
    slots = compute_free_slots(windows, busy, M30)
    # 2 slots an hour, less the first half of every other hour.
    assert_equal(len(slots), 40000 - 10000)


def test_berlin_spring_forward():
    # 2026-03-29: Berlin jumps from 02:00 CET to 03:00 CEST.
    windows = availability_windows(
        [(6, 0, 6)], "Europe/Berlin", date(2026, 3, 29), date(2026, 3, 29)
    )
    assert_equal(windows, [(dt(2026, 3, 28, 23), dt(2026, 3, 29, 4))])


def test_new_york_fall_back():
    # 2026-11-01: New York repeats 01:00-02:00 (EDT, then EST).
    windows = availability_windows(
        [(6, 0, 4)], "America/New_York", date(2026, 11, 1), date(2026, 11, 1)
    )
    assert_equal(windows, [(dt(2026, 11, 1, 4), dt(2026, 11, 1, 9))])


def test_merge_intervals_sorts_and_joins_touching_ones():
    merged = slot_maths.merge_intervals(
        [
            (dt(2026, 1, 1, 12), dt(2026, 1, 1, 13)),
            (dt(2026, 1, 1, 9), dt(2026, 1, 1, 10)),
            (dt(2026, 1, 1, 10), dt(2026, 1, 1, 11)),
            (dt(2026, 1, 1, 14), dt(2026, 1, 1, 14)),
        ]
    )
    assert merged == [
        (dt(2026, 1, 1, 9), dt(2026, 1, 1, 11)),
        (dt(2026, 1, 1, 12), dt(2026, 1, 1, 13)),
    ]


def test_parse_and_format_utc():
    assert slot_maths.parse_utc("2026-12-01T09:30:00Z") == dt(2026, 12, 1, 9, 30)
    assert slot_maths.parse_utc("2026-12-01T18:30:00+09:00") == dt(2026, 12, 1, 9, 30)
    for bad in ("", "tomorrow", "2026-13-01T00:00:00Z", None, 12, "9" * 41):
        assert slot_maths.parse_utc(bad) is None
    assert slot_maths.format_utc(dt(2026, 12, 1, 9, 30)) == "2026-12-01T09:30:00Z"


def test_slugify():
    assert text.slugify("Démo produit – 30 min") == "demo-produit-30-min"
    assert text.slugify("製品デモ") == ""
    assert len(text.slugify("a" * 200)) == 60


def test_control_characters():
    assert not text.has_control_chars("Line one\nLine two\tand a tab")
    assert text.has_control_chars("NUL\x00")
    assert text.has_control_chars("escape\x1b[31m")


def test_format_meeting_id():
    assert text.format_meeting_id(92674392836) == "926 7439 2836"
    assert text.format_meeting_id("1234567890") == "123 456 7890"
    assert text.format_meeting_id("123456789") == "123 456 789"
    assert text.format_meeting_id("12345") == "12345"


def test_scrub_removes_plain_and_escaped_forms():
    secret = "https://zoom.us/j/123456789?pwd=a&b"
    body = f"Join {secret} or <a href='{secret.replace('&', '&amp;')}'>here</a>"
    assert secret not in text.scrub(body, {secret})
    assert "&amp;" not in text.scrub(body, {secret})
    assert text.scrub(body, {secret}).count("[removed]") == 2


def test_booking_paths():
    assert urls.booking_path(slug="product-demo") == "/book/product-demo"
    assert urls.booking_path(slug="product-demo", action="slots") == (
        "/book/product-demo/slots"
    )
    assert urls.booking_path(token="abc") == "/book/booking/abc"
    assert urls.booking_path(token="abc", action="cancel") == "/book/booking/abc/cancel"


def test_parse_utc_at_the_ends_of_time():
    assert slot_maths.parse_utc("9999-12-31T23:59:59-01:00") is None
    assert slot_maths.parse_utc("0001-01-01T00:00:00+01:00") is None
    assert slot_maths.parse_utc("9999-12-31T23:59:59Z") == dt(9999, 12, 31, 23, 59, 59)


def test_remove_zoom_details_drops_the_whole_zoom_block():
    body = (
        "<p>Booked.</p>"
        '<div class="o_zoom_details" style="margin: 0">'
        '<p><strong>Zoom meeting</strong></p><a href="https://zoom.us/j/1?pwd=x">Join</a>'
        "<p>Meeting ID: 926 7439 2836<br/>Passcode: <strong>Ab12Cd</strong></p></div>"
        "<div>Kept</div>"
    )
    cleaned = text.remove_zoom_details(body)
    assert cleaned == "<p>Booked.</p><div>Kept</div>"
    assert text.remove_zoom_details('<div class="other">x</div>') == (
        '<div class="other">x</div>'
    )
