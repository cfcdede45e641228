"""JSON Schema for record input, generated from an entity's definition.

Record writes from every surface (GraphQL, REST, forms, imports) are checked
against one schema per entity, so a value is judged the same way whichever
door it came through.  ``partial=True`` is the update variant: nothing is
required.  Reasons are written for a consultant ("must be one of: ..."), not
copied from jsonschema's messages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from metamodel.blueprint.reserved import BUILTIN_FIELDS
from metamodel.blueprint.values import FORMAT_PATTERNS, FORMAT_REASONS
from metamodel.definitions import COMPUTED, EntityDef, FieldDef, FieldType

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$"
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
ID_SCHEMA: dict[str, Any] = {"type": ["integer", "string"], "minimum": 1, "minLength": 1}
# Integers are stored as 64-bit: refuse what the column cannot hold, here rather than as a database error.
INTEGER_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
WRITABLE_BUILTINS = ("owner",)
PIPELINE_BUILTINS = ("pipeline", "stage")

_REASONS: dict[FieldType, str] = {
    FieldType.INTEGER: "must be a whole number", FieldType.DECIMAL: "must be a number",
    FieldType.MONEY: "must be an amount (a number)", FieldType.BOOLEAN: "must be true or false",
    FieldType.DATE: "must be a date like 2024-12-31",
    FieldType.DATETIME: "must be a date and time with a time zone, like 2024-12-31T09:00:00Z",
    FieldType.TAGS: "must be a list of distinct texts", FieldType.MULTI_ENUM: "must be a list of options",
    FieldType.REFERENCE: "must be the id of a record", FieldType.MANY: "must be a list of record ids",
    FieldType.USER: "must be the id or email of a user", **FORMAT_REASONS,
}


def _base_schema(fld: FieldDef) -> dict[str, Any]:
    """The schema of one non-null value of ``fld``."""
    t = fld.type
    if t in (FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.URL):
        schema: dict[str, Any] = {"type": "string"}
        if t in FORMAT_PATTERNS:
            schema["pattern"] = FORMAT_PATTERNS[t]
        if fld.max_length is not None:
            schema["maxLength"] = fld.max_length
        if fld.required:
            schema["minLength"] = 1
        return schema
    if t in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY):
        schema = dict(INTEGER_SCHEMA) if t is FieldType.INTEGER else {"type": ["number", "string"],
                                                                       "pattern": DECIMAL_PATTERN}
        schema.update({k: float(v) if v % 1 else int(v) for k, v in
                       (("minimum", fld.min), ("maximum", fld.max)) if v is not None})
        return schema
    simple: dict[FieldType, dict[str, Any]] = {
        FieldType.BOOLEAN: {"type": "boolean"},
        FieldType.DATE: {"type": "string", "pattern": DATE_PATTERN, "format": "date"},
        FieldType.DATETIME: {"type": "string", "pattern": DATETIME_PATTERN},
        FieldType.ENUM: {"enum": list(fld.options)},
        FieldType.MULTI_ENUM: {"type": "array", "items": {"enum": list(fld.options)}, "uniqueItems": True},
        FieldType.TAGS: {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
        FieldType.REFERENCE: ID_SCHEMA, FieldType.USER: ID_SCHEMA,
        FieldType.MANY: {"type": "array", "items": ID_SCHEMA, "uniqueItems": True},
    }
    return dict(simple.get(t, {}))


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    if not schema:
        return schema
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*kinds, "null"]}


def record_input_schema(entity: EntityDef, *, partial: bool) -> dict[str, Any]:
    """The JSON Schema of a create (``partial=False``) or update (``partial=True``) input of ``entity``.

    Computed fields and platform-managed built-ins are absent, so
    ``additionalProperties: false`` refuses them; ``owner`` (and ``pipeline``/
    ``stage`` on entities with pipelines) may be given.
    """
    properties: dict[str, Any] = {}
    for fld in entity.fields:
        if fld.type in COMPUTED:
            continue
        schema = _base_schema(fld)
        properties[fld.name] = schema if fld.required else _nullable(schema)
    properties["owner"] = _nullable(ID_SCHEMA)
    if entity.pipelines:
        properties["pipeline"] = {"enum": [p.code for p in entity.pipelines]}
        properties["stage"] = {"enum": sorted({s.code for p in entity.pipelines for s in p.stages})}
    required = [] if partial else [f.name for f in entity.fields
                                   if f.required and not f.has_default and f.type not in COMPUTED]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{entity.label} input" + (" (update)" if partial else ""),
        "type": "object", "properties": properties, "required": required, "additionalProperties": False,
    }


def _is_iso_date(value: object) -> bool:
    """The ``date`` format as jsonschema's own checker judges it, for the compiled validator."""
    if not isinstance(value, str):
        return True
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Validators:
    """Two validators of one schema.

    ``accepts`` is compiled to Python by fastjsonschema (about 20x faster) and
    only decides that input is valid — the common case on the write path.
    ``full`` (jsonschema) runs only when ``accepts`` refuses, to list every
    field's reason; it stays the authority on what is refused.
    """

    accepts: Callable[[Any], Any]
    full: Draft202012Validator


def _compile(entity: EntityDef, partial: bool) -> _Validators:
    schema = record_input_schema(entity, partial=partial)
    formats: dict[str, Callable[[Any], bool]] = {"date": _is_iso_date}
    draft7 = _patterns_as_formats({k: v for k, v in schema.items() if k != "$schema"}, formats)
    return _Validators(fastjsonschema.compile(draft7, formats=formats),
                       Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER))


