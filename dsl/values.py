"""Values of the expression language, shared by the Python evaluator and the SQL compiler.

Why one module: the same expression must give the same answer in Python closures
(:mod:`dsl.evaluate`) and in SQL (``dsl.compile_sql``), so the conversions both sides rely on —
what a host value means in the language, how numbers are divided and rounded, how durations map to
seconds, how a value is written into a template — live here once.  It imports nothing but the
standard library so either side can use it without pulling in the other.

The language's values: ``None`` (null), ``bool``, :class:`~decimal.Decimal` (every number),
``str``, :class:`~datetime.date`, aware UTC :class:`~datetime.datetime`,
:class:`~datetime.timedelta` (durations; seconds as a number in SQL), ``list`` of values, and
mappings (records reached through references; they only serve to read further fields).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any, TypeAlias

Value: TypeAlias = Any
"""A language value (see the module docstring); ``Any`` because records are plain host data."""

#: ``/`` keeps this many decimal places (ROUND_HALF_EVEN), like ``CAST(... AS NUMERIC)`` with scale 10.
DIVISION_PLACES = 10
DIVISION_QUANTUM = Decimal(1).scaleb(-DIVISION_PLACES)
#: ``round(x, digits)`` rounds half away from zero, which is what SQL's ``round(numeric)`` does.
ROUNDING = ROUND_HALF_UP
#: What ``trim`` removes at both ends (SQL: ``btrim(x, E' \\t\\n\\r\\f\\v')``).
WHITESPACE = " \t\n\r\f\v"
#: A template renders at most this many decimals of a number before trimming zeros down to two.
MONEY_PLACES = 2

_MICRO = timedelta(microseconds=1)
_UNITS = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def number(value: int | float | Decimal) -> Decimal | None:
    """A host number as a language number: ints exactly, floats by their shortest text, NaN/inf null."""
    if type(value) is Decimal:
        return value if value.is_finite() else None
    if type(value) is float:
        return Decimal(repr(value)) if math.isfinite(value) else None
    return Decimal(value)


def divide(left: Decimal, right: Decimal) -> Decimal | None:
    """``left / right``: exact division quantized to :data:`DIVISION_PLACES`; null when ``right`` is 0."""
    if not right:
        return None
    return (left / right).quantize(DIVISION_QUANTUM, ROUND_HALF_EVEN)


def modulo(left: Decimal, right: Decimal) -> Decimal | None:
    """``left % right`` with the sign of ``left`` (as SQL's ``mod``); null when ``right`` is 0."""
    if not right:
        return None
    return left % right


def round_half_up(value: Decimal, digits: int = 0) -> Decimal:
    """``round(value, digits)``: half away from zero; negative ``digits`` round to tens, hundreds…"""
    return value.quantize(Decimal(1).scaleb(-digits), ROUNDING)


def duration_seconds(value: timedelta) -> Decimal:
    """A duration as seconds (what SQL stores), exact to the microsecond."""
    return Decimal(value // _MICRO).scaleb(-6)


def seconds_duration(seconds: Decimal) -> timedelta:
    """Seconds (possibly fractional) as a duration, rounded to the microsecond."""
    micro = (seconds * 1_000_000).to_integral_value(ROUND_HALF_EVEN)
    return timedelta(microseconds=int(micro))


def whole_days(value: timedelta) -> bool:
    """True when a duration is a whole number of days (``date + 3 days`` stays a date)."""
    return not value.seconds and not value.microseconds


def as_datetime(value: date) -> datetime:
    """A date as its midnight UTC; a datetime as itself (how dates meet datetimes)."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), UTC)


def utc_date(value: date) -> date:
    """The UTC calendar date of a datetime, or the date itself."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value


def parse_date(text: str) -> date | None:
    """``date("YYYY-MM-DD")``: exactly that form, else null (the checker reports bad literals)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    digits = text[:4] + text[5:7] + text[8:]
    if not digits.isascii() or not digits.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError:
        return None


def _datetime(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sequence(value: list[Any] | tuple[Any, ...] | set[Any] | frozenset[Any]) -> list[Any]:
    return [normalise(item) for item in value]


_NORMALISE: dict[type, Any] = {
    int: Decimal, float: number, Decimal: number, datetime: _datetime, list: _sequence, tuple: _sequence,
    set: _sequence, frozenset: _sequence,
}
_AS_IS = (str, bool, date, timedelta, type(None))


def normalise(value: object) -> Value:
    """A host value (a record field, a payload item) as a language value.

    Why: records come from storage and payloads from JSON, so ints, floats, naive datetimes and
    tuples appear; the language sees only its own values.  Anything else — an object, a function, a
    class — becomes null, so no host attribute or behaviour is ever reachable through a value.
    """
    kind = type(value)
    if kind in _AS_IS:
        return value
    convert = _NORMALISE.get(kind)
    if convert is not None:
        return convert(value)
    if isinstance(value, Mapping):
        return value
    return None


def render_number(value: Decimal) -> str:
    """A number as template text: no exponent; zeros trimmed from the decimals but kept down to two.

    ``3`` -> ``3``, ``2.5000000000`` -> ``2.50``, ``1.23456`` -> ``1.23456``, ``1E+3`` -> ``1000``.
    """
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):f}"
    text = f"{value:f}"
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0")
    return f"{whole}.{decimals.ljust(MONEY_PLACES, '0')}"


def render_duration(value: timedelta) -> str:
    """A duration the way the language writes it: ``3 days``, ``1 hour 30 minutes``, ``0 seconds``."""
    sign, rest = ("-", -value) if value < timedelta(0) else ("", value)
    seconds = int(rest.total_seconds())
    parts = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return sign + (" ".join(parts) or "0 seconds")


def render_value(value: Value) -> str:
    """A value as plain text inside a template: null is empty; the text is never parsed again.

    Booleans are ``true``/``false``, dates and datetimes ISO 8601, lists comma-separated, and a
    record reached by a path renders as its ``name``, ``title`` or ``id`` (the first it has).
    """
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is Decimal:
        return render_number(value)
    if kind is date or kind is datetime:
        return str(value.isoformat())
    if kind is timedelta:
        return render_duration(value)
    if kind is list:
        return ", ".join(render_value(item) for item in value)
    if isinstance(value, Mapping):
        return _render_record(value)
    return render_value(normalise(value))


def _render_record(record: Mapping[str, Any]) -> str:
    for key in ("name", "title", "id"):
        found = record.get(key)
        if found is not None and not isinstance(found, Mapping):
            return render_value(normalise(found))
    return ""


__all__ = [
    "DIVISION_PLACES", "DIVISION_QUANTUM", "MONEY_PLACES", "ROUNDING", "WHITESPACE",
    "Value", "as_datetime", "divide", "duration_seconds", "modulo", "normalise", "number", "parse_date",
    "render_duration", "render_number", "render_value", "round_half_up", "seconds_duration", "utc_date",
    "whole_days",
]
