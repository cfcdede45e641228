"""What every name of an entity means in SQL: builtins, stored fields, rollups.

The read path (filters, sorts, aggregates, group-by) never looks at a
``FieldDef`` directly; it asks this module for a ``FieldSpec`` that says how a
name behaves (a value compared with operators, a reference to follow, a list to
quantify over…) and which SQL expression yields it.  Specs are built once per
metadata version and entity and cached, so a request only pays for dict
look-ups.

Rollup fields are correlated scalar subqueries over the inverse list they
summarise, and formula fields are their ``.craft`` expression compiled to SQL
(``formulas``), so both can be selected, filtered, sorted and grouped like a
column.  A rollup's optional ``where`` is a ``.craft`` condition on the source
entity's rows (``stage.kind == won``, ``amount > 100 and not paid``…).  A
formula or condition that does not parse is left out of records and refused,
with the language's message, where a query names it.

The values a name accepts (ISO text to dates, numbers to Decimal, enum options
checked) are converted here too, so filters and cursors agree on them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from metamodel.definitions import EntityDef, FieldDef, FieldType, RollupAgg, StageKind
from metamodel.errors import InvalidQuery, Place
from metamodel.records.formulas import formula_expr, scaled, where_expr
from metamodel.storage.catalog import WorkspaceMeta
from metamodel.storage.tables import NUMERIC_SHAPE, column_type


class Kind(StrEnum):
    """How a name behaves in a filter."""

    VALUE = "value"          # a scalar compared with operators (columns, rollups, formulas)
    REFERENCE = "reference"  # an id column pointing at another entity
    USER = "user"            # an id column pointing at sc_users of the workspace
    STAGE = "stage"          # the stage code, also filtered by stage kind
    LIST = "list"            # a JSON array of strings (tags, multi_enum)
    INVERSE = "inverse"      # the records of another entity that reference this one
    MANY = "many"            # a many-to-many list through a junction table
    PENDING = "pending"      # formulas and rollup conditions whose expression does not parse


class VType(StrEnum):
    """The value type operators and coercion work on."""

    INT = "int"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    TEXT = "text"
    ENUM = "enum"
    BOOL = "bool"
    CODE = "code"
    LIST = "list"
    JSON = "json"


_VTYPES: dict[FieldType, VType] = {
    FieldType.STRING: VType.TEXT, FieldType.TEXT: VType.TEXT, FieldType.EMAIL: VType.TEXT,
    FieldType.PHONE: VType.TEXT, FieldType.URL: VType.TEXT, FieldType.ENUM: VType.ENUM,
    FieldType.INTEGER: VType.INT, FieldType.DECIMAL: VType.DECIMAL, FieldType.MONEY: VType.DECIMAL,
    FieldType.BOOLEAN: VType.BOOL, FieldType.DATE: VType.DATE, FieldType.DATETIME: VType.DATETIME,
    FieldType.TAGS: VType.LIST, FieldType.MULTI_ENUM: VType.LIST, FieldType.JSON: VType.JSON,
    FieldType.REFERENCE: VType.INT, FieldType.USER: VType.INT, FieldType.MANY: VType.INT,
}
_KINDS: dict[FieldType, Kind] = {
    FieldType.REFERENCE: Kind.REFERENCE, FieldType.USER: Kind.USER, FieldType.TAGS: Kind.LIST,
    FieldType.MULTI_ENUM: Kind.LIST, FieldType.MANY: Kind.MANY,
}
ORDERED = frozenset({VType.INT, VType.DECIMAL, VType.DATE, VType.DATETIME, VType.TEXT})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One filterable/sortable name of an entity and how it maps to SQL."""

    name: str
    kind: Kind
    vtype: VType
    options: tuple[str, ...] = ()   # enum / multi_enum options
    target: str | None = None       # entity behind a reference, inverse or many field
    via: str | None = None          # inverse: the reference field on ``target``
    rollup: FieldDef | None = None
    formula: FieldDef | None = None
    stored: bool = True             # a column of the entity's own table
    pending: str = ""               # why a PENDING name cannot be used
    pending_code: str | None = None  # the language's error code behind ``pending``

    def expr(self, meta: WorkspaceMeta, entity: EntityDef, table: FromClause) -> ColumnElement[Any]:
        """The SQL expression of this name on ``table`` (an alias of the entity's table)."""
        if self.rollup is not None:
            return rollup_expr(meta, entity, self.rollup, table)
        if self.formula is not None:
            return formula_expr(meta, entity, self.formula, table)
        return table.c[self.name]


def _builtins(entity: EntityDef) -> list[FieldSpec]:
    specs = [FieldSpec("id", Kind.VALUE, VType.INT), FieldSpec("version", Kind.VALUE, VType.INT)]
    specs += [FieldSpec(n, Kind.VALUE, VType.DATETIME) for n in ("created_at", "updated_at", "deleted_at")]
    specs += [FieldSpec(n, Kind.USER, VType.INT) for n in ("owner", "created_by")]
    if entity.pipelines:
        specs += [FieldSpec("pipeline", Kind.VALUE, VType.CODE,
                            tuple(p.code for p in entity.pipelines)),
                  FieldSpec("stage", Kind.STAGE, VType.CODE,
                            tuple(dict.fromkeys(s.code for p in entity.pipelines for s in p.stages))),
                  FieldSpec("stage_entered_at", Kind.VALUE, VType.DATETIME)]
    return specs


