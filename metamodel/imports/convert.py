"""From a spreadsheet cell to the value the record layer takes as input — and back, for exports.

This is a change of *shape*, not a second validation: a CSV cell is always
text, so ``"true"`` must become ``True`` and ``"vip, new"`` a list before the
record layer (``RecordStore.create``/``update``) judges it with the same rules
as every other door.  Whatever cannot be reshaped is passed on unchanged, and
the record layer's own reason ("must be a whole number") is what the user sees.
Only JSON text that does not parse is refused here, because only here is it text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from metamodel.definitions import FieldType

Converter = Callable[[Any], Any]
TRUE = frozenset({"true", "yes", "y", "1", "on", "x"})
FALSE = frozenset({"false", "no", "n", "0", "off"})
LIST_SEPARATOR = ","
_WHOLE = re.compile(r"^[+-]?[0-9]{1,19}$")


class CellInvalid(ValueError):
    """A cell that cannot even be given to the record layer; the message is the reason."""


class _Blank:
    """An empty cell: omitted on create (defaults apply), cleared on update."""

    def __repr__(self) -> str:
        return "BLANK"


BLANK: Any = _Blank()

#: What a spreadsheet reads as the start of a formula (OWASP "CSV injection"): tab and CR included.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: The reason a formula cell saved without its value is refused.
UNCOMPUTED = "formula without a computed value: open and save the file in Excel"


@dataclass(frozen=True, slots=True)
class UncomputedFormula:
    """An .xlsx cell holding a formula but no value: a file written by a program, never recalculated.

    Read as empty it would clear the field on an update; it is a row error instead.
    """

    formula: str

    def __str__(self) -> str:
        return self.formula


def guard_formula(text: str) -> str:
    """``text`` with a ``'`` in front when a spreadsheet would run it as a formula (a CSV export).

    Text whose leading quotes come before such a character gets one more, so that
    ``unguard_formula`` gives every text back exactly.
    """
    return "'" + text if text.lstrip("'").startswith(FORMULA_STARTS) else text


def unguard_formula(text: str) -> str:
    """The text ``guard_formula`` was given: one leading ``'`` before a formula character dropped.

    A CSV from another tool that escapes formulas the same way (OWASP's advice) reads right too.
    """
    return text[1:] if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS) else text


def _text(value: Any) -> Any:
    """Text as the record layer wants it; Excel's numbers in text fields (phone numbers) as their digits."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _stripped_text(value: Any) -> Any:
    shaped = _text(value)
    return shaped.strip() if isinstance(shaped, str) else shaped


def _integer(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        return int(text) if _WHOLE.match(text) else text
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


def _number(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().casefold()
        if word in TRUE:
            return True
        if word in FALSE:
            return False
    return value


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date() if value.time() == time() else value
    return value.strip() if isinstance(value, str) else value


def _datetime(value: Any) -> Any:
    """A time without a zone (Excel's, or ``2026-03-01 10:00`` typed in a sheet) is taken as UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return value.strip()
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return value


def split_list(value: Any) -> Any:
    """``"a, b"`` → ``["a", "b"]`` (empty items dropped); a single number → a one-item list."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return [_integer(value)]
    return value


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise CellInvalid('must be JSON, e.g. {"size": 42} or "text" in double quotes') from None


def _reference(value: Any) -> Any:
    return _integer(value) if isinstance(value, int | float | Decimal | str) else value


_CONVERTERS: dict[FieldType, Converter] = {
    FieldType.STRING: _text, FieldType.TEXT: _text, FieldType.EMAIL: _stripped_text,
    FieldType.PHONE: _stripped_text, FieldType.URL: _stripped_text, FieldType.ENUM: _stripped_text,
    FieldType.INTEGER: _integer, FieldType.DECIMAL: _number, FieldType.MONEY: _number,
    FieldType.BOOLEAN: _boolean, FieldType.DATE: _date, FieldType.DATETIME: _datetime,
    FieldType.MULTI_ENUM: split_list, FieldType.TAGS: split_list, FieldType.MANY: split_list,
    FieldType.JSON: _json, FieldType.REFERENCE: _reference, FieldType.USER: _reference,
}


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def convert_cell(field_type: FieldType, value: Any) -> Any:
    """The input value of one cell for a field of ``field_type``; ``BLANK`` for an empty cell."""
    if is_empty(value):
        return BLANK
    if isinstance(value, UncomputedFormula):
        raise CellInvalid(UNCOMPUTED)
    return _CONVERTERS.get(field_type, _text)(value)


# --- exports ----------------------------------------------------------------------------------------------

def cell_text(field_type: FieldType | None, value: Any) -> str:
    """A stored value as CSV text that ``convert_cell`` reads back to the same value."""
    if value is None:
        return ""
    if field_type is FieldType.JSON:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def cell_value(field_type: FieldType | None, value: Any) -> Any:
    """A stored value as an Excel cell: numbers, dates and booleans as such, times in UTC without zone."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if value is None or (isinstance(value, bool | int | Decimal | date) and field_type is not FieldType.JSON):
        return value
    return cell_text(field_type, value)
