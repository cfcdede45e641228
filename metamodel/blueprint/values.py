"""Field values written in a blueprint (defaults) turned into Python values.

A default is converted once, at load time, to the type the record layer works
with (Decimal for money, ``date`` for dates, an aware ``datetime``...), so a
default that cannot work is reported at the line that declares it rather than
on the first insert.  The textual formats (email, phone, URL) are shared with
the record-input JSON Schema so both judge a value the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from metamodel.definitions import FieldDef, FieldType

# Written as ECMA-262-compatible regexes (they go into JSON Schemas too), and no
# looser than the write path's coercion (metamodel/records/coerce.py), so a
# default or an input accepted here is never refused when the record is saved.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN = r"^(?=(?:\D*\d){3})\+?[0-9 ().\-]{5,40}$"
URL_PATTERN = r"^https?://[^\s/$.?#][^\s/?#]*([/?#]\S*)?$"
FORMAT_PATTERNS: dict[FieldType, str] = {
    FieldType.EMAIL: EMAIL_PATTERN, FieldType.PHONE: PHONE_PATTERN, FieldType.URL: URL_PATTERN,
}
FORMAT_REASONS: dict[FieldType, str] = {
    FieldType.EMAIL: "must be an email address like name@example.com",
    FieldType.PHONE: "must be a phone number: digits, spaces, ( ) - . and an optional leading +",
    FieldType.URL: "must be a web address starting with http:// or https://",
}


class BadValue(ValueError):
    """A value does not fit its field; the message is the reason a consultant reads."""


def _textual(value: Any, text: str | None, ftype: FieldType) -> str:
    if isinstance(value, dict | list) or value is None:
        raise BadValue("must be a single text value")
    result = text if text is not None else str(value)
    pattern = FORMAT_PATTERNS.get(ftype)
    if pattern and not re.match(pattern, result):
        raise BadValue(FORMAT_REASONS[ftype])
    return result


def _integer(value: Any, text: str | None, ftype: FieldType) -> int:
    number = _decimal(value, text, ftype) if not isinstance(value, str) else None
    if number is None or number != number.to_integral_value():
        raise BadValue("must be a whole number")
    return int(number)


def _decimal(value: Any, text: str | None, ftype: FieldType) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadValue("must be a number")
    try:
        number = Decimal(text if text is not None else str(value))
    except InvalidOperation:
        raise BadValue("must be a number") from None
    if not number.is_finite():
        raise BadValue("must be a finite number")
    return number


def _boolean(value: Any, text: str | None, ftype: FieldType) -> bool:
    if not isinstance(value, bool):
        raise BadValue("must be true or false")
    return value


def _date(value: Any, text: str | None, ftype: FieldType) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise BadValue("must be a date like 2024-12-31")


def _datetime(value: Any, text: str | None, ftype: FieldType) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else None
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
    if moment is None:
        raise BadValue("must be a date and time like 2024-12-31T09:00:00+03:00")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadValue("needs a time zone, e.g. 2024-12-31T09:00:00Z or +03:00")
    return moment


def _text_list(value: Any, texts: Sequence[str | None]) -> list[str]:
    if not isinstance(value, list) or any(t is None for t in texts):
        raise BadValue("must be a list of text values")
    return [t for t in texts if t is not None]


def _json(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise BadValue("must be plain JSON data (quote dates and times)") from None
    return value


_SCALAR: dict[FieldType, Callable[[Any, str | None, FieldType], Any]] = {
    FieldType.STRING: _textual, FieldType.TEXT: _textual, FieldType.EMAIL: _textual,
    FieldType.PHONE: _textual, FieldType.URL: _textual, FieldType.ENUM: _textual,
    FieldType.INTEGER: _integer, FieldType.DECIMAL: _decimal, FieldType.MONEY: _decimal,
    FieldType.BOOLEAN: _boolean, FieldType.DATE: _date, FieldType.DATETIME: _datetime,
}


def convert_default(ftype: FieldType, value: Any, text: str | None,
                    item_texts: Sequence[str | None] = ()) -> Any:
    """The Python value of a default for a field of type ``ftype``; raises ``BadValue``.

    ``text`` is the scalar as written and ``item_texts`` the written items of a
    list, so ``default: no`` on an enum means "no", not False.
    """
    if ftype in (FieldType.TAGS, FieldType.MULTI_ENUM):
        items = _text_list(value, item_texts)
        if len(set(items)) != len(items):
            raise BadValue("must not repeat values")
        return items
    if ftype is FieldType.JSON:
        return _json(value)
    converter = _SCALAR.get(ftype)
    if converter is None:
        raise BadValue(f"a {ftype.value} field cannot have a default")
    return converter(value, text, ftype)


def default_violation(fld: FieldDef) -> str | None:
    """Why a converted default breaks the field's own constraints (options, length, bounds)."""
    value = fld.default
    if not fld.options and fld.type in (FieldType.ENUM, FieldType.MULTI_ENUM):
        return None  # the missing options are the problem (MM.E123), not the default
    if fld.type is FieldType.ENUM and value not in fld.options:
        return f"must be one of: {', '.join(fld.options)}"
    if fld.type is FieldType.MULTI_ENUM and any(v not in fld.options for v in value):
        return f"may only contain: {', '.join(fld.options)}"
    if fld.max_length is not None and isinstance(value, str) and len(value) > fld.max_length:
        return f"is longer than max_length ({fld.max_length})"
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        if fld.min is not None and value < fld.min:
            return f"is below min ({fld.min})"
        if fld.max is not None and value > fld.max:
            return f"is above max ({fld.max})"
    return None
