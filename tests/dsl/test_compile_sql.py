"""Expressions compiled to SQL give the semantics table's answers, nulls included, on both databases.

Each case is (expression, record, expected); the record is one row of the harness table
(tests/dsl/sql_table.py), the expected value is what the Python evaluator gives by the README's table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dsl import check_formula
from dsl.compile_sql import SqlUnsupported, compile_sql
from dsl.parser import parse_expression
from tests.dsl.conftest import make_schema
from tests.dsl.sql_table import NOW, SqlTable, TableResolver, normal

D = Decimal
FULL: dict[str, Any] = {
    "n": D("10.5"), "n2": D("0"), "i": 3, "m": D("100.25"), "s": "Hello", "s2": "lo",
    "d": date(2026, 3, 1), "d2": date(2026, 1, 1), "t": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    "t2": datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "b": True, "b2": False, "tags": ["vip", "b2b"],
    "stage": "won",
}
EMPTY: dict[str, Any] = {}


@pytest.fixture
def box(engine: Engine) -> Iterator[SqlTable]:
    table = SqlTable(engine)
    yield table
    table.drop()


def _check(box: SqlTable, text: str, row: dict[str, Any], expected: Any) -> None:
    assert box.evaluate(text, [row]) == [normal(expected)]


ARITHMETIC = [
    ("n + i", FULL, D("13.5")), ("n - i", FULL, D("7.5")), ("n * i", FULL, D("31.5")),
    ("m * 0.2", FULL, D("20.05")), ("n / i", FULL, D("3.5")), ("1 / 3", FULL, D("0.333333")),
    ("n / n2", FULL, None), ("n % n2", FULL, None), ("n % i", FULL, D("1.5")), ("-7.5 % 2", FULL, D("-1.5")),
    ("7 % -2", FULL, D("1")), ("n + i", EMPTY, None), ("-n", FULL, D("-10.5")), ("s + s2", FULL, "Hellolo"),
    ("s + s2", EMPTY, None), ("i * 2 days", FULL, D(6 * 86400)), ("2 hours - 30 minutes", FULL, D(5400)),
]
DATES = [
    ("d + 3 days", FULL, date(2026, 3, 4)), ("d - 1 week", FULL, date(2026, 2, 22)),
    ("d + 3 hours", FULL, datetime(2026, 3, 1, 3, tzinfo=UTC)),
    ("t + 90 minutes", FULL, datetime(2026, 3, 1, 13, 30, tzinfo=UTC)),
    ("t - 1 day", FULL, datetime(2026, 2, 28, 12, tzinfo=UTC)),
    ("t2 - t", FULL, D(21 * 3600)), ("d - d2", FULL, D(59 * 86400)), ("t2 - d", FULL, D(33 * 3600)),
    ("now - t2", FULL, D(30 * 60 + 15.25)), ("today", EMPTY, NOW.date()), ("now", EMPTY, NOW),
    ("d + 3 days", EMPTY, None), ("days_between(d2, d)", FULL, D(59)), ("days_between(t, t2)", FULL, D(1)),
    ("days_between(d, t2)", FULL, D(1)), ("days_between(d, d2)", EMPTY, None),
    ("date_of(t2)", FULL, date(2026, 3, 2)), ('date("2026-01-05")', EMPTY, date(2026, 1, 5)),
    ('date("2026-02-30")', EMPTY, None),
]
COMPARISONS = [
    ("n > i", FULL, True), ("n < i", FULL, False), ("n > i", EMPTY, False), ("n != i", EMPTY, False),
    ("n == null", EMPTY, True), ("n == null", FULL, False), ("null != n", FULL, True),
    ("n != null", EMPTY, False), ("s < s2", FULL, True), ("\"B\" < \"a\"", EMPTY, True),
    ("d < d2", FULL, False), ("t2 > d", FULL, True), ("d == date(\"2026-03-01\")", FULL, True),
    ("t2 > now", FULL, False), ("b == true", FULL, True), ("b == b2", EMPTY, False),
    ("stage == won", FULL, True), ("stage != won", FULL, False), ("stage == won", EMPTY, False),
]
LOGIC = [
    ("b and b2", FULL, False), ("b or b2", FULL, True), ("b and b2", EMPTY, False), ("b or b2", EMPTY, False),
    ("not b", FULL, False), ("not b", EMPTY, True), ("not (n > i)", EMPTY, True),
    ("i in [1, 3]", FULL, True), ("i in [1, 2]", FULL, False), ("i in [1, 3]", EMPTY, False),
    ("i not in [1, 2]", FULL, True), ("stage in [won, lost]", FULL, True), ("s in []", FULL, False),
    ("s is empty", FULL, False), ("s is empty", EMPTY, True), ("s is empty", {"s": ""}, True),
    ("tags is empty", {"tags": []}, True), ("tags is empty", EMPTY, True), ("tags is not empty", FULL, True),
    ("n is not empty", FULL, True),
    ("s contains s2", FULL, True), ("s contains \"hello\"", FULL, False), ("s contains \"%\"", FULL, False),
    ("s contains s2", EMPTY, False), ('tags contains "vip"', FULL, True), ('tags contains "v"', FULL, False),
    ('tags contains "vip"', EMPTY, False), ('"vip" in tags', FULL, True),
    ('["a", "b"] contains s', FULL, False),
]
FUNCTIONS = [
    ("lower(s)", FULL, "hello"), ("upper(s)", FULL, "HELLO"), ("trim(\"  x \")", EMPTY, "x"),
    ("trim(\"\\t x\\n\")", EMPTY, "x"),
    ("lower(s)", EMPTY, None), ("len(s)", FULL, D(5)), ("len(tags)", FULL, D(2)), ("len(tags)", EMPTY, None),
    ("round(2.675, 2)", EMPTY, D("2.68")), ("round(-2.5)", EMPTY, D(-3)), ("round(0.5)", EMPTY, D(1)),
    ("round(n)", FULL, D(11)), ("round(n)", EMPTY, None), ("abs(0 - n)", FULL, D("10.5")),
    ("min(n, i)", FULL, D(3)), ("max(n, i)", FULL, D("10.5")), ("min(n, i, 5)", EMPTY, D(5)),
    ("max(n, i)", EMPTY, None), ("min(d, t2)", FULL, datetime(2026, 3, 1, tzinfo=UTC)),
    ("max(s, s2)", FULL, "lo"), ("coalesce(n, i, 7)", EMPTY, D(7)), ("coalesce(n, i)", FULL, D("10.5")),
    ("coalesce(s, \"none\")", EMPTY, "none"),
]
TEMPLATES = [
    ('"Hi {s}!"', FULL, "Hi Hello!"), ('"Hi {s}!"', EMPTY, "Hi !"), ('"{d}/{s2}"', FULL, "2026-03-01/lo"),
    ("\"{s}\"", {"s": "{b} {{x}}"}, "{b} {{x}}"),
]


@pytest.mark.parametrize(("text", "row", "expected"), ARITHMETIC)
def test_arithmetic_propagates_null_and_divides_by_zero_to_null(box: SqlTable, text: str,
                                                               row: dict[str, Any], expected: Any) -> None:
    _check(box, text, row, expected)


@pytest.mark.parametrize(("text", "row", "expected"), DATES)
def test_dates_and_durations_compute_in_utc_seconds(box: SqlTable, text: str, row: dict[str, Any],
                                                     expected: Any) -> None:
    _check(box, text, row, expected)


@pytest.mark.parametrize(("text", "row", "expected"), COMPARISONS)
def test_comparisons_are_false_with_null_except_against_the_null_literal(
        box: SqlTable, text: str, row: dict[str, Any], expected: Any) -> None:
    _check(box, text, row, expected)


@pytest.mark.parametrize(("text", "row", "expected"), LOGIC)
def test_logic_membership_and_emptiness_are_two_valued(box: SqlTable, text: str, row: dict[str, Any],
                                                        expected: Any) -> None:
    _check(box, text, row, expected)


@pytest.mark.parametrize(("text", "row", "expected"), FUNCTIONS)
def test_functions_follow_the_semantics_table(box: SqlTable, text: str, row: dict[str, Any],
                                              expected: Any) -> None:
    _check(box, text, row, expected)


@pytest.mark.parametrize(("text", "row", "expected"), TEMPLATES)
def test_templates_concatenate_with_null_as_empty_text(box: SqlTable, text: str, row: dict[str, Any],
                                                       expected: Any) -> None:
    _check(box, text, row, expected)


@pytest.mark.parametrize("text", ["old.n", "changed(n)", "[1, 2]", "date(s)", "coalesce()", "round()",
                                  "days_between(n)", "lower(s, s)", "nosuch(n)"])
def test_constructs_without_a_sql_form_are_refused(text: str) -> None:
    table = sa.Table("t", sa.MetaData(), sa.Column("n", sa.Numeric), sa.Column("s", sa.Text))
    with pytest.raises(SqlUnsupported):
        compile_sql(parse_expression(text), TableResolver(table), "sqlite")


def test_unknown_dialects_are_refused() -> None:
    table = sa.Table("t", sa.MetaData(), sa.Column("n", sa.Numeric))
    with pytest.raises(ValueError, match="dialect"):
        compile_sql(parse_expression("n + 1"), TableResolver(table), "mysql")


@pytest.mark.parametrize(("text", "returns", "codes"), [
    ("amount * 0.2", "money", []),
    ('contact.name + " / " + title', "string", []),
    ("amount *", "money", ["E_UNEXPECTED_END"]),
    ("amont * 2", "money", ["E_UNKNOWN_FIELD"]),
    ("title", "money", ["E_TYPE_MISMATCH"]),
    ("date(title)", "date", ["MM.E129"]),
])
def test_check_formula_parses_checks_and_dry_runs_the_sql(text: str, returns: str, codes: list[str]) -> None:
    assert [e.code for e in check_formula(text, make_schema(), "Deal", returns)] == codes


@pytest.mark.parametrize("text", ['date("20200101")', 'date("2020-W01-1")'])
def test_a_date_literal_is_read_as_strictly_as_the_evaluator_reads_it(box: SqlTable, text: str) -> None:
    _check(box, text, EMPTY, None)
