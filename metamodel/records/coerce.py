"""Turning API input into the Python values a column stores, one field at a time.

Each field gets one coercer, built once per metadata version: a function that
returns the stored value or raises ``Invalid`` with a reason a consultant can
act on.  ``FieldRules`` applies them to a whole input and collects *every*
problem, so a form shows all its mistakes at once.  Checks that need the
database (references, users, uniqueness) live in ``write``.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from metamodel.blueprint import validate_record_input
from metamodel.definitions import COMPUTED, EntityDef, FieldDef, FieldType
from metamodel.storage.tables import NUMERIC_SHAPE, numeric_problem

Coercer = Callable[[Any], Any]

#: Built-in columns the platform sets itself; writing them is refused.
READ_ONLY_BUILTINS = frozenset(
    {"id", "created_at", "updated_at", "created_by", "version", "deleted_at", "stage_entered_at"})
#: Built-in columns a caller may write (``pipeline``/``stage`` only where the entity has pipelines).
WRITABLE_BUILTINS = ("owner", "pipeline", "stage")

_INTEGER_TEXT = re.compile(r"^[+-]?\d+$")
_BIGINT = 2**63
_WIDE = Context(prec=60)
#: (scale, largest integer digits) of the Numeric columns of money and decimal fields.
#: Column widths of the types whose SQL type has a fixed length (the schema knows only max_length).
_COLUMN_LIMITS = {FieldType.EMAIL: 320, FieldType.PHONE: 64, FieldType.URL: 2048, FieldType.ENUM: 255}


class Invalid(ValueError):
    """A value that does not fit its field; the message is the reason shown to the user."""


NUL_REASON = "must not contain the NUL character"


def _without_nul(text: str) -> str:
    """PostgreSQL cannot store U+0000 in text or JSON: refuse it on both databases alike."""
    if "\x00" in text:
        raise Invalid(NUL_REASON)
    return text


def has_nul(value: Any) -> bool:
    """Whether text — or any key or text inside a JSON-like value — holds U+0000, which
    PostgreSQL cannot store: notes and broadcasts refuse it with ``NUL_REASON`` as records do."""
    return _json_has_nul(value)


def _json_has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_json_has_nul(k) or _json_has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_json_has_nul(v) for v in value)
    return False


def _text(fld: FieldDef) -> Coercer:
    """Text as given; formats and ``max_length`` are the schema's, the column width is checked here."""
    limit = fld.max_length or _COLUMN_LIMITS.get(fld.type)

    def coerce(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid("must be text")
        _without_nul(value)
        if limit is not None and len(value) > limit:
            raise Invalid(f"must be at most {limit} characters")
        return value

    return coerce


def _whole(value: Any) -> int:
    """An int from an int, an integral float/Decimal or decimal digits; never from a bool."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.match(value.strip()):
        return int(value.strip())
    raise Invalid("must be a whole number")


def _integer(_fld: FieldDef) -> Coercer:
    """Bounds (min/max and the 64-bit range) are the schema's; this converts ``"12"``/``12.0``."""
    return _whole


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise Invalid("must be a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(
            value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise Invalid("must be a number") from None
    if not number.is_finite():
        raise Invalid("must be a number")
    return number


def _decimal(fld: FieldDef) -> Coercer:
    """A Decimal at the column's scale (never rounded); scale and precision here, min/max by the schema."""
    scale, _ = NUMERIC_SHAPE[fld.type]
    quantum = Decimal(1).scaleb(-scale)

    def coerce(value: Any) -> Decimal:
        number = _to_decimal(value)
        problem = numeric_problem(number, fld.type)  # never round money nobody entered
        if problem:
            raise Invalid(problem)
        return number.quantize(quantum, rounding=ROUND_HALF_UP, context=_WIDE)

    return coerce


def _boolean(_fld: FieldDef) -> Coercer:
    def coerce(value: Any) -> bool:
        if not isinstance(value, bool):
            raise Invalid("must be true or false")
        return value

    return coerce


def _date(_fld: FieldDef) -> Coercer:
    def coerce(value: Any) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise Invalid("must be a date like 2026-03-31")

    return coerce


def _datetime(_fld: FieldDef) -> Coercer:
    """Naive input is taken as UTC; everything is stored in UTC (SQLite keeps no offset)."""

    def coerce(value: Any) -> datetime:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value.strip())
        if not isinstance(value, datetime):
            raise Invalid("must be a date and time like 2026-03-31T14:30:00Z")
        try:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise Invalid("is outside the years 1 to 9999 in UTC") from None

    return coerce


def _option(_fld: FieldDef) -> Coercer:
    """Enum values are stored as given: the schema has already held them against the options."""
    return lambda value: value


def _string_list(value: Any, reason: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise Invalid(reason)
    return list(value)


def _options(_fld: FieldDef) -> Coercer:
    """Multi-enum values: the options and their uniqueness are the schema's; stored as a list."""
    return lambda value: list(value)


def _tags(_fld: FieldDef) -> Coercer:
    """Tags are stripped, empty ones dropped and duplicates removed, first occurrence kept."""

    def coerce(value: Any) -> list[str]:
        items = [_without_nul(t) for t in _string_list(value, "must be a list of tags (text)")]
        return list(dict.fromkeys(t for t in (v.strip() for v in items) if t))

    return coerce


def _json(_fld: FieldDef) -> Coercer:
    def coerce(value: Any) -> Any:
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            raise Invalid("must be a JSON value (object, list, text, number, true/false)") from None
        if _json_has_nul(value):
            raise Invalid(NUL_REASON)
        return value

    return coerce


def coerce_id(value: Any, what: str) -> int:
    """A record or user id given as a number or as the decimal text GraphQL IDs use."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value >= _BIGINT:
        raise Invalid(f"must be the id of a {what}")
    return value


def _reference(fld: FieldDef) -> Coercer:
    target = fld.to or "record"
    return lambda value: coerce_id(value, target)


def _many(fld: FieldDef) -> Coercer:
    target = fld.to or "record"

    def coerce(value: Any) -> list[int]:
        if not isinstance(value, list | tuple):
            raise Invalid(f"must be a list of {target} ids")
        return sorted({coerce_id(v, target) for v in value})

    return coerce


class UserEmail(str):
    """A user named by email (forms and imports know emails, not ids); ``write`` resolves it."""

    __slots__ = ()


def _user(_fld: FieldDef) -> Coercer:
    def coerce(value: Any) -> int | UserEmail:
        if isinstance(value, str) and "@" in value:
            return UserEmail(_without_nul(value).strip().lower())
        return coerce_id(value, "user")

    return coerce


def _computed(_fld: FieldDef) -> Coercer:
    def coerce(_value: Any) -> Any:
        raise Invalid("is computed from other fields and cannot be written")

    return coerce


_BUILDERS: dict[FieldType, Callable[[FieldDef], Coercer]] = {
    FieldType.STRING: _text, FieldType.TEXT: _text, FieldType.EMAIL: _text, FieldType.URL: _text,
    FieldType.PHONE: _text, FieldType.INTEGER: _integer, FieldType.DECIMAL: _decimal,
    FieldType.MONEY: _decimal, FieldType.BOOLEAN: _boolean, FieldType.DATE: _date,
    FieldType.DATETIME: _datetime, FieldType.ENUM: _option, FieldType.MULTI_ENUM: _options,
    FieldType.TAGS: _tags, FieldType.JSON: _json, FieldType.REFERENCE: _reference,
    FieldType.MANY: _many, FieldType.USER: _user, FieldType.FORMULA: _computed,
    FieldType.ROLLUP: _computed,
}


def coercer_for(fld: FieldDef) -> Coercer:
    """The coercer of one field (every field type has one: a missing one fails at import)."""
    return _BUILDERS[fld.type](fld)


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


@dataclass(frozen=True)
class FieldRules:
    """Every input rule of one entity at one metadata version, built once."""

    entity: EntityDef
    coercers: Mapping[str, Coercer]
    required: frozenset[str]
    defaults: Mapping[str, Any]
    many: frozenset[str]
    tags: frozenset[str]
    #: enum fields with an option "": there the empty text is a value, not a missing one
    empty_options: frozenset[str] = frozenset()

    def coerce(self, values: Mapping[str, Any], *, partial: bool) -> tuple[dict[str, Any], dict[str, str]]:
        """Coerced values and the problems found, field by field (all of them).

        The shape of the input is judged by the entity's JSON Schema
        (``validate_record_input``), the one check every surface shares; what
        passes it is converted here (text to Decimal/date, tags normalised, ids
        parsed).  ``partial`` is an update: absent fields keep their value.
        On create, defaults fill absent fields.
        """
        given = self._normalised_tags(values)
        problems = {name: self._unknown(name) if self._is_unknown(name) else reason
                    for name, reason in validate_record_input(self.entity, given, partial=partial).items()}
        source = given if partial else {**self._fresh_defaults(), **given}
        out: dict[str, Any] = {}
        for name, raw in source.items():
            coerce = self.coercers.get(name)
            if name in problems or coerce is None:
                problems.setdefault(name, self._unknown(name))
            elif _is_blank(raw) and not (raw == "" and name in self.empty_options):
                if name in self.required:
                    problems[name] = "is required"
                else:
                    out[name] = [] if name in self.many else None
            else:
                try:
                    out[name] = coerce(raw)
                except Invalid as exc:
                    problems[name] = str(exc)
        return out, problems

    def _normalised_tags(self, values: Mapping[str, Any]) -> Mapping[str, Any]:
        """Tags are normalised before they are judged: duplicates and blanks are dropped, not refused."""
        if not self.tags.intersection(values):
            return values
        given = dict(values)
        for name in self.tags.intersection(values):
            if isinstance(given[name], list | tuple):
                with contextlib.suppress(Invalid):
                    given[name] = self.coercers[name](given[name])
        return given

    def _is_unknown(self, name: str) -> bool:
        return name not in self.coercers and name not in READ_ONLY_BUILTINS

    def _fresh_defaults(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, list) else v for k, v in self.defaults.items()}

    def _unknown(self, name: str) -> str:
        if name in READ_ONLY_BUILTINS:
            return "is set by the platform and cannot be written"
        close = difflib.get_close_matches(name, list(self.coercers), n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        return f"is not a field of {self.entity.name}{hint}"


def build_rules(entity: EntityDef) -> FieldRules:
    """Compile the rules of ``entity``; defaults are coerced once here, not per write."""
    coercers: dict[str, Coercer] = {f.name: coercer_for(f) for f in entity.fields}
    coercers["owner"] = _user(FieldDef("owner", FieldType.USER))
    defaults = {f.name: coercers[f.name](f.default) for f in entity.fields
                if f.has_default and f.default is not None and f.type not in COMPUTED}
    required = frozenset(f.name for f in entity.fields if f.required and f.type not in COMPUTED)
    many = frozenset(f.name for f in entity.fields if f.type is FieldType.MANY)
    tags = frozenset(f.name for f in entity.fields if f.type is FieldType.TAGS)
    empty_options = frozenset(f.name for f in entity.fields if f.type is FieldType.ENUM and "" in f.options)
    return FieldRules(entity, coercers, required, defaults, many, tags, empty_options)
