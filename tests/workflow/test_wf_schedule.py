"""Specification of ``next_occurrence``: schedule triggers in their time zone, DST included.

Europe/Berlin in 2026 springs forward on Sunday 29 March (02:00 → 03:00) and falls back on Sunday
25 October (03:00 → 02:00).  2 March 2026 is a Monday.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

import dsl
from workflow.errors import WorkflowError
from workflow.schedule import next_occurrence

MONDAY, SATURDAY, SUNDAY = 1, 6, 7
WEEKDAYS = (1, 2, 3, 4, 5)
EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def every(days: tuple[int, ...], at: str, tz: str | None = None) -> dsl.Schedule:
    return dsl.Schedule(days=days, time=at, tz=tz)


def test_weekday_rule_skips_the_weekend() -> None:
    friday_after_nine = utc(2026, 3, 6, 9, 30)
    assert next_occurrence(every(WEEKDAYS, "09:00"), friday_after_nine) == utc(2026, 3, 9, 9, 0)


def test_weekday_rule_fires_later_the_same_day() -> None:
    tuesday_early = utc(2026, 3, 3, 6, 0)
    assert next_occurrence(every(WEEKDAYS, "09:00"), tuesday_early) == utc(2026, 3, 3, 9, 0)


def test_weekend_rule_skips_the_working_week() -> None:
    monday = utc(2026, 3, 2, 12, 0)
    assert next_occurrence(every((SATURDAY, SUNDAY), "10:00"), monday) == utc(2026, 3, 7, 10, 0)


def test_monday_nine_in_berlin_is_eight_utc_in_winter() -> None:
    schedule = every((MONDAY,), "09:00", "Europe/Berlin")
    assert next_occurrence(schedule, utc(2026, 3, 17)) == utc(2026, 3, 23, 8, 0)


def test_monday_nine_in_berlin_moves_to_seven_utc_after_spring_forward() -> None:
    schedule = every((MONDAY,), "09:00", "Europe/Berlin")
    assert next_occurrence(schedule, utc(2026, 3, 23, 8, 0)) == utc(2026, 3, 30, 7, 0)


def test_monday_nine_in_berlin_moves_back_to_eight_utc_after_fall_back() -> None:
    schedule = every((MONDAY,), "09:00", "Europe/Berlin")
    assert next_occurrence(schedule, utc(2026, 10, 19, 7, 0)) == utc(2026, 10, 26, 8, 0)


def test_time_in_the_spring_forward_gap_fires_when_the_gap_ends() -> None:
    schedule = every(EVERY_DAY, "02:30", "Europe/Berlin")
    # 02:30 does not exist on 29 March; 03:00 CEST (01:00 UTC) is the first instant after the gap.
    assert next_occurrence(schedule, utc(2026, 3, 28, 2, 0)) == utc(2026, 3, 29, 1, 0)


def test_ambiguous_time_on_fall_back_fires_once_at_its_first_occurrence() -> None:
    schedule = every(EVERY_DAY, "02:30", "Europe/Berlin")
    first = next_occurrence(schedule, utc(2026, 10, 24, 12, 0))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    assert next_occurrence(schedule, first) == utc(2026, 10, 26, 1, 30)  # not 02:30 CET the same night


def test_daily_at_midnight_fires_at_the_next_midnight() -> None:
    assert next_occurrence(every(EVERY_DAY, "00:00"), utc(2026, 3, 2, 23, 59, 59)) == utc(2026, 3, 3)


def test_after_exactly_at_an_occurrence_gives_the_next_one() -> None:
    assert next_occurrence(every(EVERY_DAY, "00:00"), utc(2026, 3, 3)) == utc(2026, 3, 4)


def test_schedule_without_zone_uses_the_workspace_zone() -> None:
    schedule = every(EVERY_DAY, "09:00")
    assert next_occurrence(schedule, utc(2026, 3, 2), "America/New_York") == utc(2026, 3, 2, 14, 0)


def test_zone_of_the_schedule_wins_over_the_workspace_zone() -> None:
    schedule = every(EVERY_DAY, "09:00", "Asia/Tokyo")
    assert next_occurrence(schedule, utc(2026, 3, 2, 1, 0), "America/New_York") == utc(2026, 3, 3, 0, 0)


def test_local_date_ahead_of_the_utc_date_is_honoured() -> None:
    # 2 March 20:00 UTC is already Tuesday 3 March 09:00 in Auckland (UTC+13).
    schedule = every((2,), "10:00", "Pacific/Auckland")
    assert next_occurrence(schedule, utc(2026, 3, 2, 20, 0)) == utc(2026, 3, 2, 21, 0)


def test_result_is_aware_utc() -> None:
    result = next_occurrence(every(EVERY_DAY, "09:00", "Europe/Berlin"), utc(2026, 3, 2))
    assert result.tzinfo is UTC


def test_naive_after_is_read_as_utc() -> None:
    assert next_occurrence(every(EVERY_DAY, "09:00"), datetime(2026, 3, 2, 8, 0)) == utc(2026, 3, 2, 9, 0)


def test_far_ranges_are_computed_not_scanned() -> None:
    schedule = every((SUNDAY,), "23:59", "Europe/Berlin")
    began = time.perf_counter()
    moment = utc(2026, 1, 1)
    for _ in range(1000):
        moment = next_occurrence(schedule, moment)
    assert time.perf_counter() - began < 1.0
    assert utc(2045, 1, 1) < moment < utc(2045, 3, 1)


def test_a_thousand_years_ahead_is_one_call() -> None:
    assert next_occurrence(every((MONDAY,), "09:00"), utc(3026, 1, 1)) - utc(3026, 1, 1) < timedelta(days=7)


def test_unknown_time_zone_is_a_typed_error() -> None:
    with pytest.raises(WorkflowError) as caught:
        next_occurrence(every(EVERY_DAY, "09:00", "Mars/Olympus"), utc(2026, 3, 2))
    assert caught.value.code == "WF_BAD_TIME_ZONE"


def test_malformed_zone_name_is_a_typed_error() -> None:
    with pytest.raises(WorkflowError) as caught:
        next_occurrence(every(EVERY_DAY, "09:00"), utc(2026, 3, 2), "../../etc/passwd")
    assert caught.value.code == "WF_BAD_TIME_ZONE"


def test_bad_time_of_day_is_a_typed_error() -> None:
    with pytest.raises(WorkflowError) as caught:
        next_occurrence(every(EVERY_DAY, "25:00"), utc(2026, 3, 2))
    assert caught.value.code == "WF_BAD_SCHEDULE"


def test_schedule_without_days_is_a_typed_error() -> None:
    with pytest.raises(WorkflowError) as caught:
        next_occurrence(every((), "09:00"), utc(2026, 3, 2))
    assert caught.value.code == "WF_BAD_SCHEDULE"
