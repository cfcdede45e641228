"""The Python evaluator against the shared semantics table: every operator and function, nulls included.

Each row is ``(expression, expected)`` evaluated against :data:`RECORD`; the result must equal the
expected value *and* have its type (``null`` is not ``false``, ``1`` is a Decimal, not an int).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from dsl.errors import CraftErrors, CraftRuntimeError
from dsl.evaluate import EvalContext, compile_source

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
TODAY = date(2026, 3, 2)
RECORD: dict[str, Any] = {
    "n": Decimal("10"),
    "i": 7,
    "z": Decimal(0),
    "f": 0.1,
    "s": "Anna",
    "e": "",
    "d": date(2026, 3, 2),
    "t": datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    "naive": datetime(2026, 3, 2, 9, 30),
    "tags": ["vip", "new"],
    "no_tags": [],
    "x": None,
    "b": True,
    "stage": "won",
    "contact": {"name": "Ann", "company": {"name": "ACME"}},
    "nobody": None,
}
D = Decimal


def ev(source: str, record: dict[str, Any] | None = None, **context: Any) -> Any:
    context = {"now": NOW, "today": TODAY, "record": RECORD if record is None else record} | context
    ctx = EvalContext(**context)  # type: ignore[arg-type]
    return compile_source(source)(ctx)


def _same(result: Any, expected: Any) -> bool:
    return type(result) is type(expected) and result == expected


ARITHMETIC: list[tuple[str, Any]] = [
    ("1 + 2", D(3)),
    ("n - 4", D(6)),
    ("n * 0.5", D(5)),
    ("i * 2", D(14)),
    ("7 % 3", D(1)),
    ("-7 % 3", D(-1)),
    ("1 / 3", D("0.3333333333")),
    ("2 / 3", D("0.6666666667")),
    ("n / 4", D("2.5")),
    ("f + 0.2", D("0.3")),
    ('"ab" + "cd"', "abcd"),
    ("-n", D(-10)),
    ("-(2 days)", timedelta(days=-2)),
    # null in, null out; division and modulo by zero are null, never an exception
    ("x + 1", None),
    ("1 + x", None),
    ('x + "a"', None),
    ("n / z", None),
    ("n % 0", None),
    ("n / x", None),
    ("-x", None),
    ("x * 2 days", None),
]
DATES = [
    ("d + 3 days", date(2026, 3, 5)),
    ("d - 1 week", date(2026, 2, 23)),
    ("d + 2 hours", datetime(2026, 3, 2, 2, tzinfo=UTC)),
    ("t + 30 minutes", datetime(2026, 3, 2, 10, tzinfo=UTC)),
    ("t - 1 day", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
    ('d - date("2026-02-28")', timedelta(days=2)),
    ("t - t", timedelta(0)),
    ("now - d", timedelta(hours=9, minutes=30)),
    ("1 day + 2 hours", timedelta(hours=26)),
    ("2 days - 1 day", timedelta(days=1)),
    ("2 * 3 hours", timedelta(hours=6)),
    ("3 hours * 2", timedelta(hours=6)),
    ("1 day / 4", timedelta(hours=6)),
    ("1 day / 0", None),
    ("naive + 1 second", datetime(2026, 3, 2, 9, 30, 1, tzinfo=UTC)),
    ("today", TODAY),
    ("now", NOW),
    ("today + 1 day", date(2026, 3, 3)),
]
COMPARISONS = [
    ("n > 9", True),
    ("n >= 10", True),
    ("n < 10", False),
    ("n <= 9.5", False),
    ("i == 7", True),
    ('s == "Anna"', True),
    ('s != "Anna"', False),
    ('s < "Bob"', True),
    ("n == 10.000", True),
    ("d == t", False),
    ("d < t", True),
    ('d == date("2026-03-02")', True),
    ("now > t - 1 hour", True),
    ("2 days > 47 hours", True),
    ("b == true", True),
    # null: every comparison is false, except against the literal null
    ("x > 1", False),
    ("x < 1", False),
    ("x == 1", False),
    ("x != 1", False),
    ("1 == x", False),
    ("x == nobody", False),
    ("x != nobody", False),
    ("x == null", True),
    ("x != null", False),
    ("n == null", False),
    ("n != null", True),
    ("null == x", True),
    ("null == null", True),
    ("missing == null", True),
    ("contact.company.name == null", False),
]
LOGIC = [
    ("true and true", True),
    ("true and false", False),
    ("false or true", True),
    ("false or false", False),
    ("not true", False),
    ("not false", True),
    ("not null", True),
    ("x and true", False),
    ("x or true", True),
    ("x or false", False),
    ("not x", True),
    ('n > 1 and n < 20 and s == "Anna"', True),
    ('n > 100 or s == "Anna"', True),
    ("(x > 1) or not (x > 1)", True),
]
MEMBERSHIP = [
    ("n in [1, 10]", True),
    ("n in [1, 2]", False),
    ('s in ["Anna", "Bob"]', True),
    ("x in [1, null]", False),
    ("n not in [1, 2]", True),
    ("n not in [10]", False),
    ("x not in [1]", True),
    ('"vip" in tags', True),
    ("stage == won", True),
    ("stage in [won, lost]", True),
    ("stage != lost", True),
    ("stage not in [won]", False),
    ('d in [date("2026-03-02")]', True),
    ("1 in x", False),
    ("1 not in x", True),
]
EMPTY_AND_CONTAINS = [
    ("x is empty", True),
    ("e is empty", True),
    ("no_tags is empty", True),
    ("s is empty", False),
    ("tags is empty", False),
    ("n is empty", False),
    ("x is not empty", False),
    ("s is not empty", True),
    ('s contains "nn"', True),
    ('s contains "NN"', False),
    ('tags contains "vip"', True),
    ('tags contains "vi"', False),
    ('x contains "a"', False),
    ("s contains x", False),
    ('contact.name contains "A"', True),
    ('nobody.name contains "A"', False),
]
FUNCTIONS = [
    ("lower(s)", "anna"),
    ("upper(s)", "ANNA"),
    ('trim("  a b \t")', "a b"),
    ("len(s)", D(4)),
    ("len(tags)", D(2)),
    ("len(e)", D(0)),
    ("round(2.5)", D(3)),
    ("round(-2.5)", D(-3)),
    ("round(2.45, 1)", D("2.5")),
    ("round(1234, -2)", D(1200)),
    ("round(1 / 3, 2)", D("0.33")),
    ("abs(-3)", D(3)),
    ("abs(n)", D(10)),
    ("min(3, 1, 2)", D(1)),
    ("max(3, 1, 2)", D(3)),
    ("min(x, 4, null)", D(4)),
    ('max(d, date("2026-01-01"))', date(2026, 3, 2)),
    ("coalesce(x, nobody, 5)", D(5)),
    ('coalesce(s, "z")', "Anna"),
    ("days_between(d, d + 3 days)", D(3)),
    ('days_between(t, date("2026-03-01"))', D(-1)),
    ("date_of(t)", date(2026, 3, 2)),
    ('date("2026-12-31")', date(2026, 12, 31)),
    # null in, null out (min/max/coalesce: null only when every argument is)
    ("lower(x)", None),
    ("upper(x)", None),
    ("trim(x)", None),
    ("len(x)", None),
    ("round(x)", None),
    ("round(n, x)", None),
    ("abs(x)", None),
    ("min(x, null)", None),
    ("max(x)", None),
    ("coalesce(x, null)", None),
    ("days_between(x, d)", None),
    ("days_between(d, x)", None),
    ("date_of(x)", None),
    ('date("2026-02-30")', None),
    ('date("31.12.2026")', None),
    ("date(s)", None),
]
PATHS = [
    ("contact.name", "Ann"),
    ("contact.company.name", "ACME"),
    ("nobody.name", None),
    ("missing", None),
    ("s.length", None),
    ("i", D(7)),
    ("f", D("0.1")),
    ("naive", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(
    ("source", "expected"),
    ARITHMETIC + DATES + COMPARISONS + LOGIC + MEMBERSHIP + EMPTY_AND_CONTAINS + FUNCTIONS + PATHS,
)
def test_every_operator_and_function_follows_the_semantics_table(source: str, expected: Any) -> None:
    assert _same(ev(source), expected), (source, ev(source))


def test_date_plus_whole_days_stays_a_date_and_a_part_day_makes_a_datetime() -> None:
    assert type(ev("d + 1 day")) is date
    assert type(ev("d + 25 hours")) is datetime


def test_the_clock_comes_from_the_context_not_the_wall() -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)

    assert ev("now", now=later) == later and ev("today", today=date(2030, 1, 1)) == date(2030, 1, 1)


def test_today_defaults_to_the_utc_date_of_now() -> None:
    ctx = EvalContext(now=datetime(2026, 3, 2, 23, 30, tzinfo=UTC))

    assert compile_source("today")(ctx) == date(2026, 3, 2)


def test_old_form_payload_and_bindings_are_read_from_their_scope() -> None:
    assert ev("old.n", old={"n": 3}) == 3 and ev("old.n") is None
    assert ev("form.email", form={"email": "a@b"}) == "a@b" and ev("form.email") is None
    assert ev("payload.order.total", payload={"order": {"total": 12.5}}) == D("12.5")
    assert ev("lead.name", bindings={"lead": {"name": "L"}}) == "L"


def test_changed_reads_the_fields_the_update_changed() -> None:
    assert ev("changed(n)", changed=frozenset({"n"})) is True
    assert ev("changed(s)", changed=frozenset({"n"})) is False


def test_a_template_renders_values_as_plain_text() -> None:
    rendered = ev('"{s}: {n} / {x} on {d} at {t}, {tags}, {contact.company.name}"')

    assert rendered == "Anna: 10 /  on 2026-03-02 at 2026-03-02T09:30:00+00:00, vip, new, ACME"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("12.5000000000"), "12.50"),
        (D("3"), "3"),
        (D("1.23456"), "1.23456"),
        (D("1E+3"), "1000"),
        (D("-0.10"), "-0.10"),
        (D("2.5"), "2.50"),
        (True, "true"),
        (timedelta(days=1, minutes=30), "1 day 30 minutes"),
    ],
)
def test_a_template_renders_numbers_without_exponent_and_money_to_two_places(value: Any, text: str) -> None:
    assert ev('"{v}"', {"v": value}) == text


@pytest.mark.parametrize(
    "source",
    [
        "s + 1",
        "n + s",
        "-s",
        "d + 1",
        "not s",
        "s and true",
        "len(n)",
        "lower(n)",
        "round(s)",
        "round(n, 1.5)",
        "n < s",
        "n in s",
        'n contains "a"',
        "days_between(s, d)",
        "min(n, s)",
        "t * 2",
    ],
)
def test_a_value_of_the_wrong_type_at_run_time_is_a_coded_error(source: str) -> None:
    with pytest.raises(CraftRuntimeError) as caught:
        ev(source)

    assert caught.value.code == "E_RUNTIME_TYPE"


def test_a_runtime_type_error_points_at_the_expression() -> None:
    with pytest.raises(CraftRuntimeError) as caught:
        ev("1 + (s * 2)")

    assert (caught.value.span.line, caught.value.span.col) == (1, 6)


@pytest.mark.parametrize("source", ["d + 99999999 days", "round(n, 30)", "round(huge, 2)"])
def test_a_value_beyond_the_range_of_dates_or_numbers_is_a_range_error(source: str) -> None:
    with pytest.raises(CraftRuntimeError) as caught:
        ev(source, RECORD | {"huge": Decimal("1E+30")})

    assert caught.value.code == "E_RUNTIME_RANGE"


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("nosuch(1)", "E_UNKNOWN_FUNCTION"),
        ("lower(s, s)", "E_TYPE_MISMATCH"),
        ("changed(1)", "E_TYPE_MISMATCH"),
    ],
)
def test_a_call_the_checker_would_refuse_fails_when_compiled(source: str, code: str) -> None:
    with pytest.raises(CraftErrors) as caught:
        compile_source(source)

    assert caught.value.codes == [code]