def _searches(regex: re.Pattern[str]) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        return not isinstance(value, str) or regex.search(value) is not None
    return check


def _patterns_as_formats(node: Any, formats: dict[str, Callable[[Any], bool]]) -> Any:
    """Hand each ``pattern`` to the compiled validator as a format that runs ``re.search``.

    fastjsonschema rewrites ``$`` to ``\\Z`` even inside character classes, which
    breaks valid patterns; a format checker with the pattern compiled by ``re``
    judges exactly as jsonschema's ``pattern`` does.
    """
    if isinstance(node, list):
        return [_patterns_as_formats(item, formats) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _patterns_as_formats(v, formats) for k, v in node.items() if k != "pattern"}
    if "pattern" in node:
        if "format" in node:  # one format per schema node: keep both checks with allOf
            out = {"allOf": [out, _patterns_as_formats({"pattern": node["pattern"]}, formats)]}
        else:
            name = "pattern-" + hashlib.sha1(node["pattern"].encode()).hexdigest()[:16]
            formats[name] = _searches(re.compile(node["pattern"]))
            out["format"] = name
    return out


class _ValidatorCache:
    """Compiled validators per (entity definition, variant); keyed by identity, bounded.

    Definitions may hold lists (tag defaults), so they are not hashable; the
    cache keeps a reference to each definition so an id is never reused while cached.
    """

    def __init__(self, limit: int = 512) -> None:
        self.limit = limit
        self.items: OrderedDict[tuple[int, bool], tuple[EntityDef, _Validators]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, entity: EntityDef, partial: bool) -> _Validators:
        key = (id(entity), partial)
        with self.lock:
            hit = self.items.get(key)
            if hit is not None and hit[0] is entity:
                self.items.move_to_end(key)
                return hit[1]
        validators = _compile(entity, partial)
        with self.lock:
            self.items[key] = (entity, validators)
            while len(self.items) > self.limit:
                self.items.popitem(last=False)
        return validators


_CACHE = _ValidatorCache()


def _as_json(value: Any) -> Any:
    """Python callers may pass ``date``/``datetime`` objects; judge them as their ISO text."""
    return value.isoformat() if isinstance(value, dt.date) else value


def validate_record_input(entity: EntityDef, data: Mapping[str, Any], *, partial: bool) -> dict[str, str]:
    """Field → reason for every field of ``data`` that ``entity`` refuses; empty when all is fine."""
    reasons: dict[str, str] = {}
    plain = {key: _as_json(value) for key, value in data.items()}
    validators = _CACHE.get(entity, partial)
    try:
        validators.accepts(plain)
    except fastjsonschema.JsonSchemaException:
        pass
    else:
        return dict(_decimal_bounds(entity, data))
    errors = sorted(validators.full.iter_errors(plain), key=lambda e: [str(p) for p in e.path])
    for error in errors:
        for name, reason in _explain(entity, error):
            reasons.setdefault(name, reason)
    for name, reason in _decimal_bounds(entity, data):
        reasons.setdefault(name, reason)
    return reasons


def _explain(entity: EntityDef, error: ValidationError) -> list[tuple[str, str]]:
    """Consultant-readable (field, reason) pairs for one jsonschema error."""
    if error.validator == "required":
        missing = [n for n in error.validator_value if n not in error.instance]
        return [(name, "is required") for name in missing]
    if error.validator == "additionalProperties":
        extra = [n for n in error.instance if n not in error.schema.get("properties", {})]
        return [(name, _why_not_writable(entity, name)) for name in extra]
    if not error.absolute_path:
        return [("", "must be an object of field: value")]
    name = str(error.absolute_path[0])
    fld = entity.find_field(name)
    return [(name, _reason(fld, error))]


def _why_not_writable(entity: EntityDef, name: str) -> str:
    fld = entity.find_field(name)
    if fld is not None and fld.type in COMPUTED:
        return f"is a {fld.type.value} field and cannot be set"
    if name in BUILTIN_FIELDS:
        return "is set by the platform"
    return f"is not a field of {entity.name}"


def _reason(fld: FieldDef | None, error: ValidationError) -> str:
    kind = error.validator
    if kind == "enum":
        options = [str(o) for o in error.validator_value if o is not None]
        return f"must be one of: {', '.join(options)}"
    if kind == "maxLength":
        return f"must be at most {error.validator_value} characters"
    if kind in ("minimum", "maximum"):
        return f"must be at {'least' if kind == 'minimum' else 'most'} {error.validator_value}"
    if kind == "uniqueItems":
        return "must not repeat values"
    if kind == "minLength" and fld is not None and fld.required:
        return "is required"
    if kind == "type" and error.instance is None:
        return "is required"
    if fld is not None and fld.type in _REASONS:
        return _REASONS[fld.type]
    return "must be text" if fld is not None else "is invalid"


def _decimal_bounds(entity: EntityDef, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """min/max for decimals given as strings (JSON Schema bounds only see numbers)."""
    found: list[tuple[str, str]] = []
    for fld in entity.fields:
        value = data.get(fld.name)
        if not isinstance(value, str) or fld.type not in (FieldType.DECIMAL, FieldType.MONEY):
            continue
        try:
            number = Decimal(value)
        except InvalidOperation:
            continue
        if fld.min is not None and number < fld.min:
            found.append((fld.name, f"must be at least {fld.min}"))
        elif fld.max is not None and number > fld.max:
            found.append((fld.name, f"must be at most {fld.max}"))
    return found
