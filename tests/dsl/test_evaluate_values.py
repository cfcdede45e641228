"""dsl.values: what host values mean in the language and how values are written into templates.

These helpers are shared with the SQL compilation, so their answers are part of the contract.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from dsl.values import (
    divide,
    duration_seconds,
    modulo,
    normalise,
    parse_date,
    render_value,
    round_half_up,
    seconds_duration,
)

D = Decimal
BERLIN_WINTER = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("host", "value"),
    [
        (3, D(3)),
        (0.1, D("0.1")),
        (D("2.50"), D("2.50")),
        (True, True),
        ("text", "text"),
        (None, None),
        (float("nan"), None),
        (float("inf"), None),
        (D("NaN"), None),
        (datetime(2026, 1, 1, 12), datetime(2026, 1, 1, 12, tzinfo=UTC)),
        (datetime(2026, 1, 1, 12, tzinfo=BERLIN_WINTER), datetime(2026, 1, 1, 11, tzinfo=UTC)),
        (date(2026, 1, 1), date(2026, 1, 1)),
        (("a", 1), ["a", D(1)]),
        ({"b"}, ["b"]),
        (object(), None),
        (len, None),
        (int, None),
    ],
)
def test_host_values_become_language_values_and_anything_else_null(host: Any, value: Any) -> None:
    result = normalise(host)

    assert result == value and type(result) is type(value)


def test_a_mapping_stays_a_mapping_so_paths_can_go_on() -> None:
    record = {"name": "ACME"}

    assert normalise(record) is record


@pytest.mark.parametrize(
    ("left", "right", "quotient"),
    [
        (D(1), D(3), D("0.3333333333")),
        (D(2), D(3), D("0.6666666667")),
        (D(-1), D(8), D("-0.125")),
        (D(1), D(0), None),
    ],
)
def test_division_keeps_ten_places_half_even_and_zero_divisors_give_null(
    left: Decimal, right: Decimal, quotient: Decimal | None
) -> None:
    assert divide(left, right) == quotient


@pytest.mark.parametrize(
    ("left", "right", "rest"), [(D(7), D(3), D(1)), (D(-7), D(3), D(-1)), (D(7), D(0), None)]
)
def test_modulo_takes_the_sign_of_the_dividend_and_zero_divisors_give_null(
    left: Decimal, right: Decimal, rest: Decimal | None
) -> None:
    assert modulo(left, right) == rest


@pytest.mark.parametrize(
    ("value", "digits", "rounded"),
    [(D("2.5"), 0, D(3)), (D("-2.5"), 0, D(-3)), (D("0.125"), 2, D("0.13")), (D("1250"), -2, D(1300))],
)
def test_round_goes_half_away_from_zero(value: Decimal, digits: int, rounded: Decimal) -> None:
    assert round_half_up(value, digits) == rounded


def test_durations_and_seconds_convert_both_ways_to_the_microsecond() -> None:
    span = timedelta(days=1, seconds=1, microseconds=5)

    assert duration_seconds(span) == D("86401.000005") and seconds_duration(D("86401.000005")) == span


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-12-31", date(2026, 12, 31)),
        ("2026-02-30", None),
        ("20261231", None),
        ("2026-1-01", None),
        ("", None),
        ("\uff12\uff10\uff12\uff16-01-01", None),
    ],
)
def test_date_literals_are_exactly_year_month_day(text: str, day: date | None) -> None:
    assert parse_date(text) == day


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (D("12.5000000000"), "12.50"),
        (D("7"), "7"),
        (D("7.000"), "7"),
        (D("0.125"), "0.125"),
        (D("1E+2"), "100"),
        (D("-3.10"), "-3.10"),
        (False, "false"),
        (date(2026, 1, 2), "2026-01-02"),
        (timedelta(hours=1, minutes=30), "1 hour 30 minutes"),
        (timedelta(0), "0 seconds"),
        (timedelta(days=-2), "-2 days"),
        (["vip", "new"], "vip, new"),
        ({"name": "ACME", "id": 4}, "ACME"),
        ({"id": 4}, "4"),
        ("{{ config }}", "{{ config }}"),
    ],
)
def test_values_render_into_templates_as_plain_text(value: Any, text: str) -> None:
    assert render_value(value) == text
