"""Dialect helpers of :mod:`dsl.compile_sql`: how each value family is held in SQL and converted.

Why a representation per family and dialect: the language's semantics (two-valued logic, null-safe
arithmetic, dates and durations) must come out the same on SQLite, which has no date or decimal
types, and on PostgreSQL, which has both.  Inside an expression:

- number: a SQL number (SQLite INTEGER/REAL, PostgreSQL numeric or bigint); duration: seconds as
  a number;
- date: SQLite ``'YYYY-MM-DD'`` text (ordered as text), PostgreSQL ``date``;
- datetime: SQLite seconds since the epoch as REAL (microseconds kept to about 0.25 µs),
  PostgreSQL ``timestamptz``;
- boolean: SQLite 0/1, PostgreSQL boolean; list: the JSON column, with JSON ``null`` read as NULL.

:func:`load` brings a stored column into that form and :func:`output` turns a result back into
what the column type of its family reads (datetimes as stored text on SQLite).
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

Col = ColumnElement[Any]
DAY = 86400
_OUTPUT_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "number": sa.Numeric(), "duration": sa.Numeric(), "string": sa.Text(), "boolean": sa.Boolean(),
    "date": sa.Date(), "datetime": sa.DateTime(timezone=True), "list": sa.JSON(), "stage": sa.Text(),
}


def truth(condition: Col) -> Col:
    """A condition as true/false, never NULL: a NULL (unknown) condition counts as false."""
    return sa.type_coerce(sa.case((condition, sa.true()), else_=sa.false()), sa.Boolean())


def falsy(condition: Col) -> Col:
    """``not condition`` where NULL counts as false (so ``not null`` is true)."""
    return sa.type_coerce(sa.case((condition, sa.false()), else_=sa.true()), sa.Boolean())


def load(col: Col, family: str, dialect: str) -> Col:
    """A stored column (or bound value) in the representation expressions compute with."""
    if family == "datetime" and dialect == "sqlite":
        return epoch_of_text(col)
    if family == "list":
        return sa.case((sa.cast(col, sa.Text) == "null", sa.null()), else_=col)
    if family in ("number", "duration"):
        return sa.type_coerce(col, sa.Numeric())
    return col


def output(col: Col, family: str, dialect: str) -> Col:
    """An expression's value as the column type of its family reads it back."""
    if family == "datetime" and dialect == "sqlite":
        col = text_of_epoch(col)
    return sa.type_coerce(col, _OUTPUT_TYPES.get(family, sa.Text()))


# --- dates and datetimes --------------------------------------------------------------------------

def epoch_of_text(col: Col) -> Col:
    """SQLite: stored ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC wall time) -> seconds since the epoch."""
    whole = sa.cast(sa.func.strftime("%s", col), sa.Integer)
    fraction = sa.cast(sa.func.substr(col, 20), sa.Float)
    return sa.type_coerce(whole + fraction, sa.Float())


def text_of_epoch(col: Col) -> Col:
    """SQLite: seconds since the epoch -> the stored datetime text, microseconds included."""
    seconds = sa.func.strftime("%Y-%m-%d %H:%M:%S", col, "unixepoch")
    return seconds.concat(sa.func.substr(sa.func.printf("%.6f", col), -7))


def date_to_datetime(col: Col, dialect: str) -> Col:
    """A date as the datetime of its midnight UTC."""
    if dialect == "sqlite":
        return sa.type_coerce(sa.cast(sa.func.strftime("%s", col), sa.Integer), sa.Float())
    return sa.func.timezone("UTC", sa.cast(col, sa.DateTime()), type_=sa.DateTime(timezone=True))


def datetime_to_date(col: Col, dialect: str) -> Col:
    """A datetime's UTC date."""
    if dialect == "sqlite":
        return sa.func.date(col, "unixepoch", type_=sa.Text())
    return sa.cast(sa.func.timezone("UTC", col, type_=sa.DateTime()), sa.Date)


def day_number(col: Col, dialect: str) -> Col:
    """A date as a whole number of days (for differences only)."""
    if dialect == "sqlite":
        return sa.cast(sa.func.julianday(col) + 0.5, sa.Integer)
    return sa.cast(col, sa.Date) - sa.cast(sa.literal("1970-01-01"), sa.Date)


def seconds_between(later: Col, earlier: Col, family: str, dialect: str) -> Col:
    """``later - earlier`` in seconds, both of ``family`` (date or datetime)."""
    if family == "date":
        return sa.type_coerce((day_number(later, dialect) - day_number(earlier, dialect)) * DAY, sa.Numeric())
    if dialect == "sqlite":
        return sa.type_coerce(later - earlier, sa.Numeric())
    return sa.type_coerce(sa.extract("epoch", later - earlier), sa.Numeric())


