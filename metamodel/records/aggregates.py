"""Aggregates and group-by, computed by the database in one statement each.

Both read from a derived table that selects, for the matching rows, only the
values being aggregated or grouped (plain columns, rollup subqueries, the
stage).  Grouping on that derived table rather than on the raw expressions
keeps rollups groupable on PostgreSQL, which refuses a correlated subquery in
GROUP BY, and gives both databases the same statement shape.

Results: ``count`` always; ``sum`` over no rows is 0 (like an empty kanban
column total), ``avg``/``min``/``max`` over no rows are None.  ``sum`` and
``avg`` take numeric fields (integers, decimals, money, numeric rollups);
``min``/``max`` also dates and datetimes.  Averages are ``Decimal``.  Groups
come in key order (stages in pipeline order), empty keys last; more than
``MAX_GROUPS`` groups is refused rather than silently cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from metamodel.errors import InvalidQuery, Place
from metamodel.records.computed import FieldSpec, Kind, VType, fail, stage_order
from metamodel.records.filters import Hidden, compile_where, lookup
from metamodel.records.formulas import utc
from metamodel.storage.catalog import WorkspaceMeta

AGGREGATES = ("sum", "avg", "min", "max")
NUMERIC = frozenset({VType.INT, VType.DECIMAL})
MIN_MAX = NUMERIC | {VType.DATE, VType.DATETIME}
MAX_GROUPS = 1000
Aggregates = Mapping[str, Sequence[str]]
Groups = list[dict[str, Any]]


def _requested(meta: WorkspaceMeta, entity: str, aggregates: Aggregates | None,
               hidden: Hidden) -> list[tuple[str, str, FieldSpec]]:
    """(function, field, spec) for every requested aggregate, checked against the field types."""
    entity_def = meta.blueprint.get_entity(entity)
    result = []
    for func, names in (aggregates or {}).items():
        path = f"aggregates.{func}"
        if func not in AGGREGATES:
            raise fail(path, f'unknown aggregate "{func}"; use {", ".join(AGGREGATES)}')
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise fail(path, "expected a list of field names")
        for name in names:
            spec = lookup(meta, entity_def, name, f"{path}.{name}", hidden)
            allowed = NUMERIC if func in ("sum", "avg") else MIN_MAX
            if spec.kind is not Kind.VALUE or spec.vtype not in allowed or name == "id":
                what = "numeric" if func in ("sum", "avg") else "numeric or date"
                raise fail(f"{path}.{name}", f"{func} needs a {what} field; {name} is {spec.vtype.value}")
            result.append((func, name, spec))
    return result


def _source(meta: WorkspaceMeta, entity: str, where: Mapping[str, Any] | None, include_deleted: bool,
            hidden: Hidden, columns: Sequence[ColumnElement[Any]]) -> sa.Subquery:
    table = meta.tables.entity(entity)
    condition = compile_where(meta, entity, table, where, hidden)
    if not include_deleted:
        condition = sa.and_(table.c.deleted_at.is_(None), condition)
    return sa.select(sa.literal(1).label("one"), *columns).where(condition).subquery("matching")


def _value_columns(meta: WorkspaceMeta, entity: str,
                   requested: Sequence[tuple[str, str, FieldSpec]]) -> list[ColumnElement[Any]]:
    entity_def = meta.blueprint.get_entity(entity)
    table = meta.tables.entity(entity)
    names = dict.fromkeys(name for _, name, _ in requested)
    specs = {name: spec for _, name, spec in requested}
    return [specs[n].expr(meta, entity_def, table).label(f"v_{n}") for n in names]


def _agg_columns(source: sa.Subquery, requested: Sequence[tuple[str, str, FieldSpec]]) -> list[Any]:
    columns: list[Any] = [sa.func.count().label("count")]
    for func, name, _ in requested:
        col = source.c[f"v_{name}"]
        label = f"{func}__{name}"
        if func == "sum":  # a zero of the column's type: 0.00 for money on PostgreSQL too, not 0
            zero = sa.cast(0, col.type) if isinstance(col.type, sa.Numeric) else 0
            columns.append(sa.func.coalesce(sa.func.sum(col), zero, type_=col.type).label(label))
        elif func == "avg":
            columns.append(sa.func.avg(col, type_=sa.Numeric(asdecimal=True)).label(label))
        else:
            columns.append(getattr(sa.func, func)(col, type_=col.type).label(label))
    return columns


def _shape(row: Any, requested: Sequence[tuple[str, str, FieldSpec]]) -> dict[str, Any]:
    result: dict[str, Any] = {"count": int(row["count"])}
    for func, name, spec in requested:
        result.setdefault(func, {})[name] = _normal(func, row[f"{func}__{name}"], spec.vtype)
    return result


def _normal(func: str, value: Any, vtype: VType) -> Any:
    """Averages as Decimal and integer sums as int on both databases; naive SQLite datetimes as UTC."""
    if value is None:
        return None
    if func == "avg":
        return _plain_average(value if isinstance(value, Decimal) else Decimal(str(value)))
    if func != "avg" and vtype is VType.INT and isinstance(value, (Decimal, float)):
        return int(value)
    return utc(value)


AVG_PLACES = Decimal("1e-10")


def _plain_average(value: Decimal) -> Decimal:
    """An average to 10 decimal places without trailing zeros (``580``, ``333.3333333333``).

    Why: PostgreSQL answers ``avg`` with 16 or more places and SQLite with a float, so the raw
    values of the same data differ in their digits; rounding both the same way makes them equal.
    """
    rounded = value.quantize(AVG_PLACES).normalize()
    return rounded.quantize(Decimal(1)) if rounded.as_tuple().exponent > 0 else rounded  # type: ignore[operator]


def aggregate(conn: Connection, meta: WorkspaceMeta, entity: str, where: Mapping[str, Any] | None = None,
              aggregates: Aggregates | None = None, *, include_deleted: bool = False,
              hidden: Hidden = frozenset()) -> dict[str, Any]:
    """``{"count": n, "sum": {field: value}, ...}`` over the records matching ``where``."""
    requested = _requested(meta, entity, aggregates, hidden)
    source = _source(meta, entity, where, include_deleted, hidden, _value_columns(meta, entity, requested))
    # select_from: with no value asked for, nothing else names the source (count(*) with no FROM is 1)
    row = conn.execute(sa.select(*_agg_columns(source, requested)).select_from(source)).mappings().one()
    return _shape(row, requested)


def _key_columns(meta: WorkspaceMeta, entity: str, by: Sequence[str],
                 hidden: Hidden) -> tuple[list[ColumnElement[Any]], list[ColumnElement[Any]], list[VType]]:
    """(key columns, stage order columns, key types) to put in the derived table, checked."""
    if isinstance(by, str) or not by:
        raise InvalidQuery("by: name at least one field to group by", place=Place(path="by"))
    entity_def = meta.blueprint.get_entity(entity)
    table = meta.tables.entity(entity)
    keys: list[ColumnElement[Any]] = []
    orders: list[ColumnElement[Any]] = []
    vtypes: list[VType] = []
    for index, name in enumerate(by):
        path = f"by[{index}]"
        spec = lookup(meta, entity_def, name, f"{path}.{name}", hidden)
        if spec.kind in (Kind.LIST, Kind.INVERSE, Kind.MANY) or spec.vtype is VType.JSON:
            raise fail(f"{path}.{name}", f"cannot group by {name}: it holds a list or a document")
        keys.append(spec.expr(meta, entity_def, table).label(f"k{index}"))
        vtypes.append(spec.vtype)
        if spec.kind is Kind.STAGE:  # stages sort in pipeline order, not by code
            orders.append(stage_order(entity_def, table).label(f"o{index}"))
    return keys, orders, vtypes


def group_by(conn: Connection, meta: WorkspaceMeta, entity: str, by: Sequence[str],
             where: Mapping[str, Any] | None = None, aggregates: Aggregates | None = None, *,
             include_deleted: bool = False, hidden: Hidden = frozenset()) -> Groups:
    """``[{"key": {field: value}, "count": n, "sum": {...}, ...}]``, one entry per distinct key."""
    keys, orders, vtypes = _key_columns(meta, entity, by, hidden)
    requested = _requested(meta, entity, aggregates, hidden)
    values = _value_columns(meta, entity, requested)
    source = _source(meta, entity, where, include_deleted, hidden, [*keys, *orders, *values])
    group = [source.c[f"k{i}"] for i in range(len(keys))]
    order = [(sa.func.min(source.c[f"o{i}"]) if f"o{i}" in source.c else source.c[f"k{i}"]).asc().nulls_last()
             for i in range(len(keys))]
    stmt = (sa.select(*group, *_agg_columns(source, requested)).group_by(*group)
            .order_by(*order, *group).limit(MAX_GROUPS + 1))
    rows = conn.execute(stmt).mappings().all()
    if len(rows) > MAX_GROUPS:
        raise InvalidQuery(f"by: more than {MAX_GROUPS} groups; narrow the filter or group by fewer fields",
                           place=Place(path="by"))
    return [{"key": {name: _normal("key", row[f"k{i}"], vtypes[i]) for i, name in enumerate(by)},
             **_shape(row, requested)} for row in rows]
