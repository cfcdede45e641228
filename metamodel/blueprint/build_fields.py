"""Fields: from a YAML mapping to a frozen ``FieldDef``, with the checks that need only the field.

Which option applies to which type is one table (``APPLIES``), so "inverse on a
many field" or "max_length on a number" is one rule rather than twenty ifs.
Checks that need other entities (targets, inverses, rollup sources) run later
on the built definitions.
"""

from __future__ import annotations

from typing import Any, TypeVar

from metamodel.blueprint import codes
from metamodel.blueprint.names import fold
from metamodel.blueprint.reader import Reader, did_you_mean
from metamodel.blueprint.values import BadValue, convert_default, default_violation
from metamodel.blueprint.yaml_positions import Path
from metamodel.definitions import COMPUTED, FieldDef, FieldType, RollupAgg

MAX_LENGTH_LIMIT = 10_485_760  # PostgreSQL's largest varchar(n)
FIELD_KEYS = ("type", "required", "unique", "default", "label", "help", "index", "max_length", "min",
              "max", "options", "to", "inverse", "currency", "expr", "returns", "of", "agg", "field",
              "where", "renamed_from")
STRINGS = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.URL})
NUMBERS = frozenset({FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY})
FORMULA_RESULTS = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.INTEGER, FieldType.DECIMAL,
                             FieldType.MONEY, FieldType.BOOLEAN, FieldType.DATE, FieldType.DATETIME})
_ALL = frozenset(FieldType)
E = TypeVar("E", FieldType, RollupAgg)
_ROLLUP = frozenset({FieldType.ROLLUP})

APPLIES: dict[str, frozenset[FieldType]] = {
    "required": _ALL - COMPUTED,
    "unique": _ALL - COMPUTED - {FieldType.MANY, FieldType.TAGS, FieldType.MULTI_ENUM, FieldType.JSON},
    "index": _ALL - COMPUTED - {FieldType.MANY},
    "default": _ALL - COMPUTED - {FieldType.REFERENCE, FieldType.MANY, FieldType.USER},
    "max_length": STRINGS,
    "min": NUMBERS, "max": NUMBERS,
    "options": frozenset({FieldType.ENUM, FieldType.MULTI_ENUM}),
    "to": frozenset({FieldType.REFERENCE, FieldType.MANY}),
    "inverse": frozenset({FieldType.REFERENCE}),
    "currency": frozenset({FieldType.MONEY}),
    "expr": frozenset({FieldType.FORMULA}), "returns": frozenset({FieldType.FORMULA}),
    "of": _ROLLUP, "agg": _ROLLUP, "field": _ROLLUP, "where": _ROLLUP,
}


def build_field(r: Reader, name: str, raw: Any, path: Path) -> FieldDef | None:
    """The definition of field ``name``, or None when it has no usable type."""
    shorthand = f'write {{type: {raw}}}' if isinstance(raw, str) else ""
    data = r.mapping(path, raw, f'field "{name}"', shorthand)
    if data is None:
        return None
    r.known_keys(path, data, FIELD_KEYS, f'field "{name}"')
    ftype = _field_type(r, data, path, name)
    if ftype is None:
        return None
    data = _applicable(r, data, path, ftype)
    fld = FieldDef(
        name=name, type=ftype, label=r.text(path, data, "label") or name,
        required=r.flag(path, data, "required"), unique=r.flag(path, data, "unique"),
        index=r.flag(path, data, "index"), help=r.text(path, data, "help") or "",
        max_length=r.whole(path, data, "max_length"), min=r.number(path, data, "min"),
        max=r.number(path, data, "max"), options=r.texts(path, data, "options") or (),
        to=r.text(path, data, "to"), inverse=r.text(path, data, "inverse"),
        currency=r.text(path, data, "currency"), expr=r.text(path, data, "expr"),
        returns=_choice(r, path, data, "returns", FieldType, codes.BAD_FORMULA),
        of=r.text(path, data, "of"), agg=_choice(r, path, data, "agg", RollupAgg, codes.BAD_ROLLUP_AGG),
        rollup_field=r.text(path, data, "field"), where=r.text(path, data, "where"),
        renamed_from=r.text(path, data, "renamed_from"), place=r.key_place(path),
        **_default(r, data, path, ftype),
    )
    _check_local(r, fld, data, path)
    return r.remember(fld, path)


def _field_type(r: Reader, data: dict[str, Any], path: Path, name: str) -> FieldType | None:
    if not r.require(path, data, "type", f'field "{name}"'):
        return None
    written = r.text(path, data, "type")
    if written is None:
        return None
    try:
        return FieldType(written)
    except ValueError:
        r.add(codes.UNKNOWN_FIELD_TYPE, f'unknown field type "{written}"', r.value_place((*path, "type")),
              did_you_mean(written, [t.value for t in FieldType]))
        return None


