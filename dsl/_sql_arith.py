"""Arithmetic of :mod:`dsl.compile_sql`: numbers, string concatenation, dates and durations.

Why a table keyed by (operator, left family, right family): the checker already decided which pairs
are legal; here each legal pair picks its SQL, so an unexpected pair fails loudly instead of
producing SQL that means something else.  Any null operand gives NULL, as SQL arithmetic does.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from dsl import _sql_ops as ops
from dsl import ast as a
from dsl._sql_ops import DAY, Col


class SqlUnsupported(ValueError):
    """The expression uses something that has no SQL form; ``span`` says where."""

    def __init__(self, message: str, span: a.Span) -> None:
        super().__init__(message)
        self.span = span


@dataclass(frozen=True, slots=True)
class Sql:
    """A compiled value: its SQL and its family (number, string, date, datetime, duration, …)."""

    sql: Col
    type: str


_NUMERIC = {"number", "duration"}


def _numeric(op: str, left: Col, right: Col, dialect: str) -> Col:
    if op == "/":
        return ops.divide(left, right, dialect)
    if op == "%":
        return ops.modulo(left, right, dialect)
    result = left + right if op == "+" else left - right if op == "-" else left * right
    return sa.type_coerce(result, sa.Numeric())


def _numeric_family(op: str, left: str, right: str) -> str | None:
    if left == right == "number":
        return "number"
    if op in ("+", "-") and left == right == "duration":
        return "duration"
    if op == "*" and {left, right} == {"number", "duration"}:
        return "duration"
    if op == "/" and (left, right) == ("duration", "number"):
        return "duration"
    return None


def _dated(op: a.BinaryOp, left: Sql, right: Sql, node: a.Binary, dialect: str) -> Sql | None:
    """date/datetime ± duration and date/datetime differences; None when the pair is not one of them."""
    dates = ("date", "datetime")
    if left.type in dates and right.type == "duration" and op in ("+", "-"):
        seconds = right.sql if op == "+" else sa.type_coerce(-right.sql, sa.Numeric())
        if left.type == "date" and _whole_days(node.right):
            return Sql(ops.shift_date(left.sql, seconds, dialect), "date")
        start = left.sql if left.type == "datetime" else ops.date_to_datetime(left.sql, dialect)
        return Sql(ops.shift_datetime(start, seconds, dialect), "datetime")
    if op == "+" and left.type == "duration" and right.type in dates:
        return _dated(op, right, left, a.Binary(op, node.right, node.left), dialect)
    if op == "-" and left.type in dates and right.type in dates:
        if left.type == right.type:
            return Sql(ops.seconds_between(left.sql, right.sql, left.type, dialect), "duration")
        later = left.sql if left.type == "datetime" else ops.date_to_datetime(left.sql, dialect)
        earlier = right.sql if right.type == "datetime" else ops.date_to_datetime(right.sql, dialect)
        return Sql(ops.seconds_between(later, earlier, "datetime", dialect), "duration")
    return None


def _whole_days(node: a.Expr) -> bool:
    """date + duration stays a date only for a literal whole number of days (SQL needs one type)."""
    if isinstance(node, a.Unary) and node.op == "-":
        return _whole_days(node.operand)
    return isinstance(node, a.Duration) and (node.seconds % DAY == 0)


def arithmetic(node: a.Binary, left: Sql, right: Sql, dialect: str) -> Sql:
    """``left op right`` for the families the checker accepts."""
    op: a.BinaryOp = node.op
    if "null" in (left.type, right.type):
        other = right.type if left.type == "null" else left.type
        return Sql(sa.null(), other if other != "null" else "null")
    family = _numeric_family(op, _loose(left.type), _loose(right.type))
    if family is not None:
        return Sql(_numeric(op, left.sql, right.sql, dialect), family)
    if op == "+" and left.type == right.type == "string":
        return Sql(sa.type_coerce(left.sql.concat(right.sql), sa.Text()), "string")
    dated = _dated(op, left, right, node, dialect)
    if dated is None:
        raise SqlUnsupported(f'"{op}" does not work on {left.type} and {right.type} in a query', node.span)
    return dated


def _loose(family: str) -> str:
    """``any`` values (JSON, payload) are taken as numbers in arithmetic."""
    return "number" if family == "any" else family

