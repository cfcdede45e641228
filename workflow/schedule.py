"""When a schedule trigger (``every monday at 09:00 in "Europe/Berlin"``) fires next.

Schedules are wall-clock times in a time zone, but timers are stored and compared in UTC: so the
next occurrence is computed in the zone's local calendar and converted once.  It is computed, not
searched minute by minute: a timer is re-planned after every firing, and a scan would cost in
proportion to the gap between occurrences.

Daylight-saving rules (the ones cron users expect):

* a local time that does not exist that day (spring forward: 02:30 when clocks jump from 02:00 to
  03:00) fires at the first instant after the gap — 03:00 local — so the run is late, never lost;
* a local time that happens twice (fall back: 02:30 when clocks return from 03:00 to 02:00) fires
  once, at its first occurrence (``fold=0``), never twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dsl
from workflow.errors import WorkflowError

BAD_TIME_ZONE = "WF_BAD_TIME_ZONE"
BAD_SCHEDULE = "WF_BAD_SCHEDULE"

# Every weekday appears within 7 days; one more on each side covers local dates that differ from
# the UTC date of ``after`` (offsets reach ±14 hours).
_DAYS_AHEAD = 9


def next_occurrence(schedule: dsl.Schedule, after: datetime, default_tz: str = "UTC") -> datetime:
    """The first occurrence of ``schedule`` strictly after ``after``, as an aware UTC datetime.

    ``schedule.tz`` None means the workspace's zone, ``default_tz``.  A naive ``after`` is read as
    UTC (SQLite hands back naive timestamps; every stored moment is UTC).
    """
    zone = _zone(schedule.tz or default_tz)
    wall = _wall_time(schedule.time)
    days = _days(schedule.days)
    moment = after if after.tzinfo is not None else after.replace(tzinfo=UTC)
    first_day = moment.astimezone(zone).date() - timedelta(days=1)
    for offset in range(_DAYS_AHEAD + 1):
        day = first_day + timedelta(days=offset)
        if day.isoweekday() not in days:
            continue
        fire = _local_instant(day, wall, zone)
        if fire > moment:
            return fire
    raise AssertionError("unreachable: every weekday occurs within nine days")  # pragma: no cover


def _local_instant(day: date, wall: time, zone: tzinfo) -> datetime:
    """``day`` at ``wall`` in ``zone`` as UTC: first of two on fall-back, the gap's end in a gap."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap: fold=0 reads the wall time with the offset before the jump (an instant after the
    # jump), fold=1 with the offset after it (an instant before it); the jump lies in between.
    before = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _transition(before, first, zone)


def _transition(low: datetime, high: datetime, zone: tzinfo) -> datetime:
    """The first second in ``(low, high]`` whose UTC offset is ``high``'s: the end of the gap."""
    target = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return high


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise WorkflowError(f'unknown time zone "{name}"', code=BAD_TIME_ZONE,
                            hint='use an IANA name such as "Europe/Berlin" or "UTC"') from exc


def _wall_time(text: str) -> time:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise WorkflowError(f'"{text}" is not a time of day', code=BAD_SCHEDULE,
                            hint="write HH:MM, e.g. 09:00") from exc


def _days(days: tuple[int, ...]) -> frozenset[int]:
    chosen = frozenset(days)
    if not chosen or not chosen <= frozenset(range(1, 8)):
        raise WorkflowError(f"a schedule needs weekdays 1 (Monday) to 7 (Sunday), got {list(days)}",
                            code=BAD_SCHEDULE)
    return chosen