def _applicable(r: Reader, data: dict[str, Any], path: Path, ftype: FieldType) -> dict[str, Any]:
    """``data`` without the options that make no sense for ``ftype`` (each one reported)."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        allowed = APPLIES.get(key)
        if allowed is not None and ftype not in allowed and value is not None:
            article = "an" if ftype.value[0] in "aeiou" else "a"
            r.add(codes.OPTION_NOT_APPLICABLE, f'"{key}" does not apply to {article} {ftype.value} field',
                  r.key_place((*path, key)), _applies_hint(key))
            continue
        kept[key] = value
    return kept


def _applies_hint(key: str) -> str:
    types = sorted(t.value for t in APPLIES[key])
    return f"{key} applies to: {', '.join(types)}" if len(types) < 8 else ""


def _choice(r: Reader, path: Path, data: dict[str, Any], key: str, enum: type[E], code: str) -> E | None:
    written = r.text(path, data, key)
    if written is None:
        return None
    try:
        return enum(written)
    except ValueError:
        choices = [e.value for e in enum]
        r.add(code, f'"{written}" is not a valid {key}', r.value_place((*path, key)),
              did_you_mean(written, choices) or f"choose one of: {', '.join(choices)}")
        return None


def _default(r: Reader, data: dict[str, Any], path: Path, ftype: FieldType) -> dict[str, Any]:
    """``default`` and ``has_default`` keyword arguments; a default that does not fit is reported."""
    value = data.get("default")
    if value is None:
        return {}
    where = (*path, "default")
    items = [r.doc.text((*where, i)) for i in range(len(value))] if isinstance(value, list) else []
    try:
        converted = convert_default(ftype, value, r.doc.text(where), items)
    except BadValue as exc:
        r.add(codes.BAD_DEFAULT, f"default {exc}", r.value_place(where))
        return {}
    return {"default": converted, "has_default": True}


def _check_local(r: Reader, fld: FieldDef, data: dict[str, Any], path: Path) -> None:
    """Checks that need nothing but the field itself."""
    for check in (_check_options, _check_bounds, _check_default_fits, _check_formula, _check_currency):
        check(r, fld, path)
    if fld.type in (FieldType.REFERENCE, FieldType.MANY) and not fld.to:
        r.add(codes.MISSING_TARGET, f'{fld.type.value} field "{fld.name}" needs "to:" naming an entity',
              r.key_place(path))
    if "default" in data and data["default"] is None and fld.required:
        r.add(codes.INCONSISTENT_DEFAULT, f'required field "{fld.name}" cannot default to null',
              r.value_place((*path, "default")), "remove the default or make the field optional")
    if fld.unique and fld.has_default:
        r.add(codes.INCONSISTENT_DEFAULT,
              f'unique field "{fld.name}" cannot have a default: the second record would collide',
              r.key_place((*path, "default")))


def _check_options(r: Reader, fld: FieldDef, path: Path) -> None:
    if fld.type not in (FieldType.ENUM, FieldType.MULTI_ENUM):
        return
    if not fld.options:
        r.add(codes.ENUM_WITHOUT_OPTIONS,
              f'{fld.type.value} field "{fld.name}" needs a non-empty "options:" list', r.key_place(path))
    seen: dict[str, str] = {}
    for index, option in enumerate(fld.options):
        if not option.strip():  # a record's "" means "no value", so "" can never be chosen
            r.add(codes.ENUM_WITHOUT_OPTIONS, "an option cannot be empty",
                  r.value_place((*path, "options", index)))
            continue
        key = fold(option)
        if key in seen:
            r.add(codes.DUPLICATE_OPTION, f'option "{option}" is listed twice (as "{seen[key]}" before)',
                  r.value_place((*path, "options", index)))
        seen.setdefault(key, option)


def _check_bounds(r: Reader, fld: FieldDef, path: Path) -> None:
    if fld.max_length is not None and not 1 <= fld.max_length <= MAX_LENGTH_LIMIT:
        r.add(codes.BAD_BOUNDS, f"max_length must be between 1 and {MAX_LENGTH_LIMIT}",
              r.value_place((*path, "max_length")), "leave max_length out for unlimited text")
    if fld.min is not None and fld.max is not None and fld.min > fld.max:
        r.add(codes.BAD_BOUNDS, f"min ({fld.min}) is greater than max ({fld.max})",
              r.value_place((*path, "min")))


def _check_default_fits(r: Reader, fld: FieldDef, path: Path) -> None:
    reason = default_violation(fld) if fld.has_default else None
    if reason:
        r.add(codes.DEFAULT_OUT_OF_RANGE, f"default {reason}", r.value_place((*path, "default")))


def _check_formula(r: Reader, fld: FieldDef, path: Path) -> None:
    if fld.type is not FieldType.FORMULA:
        return
    if not (fld.expr or "").strip():
        r.add(codes.BAD_FORMULA, f'formula field "{fld.name}" needs a non-empty "expr:"', r.key_place(path))
    if fld.returns is None and r.doc.text((*path, "returns")) is None:
        r.add(codes.BAD_FORMULA, f'formula field "{fld.name}" needs "returns:" (its value type)',
              r.key_place(path))
    elif fld.returns is not None and fld.returns not in FORMULA_RESULTS:
        r.add(codes.BAD_FORMULA, f"a formula cannot return {fld.returns.value}",
              r.value_place((*path, "returns")), f"choose one of: {', '.join(sorted(FORMULA_RESULTS))}")


def _check_currency(r: Reader, fld: FieldDef, path: Path) -> None:
    if fld.currency is not None and not (len(fld.currency) == 3 and fld.currency.isascii()
                                         and fld.currency.isalpha() and fld.currency.isupper()):
        r.add(codes.BAD_CURRENCY, f'currency "{fld.currency}" must be a three-letter ISO code like EUR',
              r.value_place((*path, "currency")))
