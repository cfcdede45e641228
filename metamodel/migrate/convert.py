"""Value conversion for field type changes: one table, old type → new type.

A type change is applied only when *every* stored value converts, so each
converter either returns the new value or raises ``NotConvertible``; it never
guesses (``"1.5"`` is not an integer, ``1.5`` is not rounded).  Values arrive
as the old column type yields them (Decimal, date, bool...), and leave as the
new column type accepts them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from metamodel.blueprint.values import FORMAT_PATTERNS
from metamodel.definitions import FieldDef, FieldType
from metamodel.storage.tables import INT64_MAX, INT64_MIN, numeric_problem

TEXT_TYPES = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE,
                        FieldType.URL, FieldType.ENUM})
LIST_TYPES = frozenset({FieldType.TAGS, FieldType.MULTI_ENUM})
_INTEGER = re.compile(r"^[+-]?\d+$")
_TRUE = frozenset({"true", "yes", "1", "y", "on"})
_FALSE = frozenset({"false", "no", "0", "n", "off"})


class NotConvertible(ValueError):
    """A stored value has no faithful equivalent in the new type."""


Converter = Callable[[Any, FieldDef], Any]


def _text(value: Any, new: FieldDef) -> str:
    text = _as_text(value)
    if new.type is FieldType.ENUM and text not in new.options:
        raise NotConvertible(text)
    if new.max_length is not None and len(text) > new.max_length:
        raise NotConvertible(text)
    pattern = FORMAT_PATTERNS.get(new.type)
    if pattern and not re.match(pattern, text):
        raise NotConvertible(text)
    return text


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def _integer(value: Any, new: FieldDef) -> int:
    number = _whole(value)
    if not INT64_MIN <= number <= INT64_MAX:  # the column is 64-bit
        raise NotConvertible(value)
    return number


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise NotConvertible(value)
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    raise NotConvertible(value)


def _decimal(value: Any, new: FieldDef) -> Decimal:
    if isinstance(value, bool):
        raise NotConvertible(value)
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise NotConvertible(value) from None
    if numeric_problem(number, new.type):  # too large, or would be rounded: never guess
        raise NotConvertible(value)
    return number


def _boolean(value: Any, new: FieldDef) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | Decimal) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise NotConvertible(value)


def _date(value: Any, new: FieldDef) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.timetz().replace(tzinfo=None) != dt.time():
            raise NotConvertible(value)
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise NotConvertible(value) from None


def _datetime(value: Any, new: FieldDef) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(), dt.UTC)
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise NotConvertible(value) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _list(value: Any, new: FieldDef) -> list[str]:
    items = value if isinstance(value, list) else [value]
    texts = [_as_text(v) for v in items]
    if new.type is FieldType.MULTI_ENUM and any(t not in new.options for t in texts):
        raise NotConvertible(value)
    return texts


def _same(value: Any, new: FieldDef) -> Any:
    return value


_TO: dict[FieldType, Converter] = {
    FieldType.INTEGER: _integer, FieldType.DECIMAL: _decimal, FieldType.MONEY: _decimal,
    FieldType.BOOLEAN: _boolean, FieldType.DATE: _date, FieldType.DATETIME: _datetime,
}
_FROM: dict[FieldType, frozenset[FieldType]] = {
    FieldType.INTEGER: TEXT_TYPES | {FieldType.DECIMAL, FieldType.MONEY, FieldType.BOOLEAN},
    FieldType.DECIMAL: TEXT_TYPES | {FieldType.INTEGER, FieldType.MONEY},
    FieldType.MONEY: TEXT_TYPES | {FieldType.INTEGER, FieldType.DECIMAL},
    FieldType.BOOLEAN: TEXT_TYPES | {FieldType.INTEGER},
    FieldType.DATE: TEXT_TYPES | {FieldType.DATETIME},
    FieldType.DATETIME: TEXT_TYPES | {FieldType.DATE},
}
_TEXT_SOURCES = TEXT_TYPES | {FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY, FieldType.BOOLEAN,
                              FieldType.DATE, FieldType.DATETIME}


def converter(old: FieldType, new: FieldType) -> Converter | None:
    """How values of ``old`` become values of ``new``; None when there is no faithful way."""
    if new in TEXT_TYPES and old in _TEXT_SOURCES:
        return _text
    if new in _TO and old in _FROM[new]:
        return _TO[new]
    if new in LIST_TYPES and old in LIST_TYPES | TEXT_TYPES:
        return _list
    if old is new:
        return _same
    return None
