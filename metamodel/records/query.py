"""Listing records: filter, sort, keyset pages, and the lists a page shows.

A page is one SELECT (filter, sort and ``first + 1`` rows to learn whether
another page follows) plus, when the entity has ``many`` fields, one more
SELECT loading those lists for the whole page.  Everything that depends only
on the metadata — the selected columns, rollup subqueries, sort keys — is
built once per (metadata version, entity, hidden fields, sort) and cached, so
a request pays for its filter and the rows, not for re-deriving the schema.

Records are plain dicts: the builtin columns, every stored field, rollup
values, formula values (their expression compiled to SQL), and ``many``
fields as sorted id lists.  Datetimes are timezone-aware UTC on both
databases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.elements import ColumnElement

from metamodel.definitions import FieldType
from metamodel.errors import InvalidQuery, Place
from metamodel.records.computed import Kind, VType, fail, specs_for, stage_order
from metamodel.records.cursor import SortKey, after_condition, decode_cursor, encode_cursor, fingerprint
from metamodel.records.filters import Binds, Hidden, compile_where, lookup
from metamodel.records.formulas import as_utc
from metamodel.storage.catalog import WorkspaceMeta
from metamodel.storage.tables import BUILTIN_COLUMNS, PIPELINE_COLUMNS

DEFAULT_PAGE = 50
MAX_PAGE = 1000
OrderBy = Sequence[tuple[str, str]]


class UtcDateTime(sa.types.UserDefinedType[datetime]):
    """Reads datetimes as ``datetime.timezone.utc`` ones: SQLite's offset-less text (stored as UTC
    wall time), PostgreSQL's values in the session zone (psycopg's ``ZoneInfo("Etc/UTC")``).

    One C-level ``fromisoformat`` per value replaces SQLAlchemy's regex parsing
    plus a ``replace(tzinfo=...)``: aware values cost less than naive ones did.
    Used only in the select list of reads; filters compare the real columns.
    """

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "DATETIME"

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], datetime | None]:
        if dialect.name != "sqlite":
            return _aware_utc

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:
                return datetime.fromisoformat(value + "+00:00")
            except (TypeError, ValueError):  # already carries an offset, or not text
                parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
                return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

        return process


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


@dataclass(frozen=True)
class EntityPlan:
    """What a list of one entity selects, derived once per metadata version and hidden set."""

    table: sa.Table
    columns: tuple[ColumnElement[Any], ...]
    names: tuple[str, ...]
    labels: dict[str, ColumnElement[Any]]
    many: tuple[tuple[str, str], ...]  # (field, target entity)


@dataclass(frozen=True)
class SortPlan:
    keys: tuple[SortKey, ...]
    sort_id: str
    extra: tuple[ColumnElement[Any], ...]


@dataclass(frozen=True)
class Page:
    """One page of records; ``total_count`` only when it was asked for (it costs a COUNT)."""

    records: list[dict[str, Any]]
    end_cursor: str | None
    has_next_page: bool
    total_count: int | None = None
    _rows: Sequence[Row[Any]] = field(default=(), repr=False, compare=False)
    _sort: SortPlan | None = field(default=None, repr=False, compare=False)

    def cursor_at(self, index: int) -> str:
        """The cursor of ``records[index]`` (GraphQL edge cursors), computed only when asked."""
        assert self._sort is not None
        return _cursor_of(self._sort, self._rows[index])


def _cached(meta: WorkspaceMeta, key: tuple[Any, ...], build: Any) -> Any:
    """Built once per set of tables (``WorkspaceTables.remember``), so it only ever meets them."""
    return meta.tables.remember(key, build)


def entity_plan(meta: WorkspaceMeta, entity: str, hidden: Hidden = frozenset()) -> EntityPlan:
    """The cached ``EntityPlan`` of ``entity`` for this metadata version and hidden set."""
    key = ("entity", meta.workspace, meta.version, meta.digest, meta.dialect, entity, hidden)
    plan: EntityPlan = _cached(meta, key, lambda: _build_entity_plan(meta, entity, hidden))
    return plan


def _build_entity_plan(meta: WorkspaceMeta, entity_name: str, hidden: Hidden) -> EntityPlan:
    entity = meta.blueprint.get_entity(entity_name)
    table = meta.tables.entity(entity_name)
    builtins = BUILTIN_COLUMNS + (PIPELINE_COLUMNS if entity.pipelines else ())
    columns: list[ColumnElement[Any]] = [table.c[n] for n in builtins]
    labels: dict[str, ColumnElement[Any]] = {}
    many: list[tuple[str, str]] = []
    specs = specs_for(meta, entity_name)
    for fld in entity.fields:
        if (entity.name, fld.name) in hidden or specs[fld.name].kind is Kind.PENDING:
            continue
        if fld.stored:
            columns.append(table.c[fld.name])
        elif fld.type in (FieldType.ROLLUP, FieldType.FORMULA):
            labels[fld.name] = specs[fld.name].expr(meta, entity, table).label(fld.name)
            columns.append(labels[fld.name])
        elif fld.type is FieldType.MANY and fld.to:
            many.append((fld.name, fld.to))
    names = tuple(c.key or "" for c in columns)
    columns = [sa.type_coerce(c, UtcDateTime()).label(c.key or "") if isinstance(c.type, sa.DateTime)
               else c for c in columns]
    return EntityPlan(table, tuple(columns), names, labels, tuple(many))


def sort_plan(meta: WorkspaceMeta, entity: str, order_by: OrderBy, hidden: Hidden = frozenset()) -> SortPlan:
    """The cached ``SortPlan`` for ``order_by``; ``id`` ascending ends it as the tiebreaker.

    ``keys`` are the caller's terms (what a cursor stores); ``_order_clauses``
    adds the id unless the caller sorted by id already.
    """
    normal = tuple(_direction(item, i) for i, item in enumerate(order_by))
    key = ("sort", meta.workspace, meta.version, meta.digest, meta.dialect, entity, normal, hidden)
    plan: SortPlan = _cached(meta, key, lambda: _build_sort_plan(meta, entity, normal, hidden))
    return plan


def _direction(item: Any, index: int) -> tuple[str, bool]:
    path = f"order_by[{index}]"
    if isinstance(item, str):
        return item, False
    if not isinstance(item, Sequence) or len(item) != 2 or not isinstance(item[0], str):
        raise fail(path, 'expected ("field", "asc" | "desc")')
    direction = str(item[1]).lower()
    if direction not in ("asc", "desc"):
        raise fail(path, f'direction must be "asc" or "desc", not "{item[1]}"')
    return item[0], direction == "desc"


def _build_sort_plan(meta: WorkspaceMeta, entity_name: str, order: tuple[tuple[str, bool], ...],
                     hidden: Hidden) -> SortPlan:
    entity = meta.blueprint.get_entity(entity_name)
    plan = entity_plan(meta, entity_name, hidden)
    keys: list[SortKey] = []
    extra: list[ColumnElement[Any]] = []
    for index, (name, desc) in enumerate(order):
        spec = lookup(meta, entity, name, f"order_by[{index}].{name}", hidden)
        if spec.kind in (Kind.LIST, Kind.INVERSE, Kind.MANY) or spec.vtype is VType.JSON:
            raise fail(f"order_by[{index}].{name}", f"cannot sort by {name}: it holds a list or a document")
        if spec.kind is Kind.STAGE:
            label = stage_order(entity, plan.table).label(f"_sort{index}")
            extra.append(label)
            keys.append(SortKey(name, label, desc, VType.INT, label.key))
        elif spec.name in plan.labels:
            keys.append(SortKey(name, plan.labels[name], desc, spec.vtype, name))
        else:
            keys.append(SortKey(name, plan.table.c[name], desc, spec.vtype, name))
    sort_id = fingerprint(entity_name, [(k.name, k.descending) for k in keys])
    return SortPlan(tuple(keys), sort_id, tuple(extra))


def _cursor_of(sort: SortPlan, row: Row[Any]) -> str:
    mapping = row._mapping
    return encode_cursor(sort.sort_id, [mapping[k.row_key] for k in sort.keys], mapping["id"])


def _after(sort: SortPlan, plan: EntityPlan, token: str,
           where: Mapping[str, Any] | None) -> ColumnElement[bool]:
    values, record_id = decode_cursor(token, sort.sort_id, sort.keys)
    first = sort.keys[0] if sort.keys else None
    plain = first is not None and first.row_key == first.name and first.name not in plan.labels
    never_null = plain and first is not None and first.name in _never_null(where)
    return after_condition(sort.keys, values, plan.table.c.id, record_id, never_null)


def _check_first(first: Any) -> int:
    if isinstance(first, bool) or not isinstance(first, int) or first < 0:
        raise InvalidQuery("first: must be a whole number ≥ 0", place=Place(path="first"))
    if first > MAX_PAGE:
        raise InvalidQuery(f"first: at most {MAX_PAGE} records per page (asked for {first})",
                           place=Place(path="first"))
    return first


def list_records(conn: Connection, meta: WorkspaceMeta, entity: str, *,
                 where: Mapping[str, Any] | None = None, order_by: OrderBy = (),
                 first: int = DEFAULT_PAGE, after: str | None = None, include_deleted: bool = False,
                 hidden: Hidden = frozenset(), with_total: bool = False) -> Page:
    """One page of ``entity`` records matching ``where`` in ``order_by`` order, after cursor ``after``."""
    limit = _check_first(first)
    plan = entity_plan(meta, entity, hidden)
    sort = sort_plan(meta, entity, order_by, hidden)
    stmt, params = _page_statement(meta, entity, plan, sort, where, include_deleted, hidden, limit)
    if after:
        stmt = stmt.where(_after(sort, plan, after, where))
    rows = conn.execute(stmt, params).all()
    has_next = len(rows) > limit
    rows = rows[:limit]
    records = _to_records(plan, rows)
    if plan.many and records:
        _load_many(conn, meta, entity, plan, records)
    total = count_records(conn, meta, entity, where, include_deleted, hidden) if with_total else None
    end = _cursor_of(sort, rows[-1]) if rows else None
    return Page(records, end, has_next, total, rows, sort)


PARAM_OPS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains",
                       "startsWith"})


def where_shape(where: Any) -> tuple[Any, dict[str, Any]]:
    """``where`` split into its shape (hashable, operands blanked) and its operands by path.

    Two filters with the same shape compile to the same SQL and differ only in
    bound parameters.  Operands of stage ``kind`` stay in the shape: they
    choose stage codes at compile time rather than binding a value.
    """
    operands: dict[str, Any] = {}

    def walk(node: Any, path: str, parent: str) -> Any:
        if isinstance(node, Mapping):
            items = []
            for key, value in node.items():
                sub = f"{path}.{key}"
                if key in PARAM_OPS and parent != "kind":
                    operands[sub] = value
                    items.append((key, "?"))
                else:
                    items.append((key, walk(value, sub, key)))
            return ("{", tuple(items))
        if isinstance(node, list | tuple):
            return ("[", tuple(walk(v, f"{path}[{i}]", parent) for i, v in enumerate(node)))
        return (type(node).__name__, node)

    return walk(where or {}, "where", ""), operands


def _page_statement(meta: WorkspaceMeta, entity: str, plan: EntityPlan, sort: SortPlan,
                    where: Mapping[str, Any] | None, include_deleted: bool, hidden: Hidden,
                    limit: int) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The page SELECT and its parameters, reusing the statement built for the same filter shape."""
    def build(binds: Binds) -> sa.Select[Any]:
        condition = _base_condition(meta, entity, plan.table, where, include_deleted, hidden, binds)
        return (sa.select(*plan.columns, *sort.extra).where(condition)
                .order_by(*_order_clauses(sort, where, plan)).limit(limit + 1))

    key = ("page", entity, hidden, sort.sort_id, include_deleted, limit)
    return cached_statement(meta, key, where, build)


