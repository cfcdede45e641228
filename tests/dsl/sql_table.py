"""A one-table harness for the SQL compilation tests: a row per record, one SELECT per expression.

Why a plain table rather than a workspace: the dsl tests check the compiler's semantics, not the
metamodel's resolver, so paths map to columns of one table and the clock to fixed bound values.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from dsl.compile_sql import compile_sql
from dsl.parser import parse_expression

NOW = datetime(2026, 3, 2, 9, 30, 15, 250000, tzinfo=UTC)
TODAY = NOW.date()
#: column -> (SQL type, family)
COLUMNS: dict[str, tuple[sa.types.TypeEngine[Any], str]] = {
    "n": (sa.Numeric(30, 10), "number"), "n2": (sa.Numeric(30, 10), "number"),
    "i": (sa.BigInteger(), "number"), "m": (sa.Numeric(18, 2), "number"),
    "s": (sa.Text(), "string"), "s2": (sa.Text(), "string"),
    "d": (sa.Date(), "date"), "d2": (sa.Date(), "date"),
    "t": (sa.DateTime(timezone=True), "datetime"), "t2": (sa.DateTime(timezone=True), "datetime"),
    "b": (sa.Boolean(), "boolean"), "b2": (sa.Boolean(), "boolean"),
    "tags": (sa.JSON(), "list"), "stage": (sa.String(40), "stage"),
}


class TableResolver:
    """Paths are columns of the table; the clock is fixed at ``NOW``."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table

    def column(self, path: tuple[str, ...]) -> ColumnElement[Any]:
        return self.table.c[path[0]]

    def value_type(self, path: tuple[str, ...]) -> str:
        return COLUMNS[path[0]][1]

    def clock(self, kind: Literal["now", "today"]) -> ColumnElement[Any]:
        if kind == "now":
            return sa.literal(NOW, sa.DateTime(timezone=True))
        return sa.literal(TODAY, sa.Date())


class SqlTable:
    """A throw-away table on ``engine`` holding records; evaluates expressions over them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = sa.Table(f"craft_{uuid.uuid4().hex[:10]}", sa.MetaData(),
                              sa.Column("id", sa.Integer, primary_key=True),
                              *(sa.Column(name, kind) for name, (kind, _) in COLUMNS.items()))
        self.table.create(engine)

    def drop(self) -> None:
        self.table.drop(self.engine)

    def evaluate(self, text: str, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The value of the expression ``text`` on each of ``rows`` (in order)."""
        expr = parse_expression(text)
        compiled = compile_sql(expr, TableResolver(self.table), self.engine.dialect.name)
        with self.engine.begin() as conn:
            conn.execute(self.table.delete())
            full = [{name: row.get(name) for name in COLUMNS} | {"id": index + 1}
                    for index, row in enumerate(rows)]
            if full:
                conn.execute(self.table.insert(), full)
            stmt = sa.select(compiled.label("v")).select_from(self.table).order_by(self.table.c.id)
            return [normal(value) for value in conn.execute(stmt).scalars()]


def normal(value: Any) -> Any:
    """A value in the form both evaluators are compared in: numbers as Decimal to 6 places,
    durations as seconds, datetimes aware UTC rounded to the millisecond."""
    if isinstance(value, bool) or value is None or isinstance(value, str | list):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.000001")).normalize() + 0
    if isinstance(value, timedelta):
        return normal(Decimal(str(value.total_seconds())))
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.replace(microsecond=round(aware.microsecond, -3) % 1_000_000)
    if isinstance(value, date):
        return value
    return value
