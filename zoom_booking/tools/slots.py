"""Slot maths on naive UTC datetimes, without the ORM.

:func:`compute_free_slots` sweeps sorted availability windows and busy intervals
once with two pointers, linear in (slots + busy intervals);
:func:`availability_windows` turns weekly local hours into UTC windows, day by
day, across daylight-saving changes.
"""

from datetime import datetime, time, timedelta

import pytz


def merge_intervals(intervals):
    """Sort ``(start, end)`` intervals and merge the overlapping or touching ones.

    The result is sorted with increasing, disjoint intervals, so both starts and
    ends are monotonic: what the two-pointer sweep relies on.
    """
    merged = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def compute_free_slots(
    windows,
    busy,
    duration,
    step=None,
    buffer_before=timedelta(0),
    buffer_after=timedelta(0),
    earliest=None,
    latest=None,
):
    """Start times of the free slots, as a sorted list.

    :param windows: ``(start, end)`` naive UTC datetimes when the host is available
    :param busy: ``(start, end)`` naive UTC datetimes when the host is busy
    :param duration: ``timedelta``, length of a booking
    :param step: ``timedelta`` between two slot starts (default: ``duration``)
    :param buffer_before: free time needed before a booking
    :param buffer_after: free time needed after a booking
    :param earliest: no slot starts before this (notice, start of the range)
    :param latest: no slot starts at or after this (horizon, end of the range)

    Both lists are sorted (O(n log n)) and then swept once with two pointers, so
    the sweep costs O(slots + busy), never O(slots * busy).
    """
    step = step or duration
    if duration <= timedelta(0) or step <= timedelta(0):
        return []
    windows = merge_intervals(windows)
    busy = merge_intervals(busy)
    slots = []
    b = 0
    for w_start, w_end in windows:
        start = w_start
        if earliest is not None and start < earliest:
            # First step of this window at or after ``earliest``.
            start += -((start - earliest) // step) * step
        while start + duration <= w_end:
            if latest is not None and start >= latest:
                return slots
            low = start - buffer_before
            high = start + duration + buffer_after
            # Busy intervals ending before this slot can't matter to later slots.
            while b < len(busy) and busy[b][1] <= low:
                b += 1
            if b < len(busy) and busy[b][0] < high:
                # Skip straight past the conflicting busy interval.
                start += max(1, -((busy[b][1] - low) // -step)) * step
                continue
            slots.append(start)
            start += step
    return slots


def availability_windows(lines, tz_name, first_day, last_day):
    """UTC windows of weekly availability ``lines`` for local days in a range.

    :param lines: iterable of ``(weekday, hour_from, hour_to)``, weekday 0=Monday,
        hours as floats in the host's local time (24.0 = end of day)
    :param tz_name: the host's IANA timezone
    :param first_day: first local ``date`` (inclusive)
    :param last_day: last local ``date`` (inclusive)

    Local wall-clock times are converted day by day, so each day gets its own UTC
    offset: on a daylight-saving day the window is shorter or longer in real time,
    and wall-clock times that don't exist are moved past the gap.
    """
    tz = pytz.timezone(tz_name)
    by_weekday = {}
    for weekday, hour_from, hour_to in lines:
        by_weekday.setdefault(int(weekday), []).append((hour_from, hour_to))
    windows = []
    day = first_day
    while day <= last_day:
        for hour_from, hour_to in by_weekday.get(day.weekday(), ()):
            start = local_to_utc(tz, day, hour_from)
            end = local_to_utc(tz, day, hour_to)
            if end > start:
                windows.append((start, end))
        day += timedelta(days=1)
    return sorted(windows)


def local_to_utc(tz, day, hours):
    minutes = round(hours * 60)
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes)
    # is_dst=False: a skipped time (spring forward) is read with the offset before
    # the gap and lands after it; a repeated time (fall back) takes its 2nd reading.
    local = tz.localize(naive, is_dst=False)
    return local.astimezone(pytz.utc).replace(tzinfo=None)


def parse_utc(value):
    """Parse an ISO-8601 UTC datetime string into a naive UTC datetime, or None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(pytz.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None  # not a date, or beyond year 1 to 9999 once in UTC
    return parsed.replace(microsecond=0)


def format_utc(value):
    """A naive UTC datetime as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def combine_slots(slots_of_hosts, every_host=False):
    """The team's free slot starts, sorted: those free for any host (round
    robin), or for every host (``every_host``: collective)."""
    sets = [set(slots) for slots in slots_of_hosts]
    if not sets:
        return []
    combined = set.intersection(*sets) if every_host else set.union(*sets)
    return sorted(combined)