def cached_statement(meta: WorkspaceMeta, key: tuple[Any, ...], where: Mapping[str, Any] | None,
                     build: Callable[[Binds], sa.Select[Any]]) -> tuple[sa.Select[Any], dict[str, Any]]:
    """The statement ``build`` makes for ``where``'s shape under ``key``, built once per shape.

    Reusing the statement object skips building the expression tree and its cache key;
    SQLAlchemy's compiled cache then skips compilation too.  A cached statement comes back with
    this call's operands as parameters; a new one with its values inline (``{}``).
    """
    shape, operands = where_shape(where)
    full: tuple[Any, ...] = (*key, shape)
    try:
        cached = meta.tables.derived.get(full)
    except TypeError:  # an unhashable operand in the shape: build without the cache
        cached, full = None, ()
    if cached is not None:
        cached_stmt, cached_binds = cached
        return cached_stmt, {name: convert(operands[path]) for path, (name, convert) in cached_binds.items()}
    binds: Binds = {}
    stmt = build(binds)
    if full and set(binds) == set(operands):
        _cached(meta, full, lambda: (stmt, binds))
    return stmt, {}


NOT_NULL = frozenset({"id", "created_at", "updated_at", "version"})
EXCLUDES_NULL = frozenset({"eq", "gt", "gte", "lt", "lte", "in", "contains", "icontains", "startsWith"})