def _field_spec(meta: WorkspaceMeta, entity: EntityDef, fld: FieldDef) -> FieldSpec:
    broken = _broken_expression(meta, entity, fld)
    if broken is not None:
        return FieldSpec(fld.name, Kind.PENDING, VType.JSON, stored=False, pending=broken.message,
                         pending_code=broken.code)
    if fld.type is FieldType.ROLLUP:
        return FieldSpec(fld.name, Kind.VALUE, rollup_vtype(meta, entity, fld), rollup=fld, stored=False)
    if fld.type is FieldType.FORMULA:
        returns = fld.returns or FieldType.DECIMAL
        return FieldSpec(fld.name, _KINDS.get(returns, Kind.VALUE), _VTYPES.get(returns, VType.JSON),
                         fld.options, formula=fld, stored=False)
    return FieldSpec(fld.name, _KINDS.get(fld.type, Kind.VALUE), _VTYPES[fld.type], fld.options,
                     target=fld.to, stored=fld.stored)


def _broken_expression(meta: WorkspaceMeta, entity: EntityDef, fld: FieldDef) -> InvalidQuery | None:
    """Why the formula's ``expr`` or the rollup's ``where`` cannot be computed (None when it can).

    Compiling once here means one broken expression leaves its field out instead of failing
    every list of the entity.
    """
    try:
        if fld.type is FieldType.FORMULA:
            formula_expr(meta, entity, fld, meta.tables.entity(entity.name))
        elif fld.type is FieldType.ROLLUP and fld.where:
            source, _ = _rollup_source(meta, entity, fld)
            where_expr(meta, source, fld, meta.tables.entity(source.name).alias())
    except InvalidQuery as exc:
        return exc
    return None


def build_specs(meta: WorkspaceMeta, entity: EntityDef) -> dict[str, FieldSpec]:
    """Every name a query may use on ``entity``: builtins, fields and inverse lists."""
    specs = {s.name: s for s in _builtins(entity)}
    for fld in entity.fields:
        specs[fld.name] = _field_spec(meta, entity, fld)
    for source, ref in meta.blueprint.inverses_of(entity.name):
        assert ref.inverse is not None
        specs.setdefault(ref.inverse, FieldSpec(ref.inverse, Kind.INVERSE, VType.INT, target=source.name,
                                                via=ref.name, stored=False))
    return specs


def specs_for(meta: WorkspaceMeta, entity: str) -> dict[str, FieldSpec]:
    """``build_specs`` once per entity and set of tables (their SQL is built on those tables)."""
    specs: dict[str, FieldSpec] = meta.tables.remember(
        ("specs", entity), lambda: build_specs(meta, meta.blueprint.get_entity(entity)))
    return specs


# --- rollups -------------------------------------------------------------------------------------

def _rollup_source(meta: WorkspaceMeta, entity: EntityDef, fld: FieldDef) -> tuple[EntityDef, FieldDef]:
    found = meta.blueprint.find_inverse(entity.name, fld.of or "")
    if found is None:
        raise InvalidQuery(f'{entity.name}.{fld.name}: rollup over "{fld.of}", which is not an inverse '
                           f"list of {entity.name}", place=Place(path=f"{entity.name}.{fld.name}"))
    return found


def rollup_vtype(meta: WorkspaceMeta, entity: EntityDef, fld: FieldDef) -> VType:
    """count yields integers, sum/avg numbers, min/max the source field's type."""
    if fld.agg in (None, RollupAgg.COUNT):
        return VType.INT
    if fld.agg is RollupAgg.AVG:
        return VType.DECIMAL
    source, _ = _rollup_source(meta, entity, fld)
    src = source.find_field(fld.rollup_field or "")
    if src is None:
        return VType.DECIMAL
    return _VTYPES.get(src.type, VType.DECIMAL)


def rollup_expr(meta: WorkspaceMeta, entity: EntityDef, fld: FieldDef,
                outer: FromClause) -> ColumnElement[Any]:
    """A correlated scalar subquery computing rollup ``fld`` for each row of ``outer``.

    Soft-deleted source records never count.  ``sum`` over no rows is 0 (a
    contact without won deals has won 0), the other aggregates stay NULL.  Sums
    and averages are rounded to the places of the field they summarise (``avg``
    of money to cents, of anything else to a decimal's 10 places) so both
    databases show, sort and page on the same value.
    """
    source, ref = _rollup_source(meta, entity, fld)
    src = meta.tables.entity(source.name).alias()
    conds = [src.c[ref.name] == outer.c.id, src.c.deleted_at.is_(None)]
    if fld.where:
        conds.append(where_expr(meta, source, fld, src))
    agg = fld.agg or RollupAgg.COUNT
    if agg is RollupAgg.COUNT:
        value: ColumnElement[Any] = sa.func.count()
    else:
        col, ftype = _rollup_column(source, fld, src)
        if agg is RollupAgg.SUM:
            value = sa.func.coalesce(sa.func.sum(col), 0, type_=col.type)
            value = scaled(value, ftype) if ftype in NUMERIC_SHAPE else value
        elif agg is RollupAgg.AVG:
            places = ftype if ftype is FieldType.MONEY else FieldType.DECIMAL
            value = scaled(sa.func.avg(col), places)
        else:
            value = getattr(sa.func, agg.value)(col, type_=col.type)
    return sa.select(value).where(*conds).scalar_subquery()


