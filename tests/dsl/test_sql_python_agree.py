"""Property: an expression gives the same answer compiled to Python closures and compiled to SQL.

Hypothesis builds random well-typed expressions over the harness table (number, money, string, date,
datetime, boolean and tags columns, any of them null) and random records; the Python evaluator reads
each record, the SQL compilation a SELECT over the stored rows, on SQLite and on PostgreSQL.

Agreement is judged in ``tests.dsl.sql_table.normal`` form: numbers to 6 decimal places (SQLite holds
decimals as REAL, so division and products are floats there), durations as seconds, datetimes to the
millisecond.  The generator stays inside the documented gaps (README, dsl/compile_sql.py): ASCII text
(SQLite's lower/upper are ASCII-only), date + duration only with literal durations, no mixing
of dates and datetimes inside coalesce/min/max.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from dsl.evaluate import EvalContext, compile_source
from tests.dsl.sql_table import NOW, SqlTable, normal

EXAMPLES = 150
Strat = st.SearchStrategy[str]


def _binary(ops: list[str], left: Strat, right: Strat) -> Strat:
    return st.builds(lambda a, op, b: f"({a} {op} {b})", left, st.sampled_from(ops), right)


def _call(name: str, *args: Strat) -> Strat:
    return st.tuples(*args).map(lambda xs: f"{name}({', '.join(xs)})")


NUM_LEAF = st.sampled_from(["n", "n2", "i", "m", "0", "1", "2.5", "-3", "100", "0.1"])
STR_LEAF = st.sampled_from(["s", "s2", '""', '"ab"', '"Hello"', '" x "'])
DATE_LEAF = st.sampled_from(["d", "d2", "today", 'date("2026-02-28")', "date_of(t)"])
DT_LEAF = st.sampled_from(["t", "t2", "now", "(d + 5 hours)"])
DURATION = st.sampled_from(["1 day", "3 days", "2 hours", "90 minutes", "1 week", "45 seconds"])
DAYS_DURATION = st.sampled_from(["1 day", "3 days", "1 week"])


def _numbers(inner: Strat) -> Strat:
    return st.one_of(
        _binary(["+", "-", "*", "/", "%"], inner, inner), inner.map(lambda x: f"(-{x})"),
        _call("abs", inner), _call("round", inner), _call("round", inner, st.sampled_from(["1", "2"])),
        _call("min", inner, inner), _call("max", inner, inner, inner), _call("coalesce", inner, inner),
        _call("len", STRINGS), st.just("len(tags)"), _call("days_between", DATES, DATES))


def _strings(inner: Strat) -> Strat:
    return st.one_of(_binary(["+"], inner, inner), _call("lower", inner), _call("upper", inner),
                     _call("trim", inner), _call("coalesce", inner, inner), _call("max", inner, inner))


def _dates(inner: Strat) -> Strat:
    return st.one_of(_binary(["+", "-"], inner, DAYS_DURATION), _call("min", inner, inner),
                     _call("coalesce", inner, inner))


STRINGS: Strat = st.recursive(STR_LEAF, _strings, max_leaves=4)
DATES: Strat = st.recursive(DATE_LEAF, _dates, max_leaves=3)
NUMBERS: Strat = st.recursive(NUM_LEAF, _numbers, max_leaves=6)
DATETIMES: Strat = st.one_of(DT_LEAF, _binary(["+", "-"], DT_LEAF, DURATION), _call("max", DT_LEAF, DT_LEAF),
                             _binary(["+"], DATES, st.sampled_from(["2 hours", "90 minutes"])))
DURATIONS: Strat = st.one_of(DURATION, _binary(["-"], DT_LEAF, DT_LEAF), _binary(["-"], DATES, DATES))
TEMPLATES: Strat = st.lists(st.sampled_from(["{s}", "{n}", "{m}", "{d}", "{i}", "-", "x "]),
                            min_size=1, max_size=4).map(lambda parts: '"' + "".join(parts) + '"')


def _comparison(values: Strat) -> Strat:
    return _binary(["==", "!=", "<", "<=", ">", ">="], values, values)


def _conditions(inner: Strat) -> Strat:
    return st.one_of(_binary(["and", "or"], inner, inner), inner.map(lambda x: f"(not {x})"))


COND_LEAF: Strat = st.one_of(
    st.sampled_from(["b", "b2", "true", "n == null", "s != null", "tags is empty", "s is not empty",
                     'tags contains "hot"', '"vip" in tags', "i in [1, 2, 3]", "stage == won",
                     "stage in [won, lost]", "t > d", "d <= t2"]),
    _comparison(NUMBERS), _comparison(STRINGS), _comparison(DATES), _comparison(DATETIMES),
    _comparison(DURATIONS), _binary(["contains"], STRINGS, STRINGS),
    _binary(["in"], STRINGS, st.just('["ab", "Hello", ""]')),
    _binary(["in"], NUMBERS, st.just("[0, 1, 2.5]")))
CONDITIONS: Strat = st.recursive(COND_LEAF, _conditions, max_leaves=4)
EXPRESSIONS: Strat = st.one_of(NUMBERS, STRINGS, DATES, DATETIMES, DURATIONS, CONDITIONS, TEMPLATES)


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


CENTS = st.integers(-50_000, 50_000).map(lambda c: Decimal(c).scaleb(-2))
DAYS = st.integers(-60, 60).map(lambda k: date(2026, 3, 2) + timedelta(days=k))
MOMENTS = st.integers(-5_000_000, 5_000_000).map(lambda s: NOW + timedelta(milliseconds=s * 250))
RECORDS = st.fixed_dictionaries({
    "n": _maybe(CENTS), "n2": _maybe(st.sampled_from([Decimal(0), Decimal(3), Decimal("0.5")])),
    "i": _maybe(st.integers(-5, 5)), "m": _maybe(CENTS),
    "s": _maybe(st.text("abAB ", max_size=4)), "s2": _maybe(st.sampled_from(["", "a", "ab", "Hello"])),
    "d": _maybe(DAYS), "d2": _maybe(DAYS), "t": _maybe(MOMENTS), "t2": _maybe(MOMENTS),
    "b": _maybe(st.booleans()), "b2": _maybe(st.booleans()),
    "tags": _maybe(st.lists(st.sampled_from(["hot", "vip", "cold"]), unique=True, max_size=3)),
    "stage": _maybe(st.sampled_from(["new", "won", "lost"])),
})


@pytest.fixture
def box(engine: Engine) -> Iterator[SqlTable]:
    table = SqlTable(engine)
    yield table
    table.drop()


def _agree(python: Any, sql: Any) -> bool:
    left, right = normal(python), normal(sql)
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return abs(left - right) <= Decimal("0.00001") * max(Decimal(1), abs(left))
    if isinstance(left, datetime) and isinstance(right, datetime):
        return abs(left - right) <= timedelta(milliseconds=1)
    return bool(left == right)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=EXPRESSIONS, records=st.lists(RECORDS, min_size=1, max_size=4))
def test_sql_and_python_agree(box: SqlTable, text: str, records: list[dict[str, Any]]) -> None:
    run = compile_source(text)
    expected = [run(EvalContext(now=NOW, record=record)) for record in records]
    got = box.evaluate(text, records)
    for record, python, sql in zip(records, expected, got, strict=True):
        assert _agree(python, sql), f"{text} on {record}: Python {python!r}, SQL {sql!r}"