def _never_null(where: Mapping[str, Any] | None) -> set[str]:
    """Fields the filter requires to be set: an operator that excludes NULL at the top level."""
    found = set(NOT_NULL)
    for key, cond in (where or {}).items():
        if key == "and" and isinstance(cond, list | tuple):
            for item in cond:
                found |= _never_null(item) if isinstance(item, Mapping) else set()
        elif isinstance(cond, Mapping) and EXCLUDES_NULL & set(cond):
            found.add(key)
    return found


def _order_clauses(sort: SortPlan, where: Mapping[str, Any] | None, plan: EntityPlan) -> list[Any]:
    never_null = _never_null(where)
    clauses = [k.clause(k.row_key != k.name or k.name in plan.labels or k.name not in never_null)
               for k in sort.keys]
    if not any(k.name == "id" for k in sort.keys):
        clauses.append(plan.table.c.id.asc())
    return clauses


def _base_condition(meta: WorkspaceMeta, entity: str, table: sa.Table, where: Mapping[str, Any] | None,
                    include_deleted: bool, hidden: Hidden, binds: Binds | None = None) -> ColumnElement[bool]:
    condition = compile_where(meta, entity, table, where, hidden, binds)
    if include_deleted:
        return condition
    return sa.and_(table.c.deleted_at.is_(None), condition)


