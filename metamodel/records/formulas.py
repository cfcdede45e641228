"""Formula fields and rollup conditions as SQL: the metamodel's side of ``dsl.compile_sql``.

Why in SQL: a formula must be filterable, sortable and groupable like a stored column, so it is a
SQL expression over the record's row rather than a value computed after loading.  The language
compiles the expression; this module answers its questions about the record (:class:`RecordResolver`):
a plain field is the table's column, a path through references is a correlated scalar subquery to the
referenced table, a rollup or another formula is its own expression, ``stage.kind`` is the kind of
the record's stage, and ``now``/``today`` are bound values read from the workspace clock at execution.

Expressions are parsed once per (workspace, metadata version, entity, field) and cached; the SQL is
built per use, because it depends on the alias of the table it is evaluated on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from dsl import CraftErrors, parse_expression
from dsl.ast import Expr
from dsl.compile_sql import SqlUnsupported, compile_sql
from metamodel.clock import SYSTEM_CLOCK, Clock
from metamodel.definitions import EntityDef, FieldDef, FieldType
from metamodel.errors import InvalidQuery, Place
from metamodel.storage.catalog import WorkspaceMeta
from metamodel.storage.tables import NUMERIC_SHAPE, column_type

_FAMILIES: dict[FieldType, str] = {
    FieldType.STRING: "string", FieldType.TEXT: "string", FieldType.EMAIL: "string",
    FieldType.PHONE: "string", FieldType.URL: "string", FieldType.ENUM: "string",
    FieldType.INTEGER: "number", FieldType.DECIMAL: "number", FieldType.MONEY: "number",
    FieldType.BOOLEAN: "boolean", FieldType.DATE: "date", FieldType.DATETIME: "datetime",
    FieldType.TAGS: "list", FieldType.MULTI_ENUM: "list", FieldType.JSON: "any",
    FieldType.REFERENCE: "number", FieldType.USER: "number",
}
_BUILTIN_FAMILIES = {
    "id": "number", "version": "number", "owner": "number", "created_by": "number",
    "created_at": "datetime", "updated_at": "datetime", "deleted_at": "datetime",
    "pipeline": "string", "stage": "stage", "stage_entered_at": "datetime",
}
_CLOCK: ContextVar[Clock] = ContextVar("stagecraft_formula_clock", default=SYSTEM_CLOCK)
_PARSED: dict[tuple[str, int, str, str, str, str], Expr] = {}


@contextmanager
def clock_for_formulas(clock: Clock) -> Iterator[None]:
    """Statements executed inside read ``now``/``today`` from ``clock`` (the store's clock)."""
    token = _CLOCK.set(clock)
    try:
        yield
    finally:
        _CLOCK.reset(token)


def _now() -> Any:
    return _CLOCK.get().now()


def _today() -> date:
    return _CLOCK.get().now().date()


def parsed(meta: WorkspaceMeta, entity: str, name: str, text: str) -> Expr:
    """The parsed expression of a formula or rollup condition, cached per metadata version."""
    key = (meta.workspace, meta.version, meta.digest, entity, name, text)
    found = _PARSED.get(key)
    if found is None:
        if len(_PARSED) > 4096:
            _PARSED.clear()
        try:
            found = _PARSED[key] = parse_expression(text, f"{entity}.{name}")
        except CraftErrors as exc:
            first = exc.errors[0]
            raise InvalidQuery(f'{entity}.{name}: "{text}" is not a valid expression: {first.message}',
                               code=first.code, place=Place(path=f"{entity}.{name}")) from None
    return found


def family_of(meta: WorkspaceMeta, entity: EntityDef, fld: FieldDef) -> str:
    """The language's value family of a field (formulas by what they return, rollups by what they yield)."""
    if fld.type is FieldType.FORMULA:
        return _FAMILIES.get(fld.returns or FieldType.DECIMAL, "any")
    if fld.type is FieldType.ROLLUP:
        from metamodel.records.computed import VType, rollup_vtype

        vtype = rollup_vtype(meta, entity, fld)
        return {VType.DATE: "date", VType.DATETIME: "datetime", VType.TEXT: "string",
                VType.ENUM: "string"}.get(vtype, "number")
    return _FAMILIES.get(fld.type, "any")


class RecordResolver:
    """Paths of an expression evaluated on the rows of ``table`` (an alias of ``entity``'s table)."""

    def __init__(self, meta: WorkspaceMeta, entity: EntityDef, table: FromClause,
                 within: frozenset[str] = frozenset()) -> None:
        self.meta = meta
        self.entity = entity
        self.table = table
        self.within = within  # formulas being compiled: a formula that reaches itself is refused

    def _walk(self, path: tuple[str, ...]) -> tuple[EntityDef, FromClause, list[ColumnElement[bool]], str]:
        """Follow the references of ``path``: (last entity, its alias, join conditions, last name)."""
        entity, table, conds = self.entity, self.table, []
        names = path[:-1] if path[-1:] == ("kind",) and path[-2:-1] == ("stage",) else path
        for name in names[:-1]:
            fld = entity.find_field(name)
            if fld is None or fld.type is not FieldType.REFERENCE or not fld.to:
                raise self._bad(path, f'"{name}" of {entity.name} is not a reference')
            target = self.meta.tables.entity(fld.to).alias()
            conds.append(target.c.id == table.c[name])
            entity, table = self.meta.blueprint.get_entity(fld.to), target
        return entity, table, conds, names[-1]

    def _bad(self, path: tuple[str, ...], why: str) -> InvalidQuery:
        where = f"{self.entity.name}.{'.'.join(path)}"
        return InvalidQuery(f"{where}: {why}", place=Place(path=where))

    def column(self, path: tuple[str, ...]) -> ColumnElement[Any]:
        entity, table, conds, name = self._walk(path)
        if path[-1] == "kind" and name == "stage":
            value = stage_kind_of(entity, table)
        else:
            value = self._value(entity, table, name, path)
        if not conds:
            return value
        return sa.select(value).where(*conds).scalar_subquery()

    def _value(self, entity: EntityDef, table: FromClause, name: str,
               path: tuple[str, ...]) -> ColumnElement[Any]:
        fld = entity.find_field(name)
        if fld is None:
            if name in _BUILTIN_FAMILIES and name in table.c:
                return table.c[name]
            raise self._bad(path, f'{entity.name} has no field "{name}"')
        if fld.type is FieldType.FORMULA:
            return formula_expr(self.meta, entity, fld, table, self.within)
        if fld.type is FieldType.ROLLUP:
            from metamodel.records.computed import rollup_expr

            return rollup_expr(self.meta, entity, fld, table)
        if not fld.stored:
            raise self._bad(path, f"{entity.name}.{name} has no value in a query")
        return table.c[name]

    def value_type(self, path: tuple[str, ...]) -> str:
        entity, _, _, name = self._walk(path)
        if path[-1] == "kind" and name == "stage":
            return "stage"
        fld = entity.find_field(name)
        if fld is None:
            return _BUILTIN_FAMILIES.get(name, "any")
        return family_of(self.meta, entity, fld)

    def clock(self, kind: Literal["now", "today"]) -> ColumnElement[Any]:
        if kind == "now":
            return sa.bindparam("craft_now", callable_=_now, type_=sa.DateTime(timezone=True), unique=True)
        return sa.bindparam("craft_today", callable_=_today, type_=sa.Date(), unique=True)


def stage_kind_of(entity: EntityDef, table: FromClause) -> ColumnElement[Any]:
    """The kind (open, won, lost) of each row's stage; codes may repeat across pipelines."""
    whens = [(sa.and_(table.c.pipeline == pipe.code, table.c.stage == stage.code), stage.kind.value)
             for pipe in entity.pipelines for stage in pipe.stages]
    if not whens:
        return sa.null()
    return sa.case(*whens, else_=sa.null())


def formula_expr(meta: WorkspaceMeta, entity: EntityDef, fld: FieldDef, table: FromClause,
                 within: frozenset[str] = frozenset()) -> ColumnElement[Any]:
    """The SQL value of formula ``fld`` on the rows of ``table``, typed as the field's ``returns``."""
    key = f"{entity.name}.{fld.name}"
    if key in within:
        raise InvalidQuery(f"{key}: the formula uses itself", place=Place(path=key))
    expr = parsed(meta, entity.name, fld.name, fld.expr or "")
    resolver = RecordResolver(meta, entity, table, within | {key})
    try:
        value = compile_sql(expr, resolver, meta.dialect)
    except SqlUnsupported as exc:
        raise InvalidQuery(f"{key}: {exc}", place=Place(path=key)) from None
    returns = fld.returns or FieldType.DECIMAL
    if returns is FieldType.INTEGER:
        return sa.cast(sa.func.round(value), sa.BigInteger)
    if returns in NUMERIC_SHAPE:
        return scaled(value, returns)
    if returns in _FAMILIES and returns not in (FieldType.REFERENCE, FieldType.USER, FieldType.JSON):
        return sa.type_coerce(value, column_type(FieldDef(fld.name, returns)))
    return value


def scaled(value: ColumnElement[Any], ftype: FieldType) -> ColumnElement[Any]:
    """``value`` rounded in SQL to the decimal places of a ``ftype`` (money or decimal) column.

    Why in SQL: PostgreSQL keeps the scale arithmetic gives (``-1.000``, ``0`` for an empty sum)
    while SQLite's driver formats a float to the column's places, so the same data showed, sorted
    and paged (cursors hold the value) differently.  ``round(CAST(x AS NUMERIC), places)`` gives
    exactly ``places`` on PostgreSQL without the overflow a ``NUMERIC(18, 2)`` cast could raise,
    and on SQLite the float the driver formats, so both show the value they sort and filter on.
    """
    places, _ = NUMERIC_SHAPE[ftype]
    rounded = sa.func.round(sa.cast(value, sa.Numeric()), sa.literal_column(str(places), sa.Integer()))
    return sa.type_coerce(rounded, column_type(FieldDef("value", ftype)))


def where_expr(meta: WorkspaceMeta, source: EntityDef, fld: FieldDef,
               table: FromClause) -> ColumnElement[bool]:
    """A rollup's ``where`` as a condition on the source entity's rows (alias ``table``)."""
    path = f"{fld.name}.where"
    expr = parsed(meta, source.name, path, fld.where or "")
    try:
        condition = compile_sql(expr, RecordResolver(meta, source, table), meta.dialect)
    except SqlUnsupported as exc:
        raise InvalidQuery(f"{path}: {exc}", place=Place(path=path)) from None
    return sa.type_coerce(condition, sa.Boolean()) == sa.true()


def utc(value: Any) -> Any:
    """A datetime in ``datetime.timezone.utc``; anything else unchanged.

    SQLite gives back naive UTC wall time and psycopg ``ZoneInfo("Etc/UTC")``:
    equal instants, but callers comparing or printing zones saw two kinds.
    """
    if isinstance(value, datetime) and value.tzinfo is not UTC:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def as_utc(values: dict[str, Any]) -> dict[str, Any]:
    """Every datetime of a record is aware, in ``datetime.timezone.utc``."""
    return {name: utc(value) for name, value in values.items()}