def shift_datetime(col: Col, seconds: Col, dialect: str) -> Col:
    """A datetime moved by a number of seconds (negative moves back)."""
    if dialect == "sqlite":
        return sa.type_coerce(col + seconds, sa.Float())
    interval = sa.func.make_interval(0, 0, 0, 0, 0, 0, sa.cast(seconds, sa.Float))
    return sa.type_coerce(col + interval, sa.DateTime(timezone=True))


def shift_date(col: Col, seconds: Col, dialect: str) -> Col:
    """A date moved by whole days given in seconds (the caller knows they are whole days)."""
    days = sa.cast(seconds / DAY, sa.Integer)
    if dialect == "sqlite":
        return sa.func.date(sa.func.julianday(col) + days, type_=sa.Text())
    return sa.type_coerce(sa.cast(col, sa.Date) + days, sa.Date())


# --- numbers --------------------------------------------------------------------------------------

def divide(left: Col, right: Col, dialect: str) -> Col:
    """Exact-as-possible division to 10 places; a zero divisor gives NULL."""
    if dialect == "sqlite":
        quotient = sa.cast(left, sa.Float) / sa.func.nullif(right, 0)
        return sa.type_coerce(sa.func.round(quotient, 10), sa.Numeric())
    quotient = sa.cast(left, sa.Numeric) / sa.func.nullif(sa.cast(right, sa.Numeric), 0)
    return sa.type_coerce(sa.func.round(quotient, 10), sa.Numeric())


def modulo(left: Col, right: Col, dialect: str) -> Col:
    """Remainder with the sign of the dividend (Decimal's ``%``); a zero divisor gives NULL."""
    if dialect == "sqlite":  # SQLite's % truncates both operands to integers first
        divisor = sa.func.nullif(right, 0)
        whole = sa.cast(sa.func.round(sa.cast(left, sa.Float) / divisor, 9), sa.Integer)  # 0.3/0.1 is 2.99…
        return sa.type_coerce(left - divisor * whole, sa.Numeric())
    divisor = sa.func.nullif(sa.cast(right, sa.Numeric), 0)
    return sa.type_coerce(sa.func.mod(sa.cast(left, sa.Numeric), divisor), sa.Numeric())


def round_half_up(value: Col, digits: Col, dialect: str) -> Col:
    """Both databases round half away from zero, which is ROUND_HALF_UP."""
    if dialect == "sqlite":
        return sa.type_coerce(sa.func.round(value, digits), sa.Numeric())
    return sa.type_coerce(sa.func.round(sa.cast(value, sa.Numeric), sa.cast(digits, sa.Integer)),
                          sa.Numeric())


# --- strings and lists ----------------------------------------------------------------------------

def ordered(col: Col, family: str, dialect: str) -> Col:
    """Strings compare by code point, as Python does (PostgreSQL's collation might not)."""
    if family == "string" and dialect == "postgresql":
        return col.collate("C")
    return col


def substring_of(haystack: Col, needle: Col, dialect: str) -> Col:
    """Case-sensitive substring test (LIKE ignores case on SQLite and treats % and _ specially)."""
    func = sa.func.instr(haystack, needle) if dialect == "sqlite" else sa.func.strpos(haystack, needle)
    return cast(Col, func > 0)


def list_has(items: Col, item: Col, dialect: str) -> Col:
    """Membership of ``item`` in a JSON array of strings."""
    if dialect == "postgresql":
        return cast(Col, sa.cast(items, postgresql.JSONB).has_key(sa.cast(item, sa.Text)))
    elements = sa.func.json_each(items).table_valued("value", joins_implicitly=True)
    return sa.exists(sa.select(sa.literal(1)).select_from(elements).where(elements.c.value == item))


def list_length(items: Col, dialect: str) -> Col:
    target = items if dialect == "sqlite" else sa.cast(items, postgresql.JSON)
    return sa.type_coerce(sa.func.json_array_length(target), sa.Numeric())


def as_text(col: Col, family: str, dialect: str) -> Col:
    """A value rendered into a template: text as is, dates ISO, other values as the database prints them."""
    if family == "string":
        return col
    if family == "datetime" and dialect == "sqlite":
        col = text_of_epoch(col)
    if family == "boolean":
        return sa.case((col, "true"), (sa.not_(col), "false"), else_=sa.null())
    if family == "number":
        return number_text(col, dialect)
    return sa.cast(col, sa.Text)


def number_text(col: Col, dialect: str) -> Col:
    """A number as templates print it (``dsl.values.render_number``): ``3``, ``2.50``, ``1.23456``."""
    whole: Col = sa.cast(col, sa.Integer) if dialect == "sqlite" else sa.func.trunc(col)
    text = sa.cast(col if dialect == "sqlite" else sa.func.trim_scale(col), sa.Text)
    return sa.case((col == whole, sa.cast(whole, sa.Text)),
                   (sa.func.length(text) - _position(text, dialect) == 1, text.concat("0")), else_=text)


def _position(text: Col, dialect: str) -> Col:
    return sa.func.instr(text, ".") if dialect == "sqlite" else sa.func.strpos(text, ".")