def _to_records(plan: EntityPlan, rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    names = plan.names
    records = [dict(zip(names, row, strict=False)) for row in rows]
    if plan.many:
        for record in records:
            for many_field, _ in plan.many:
                record[many_field] = []
    return records


def _load_many(conn: Connection, meta: WorkspaceMeta, entity: str, plan: EntityPlan,
               records: list[dict[str, Any]]) -> None:
    """Every ``many`` list of the page in one statement (UNION ALL over the junction tables)."""
    ids = [r["id"] for r in records]
    parts = []
    for many_field, target in plan.many:
        link = meta.tables.junction(entity, many_field)
        member = meta.tables.entity(target)
        parts.append(
            sa.select(sa.literal(many_field).label("f"), link.c.left_id, link.c.right_id)
            .select_from(link.join(member, member.c.id == link.c.right_id))
            .where(link.c.left_id.in_(ids), member.c.deleted_at.is_(None)))
    stmt = parts[0] if len(parts) == 1 else sa.union_all(*parts)
    by_id = {r["id"]: r for r in records}
    for name, left, right in conn.execute(stmt):
        by_id[left][name].append(right)
    for record in records:
        for many_field, _ in plan.many:
            record[many_field].sort()


def count_records(conn: Connection, meta: WorkspaceMeta, entity: str,
                  where: Mapping[str, Any] | None = None, include_deleted: bool = False,
                  hidden: Hidden = frozenset()) -> int:
    """How many records of ``entity`` match ``where`` (one COUNT statement)."""
    table = meta.tables.entity(entity)
    condition = _base_condition(meta, entity, table, where, include_deleted, hidden)
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(condition)).scalar_one())


def computed_values(conn: Connection, meta: WorkspaceMeta, entity: str,
                    record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its formula and rollup values added, computed as a list computes them.

    Single-record reads and writes use this, so what ``get``, ``create`` and
    ``update`` return equals what ``list`` returns (one SELECT; none without
    computed fields).
    """
    labels = entity_plan(meta, entity).labels
    if not labels or "id" not in record:
        return record
    table = meta.tables.entity(entity)
    row = conn.execute(sa.select(*labels.values()).where(table.c.id == record["id"])).mappings().first()
    record.update(as_utc(dict(row or {})))
    return record