def _rollup_column(source: EntityDef, fld: FieldDef,
                   src: FromClause) -> tuple[ColumnElement[Any], FieldType]:
    """The summarised column of the source table, typed as its field, and the field's type."""
    target = source.find_field(fld.rollup_field or "")
    if target is None or not target.stored:
        raise InvalidQuery(f'{fld.name}: rollup field "{fld.rollup_field}" is not a stored field of '
                           f"{source.name}", place=Place(path=fld.name))
    col: ColumnElement[Any] = src.c[target.name]
    return sa.type_coerce(col, column_type(target)), target.type


def stage_kind_in(entity: EntityDef, table: FromClause, kinds: set[StageKind]) -> ColumnElement[bool]:
    """Rows whose (pipeline, stage) is a stage of one of ``kinds`` (codes may repeat across pipelines)."""
    parts = []
    for pipe in entity.pipelines:
        codes = [s.code for s in pipe.stages if s.kind in kinds]
        if codes:
            parts.append(sa.and_(table.c.pipeline == pipe.code, table.c.stage.in_(codes)))
    return sa.or_(*parts) if parts else sa.false()


def stage_order(entity: EntityDef, table: FromClause) -> ColumnElement[Any]:
    """The position of a row's stage in pipeline order (pipelines in declaration order), NULL if none."""
    whens = []
    for p_index, pipe in enumerate(entity.pipelines):
        for s_index, stage in enumerate(pipe.stages):
            cond = sa.and_(table.c.pipeline == pipe.code, table.c.stage == stage.code)
            whens.append((cond, p_index * 10_000 + s_index))
    if not whens:
        return sa.null()
    return sa.case(*whens, else_=sa.null())


def fail(path: str, message: str, code: str | None = None) -> InvalidQuery:
    """An ``InvalidQuery`` whose message starts with the path of the offending key."""
    return InvalidQuery(f"{path}: {message}", code=code, place=Place(path=path))


# --- values: what a filter or cursor value must be for a type ---------------------------------------

_BIGINT = 2**63
#: Decimal operands beyond 10**±100 match nothing useful and overflow PostgreSQL's numeric.
_DECIMAL_EXPONENT = 100


def _to_int(value: Any) -> int:
    """A 64-bit integer (the range of every integer column): a larger one is refused, not sent."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        result = value
    elif isinstance(value, (str, Decimal, float)) and Decimal(str(value)) == int(Decimal(str(value))):
        result = int(Decimal(str(value)))
    else:
        raise ValueError
    if not -_BIGINT <= result < _BIGINT:
        raise ValueError
    return result


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError
    result = Decimal(str(value))
    if not result.is_finite() or (result and abs(result.adjusted()) > _DECIMAL_EXPONENT):
        raise ValueError
    return result


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError
    return value if isinstance(value, date) else date.fromisoformat(value)


def _to_datetime(value: Any) -> datetime:
    """Naive values are taken as UTC; everything is compared in UTC (SQLite stores UTC wall time)."""
    result = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if result.tzinfo is None:
        return result.replace(tzinfo=UTC)
    return result.astimezone(UTC)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError


def _to_text(value: Any) -> str:
    """Text without NUL (PostgreSQL refuses U+0000 in a parameter)."""
    if isinstance(value, str) and "\x00" not in value:
        return value
    raise ValueError


_COERCE: dict[VType, Callable[[Any], Any]] = {
    VType.INT: _to_int, VType.DECIMAL: _to_decimal, VType.DATE: _to_date, VType.DATETIME: _to_datetime,
    VType.BOOL: _to_bool, VType.TEXT: _to_text, VType.ENUM: _to_text, VType.CODE: _to_text,
    VType.LIST: _to_text,
}


def coerce_value(spec: FieldSpec, value: Any, path: str) -> Any:
    """``value`` converted to the field's type, or an ``InvalidQuery`` naming the path."""
    try:
        result = _COERCE[spec.vtype](value)
    except (ValueError, TypeError, InvalidOperation, AttributeError, OverflowError):
        raise fail(path, f'{value!r} is not a valid {spec.vtype.value} for "{spec.name}"') from None
    if spec.options and result not in spec.options:
        hint = did_you_mean(str(result), spec.options)
        raise fail(path, f'"{result}" is not one of {", ".join(spec.options)}{hint}')
    return result


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f' — did you mean "{close[0]}"?' if close else ""
