"""SQLAlchemy Core tables of one workspace, built from its definitions.

Tables are derived from a metadata version and cached under it: after a
migration the version changes, so a stale ``Table`` (or the statements
compiled against it) can never be used with the new shape.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.schema import SchemaItem

from metamodel.definitions import Blueprint, EntityDef, FieldDef, FieldType
from metamodel.errors import NotFound
from metamodel.storage.naming import (
    WorkspaceNames,
    entity_table_base,
    junction_table_base,
    workspace_names,
)

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)
MONEY = sa.Numeric(18, 2)
DECIMAL = sa.Numeric(30, 10)

#: Integer columns are 64-bit: the values they can hold.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: (decimal places, integer digits) of the MONEY and DECIMAL columns above.
NUMERIC_SHAPE = {FieldType.MONEY: (2, 16), FieldType.DECIMAL: (10, 20)}
_WIDE = decimal.Context(prec=60)


def numeric_problem(number: decimal.Decimal, ftype: FieldType) -> str | None:
    """Why ``number`` does not fit the column of a money/decimal field exactly (None when it does).

    One rule for record input and for type-change conversion, so neither
    rounds a value nobody entered nor overflows the column.
    """
    scale, digits = NUMERIC_SHAPE[ftype]
    if not number.is_finite() or abs(number) >= decimal.Decimal(10) ** digits:
        return "is too large"
    if number.quantize(decimal.Decimal(1).scaleb(-scale), context=_WIDE) != number:
        return f"must have at most {scale} decimal places"
    return None


BUILTIN_COLUMNS = ("id", "created_at", "updated_at", "created_by", "owner", "version", "deleted_at")
PIPELINE_COLUMNS = ("pipeline", "stage", "stage_entered_at")


def column_type(fld: FieldDef) -> sa.types.TypeEngine[Any]:
    """The SQL type of a stored field (one mapping, used for DDL and migrations alike)."""
    t = fld.type
    simple: dict[FieldType, sa.types.TypeEngine[Any]] = {
        FieldType.TEXT: sa.Text(), FieldType.INTEGER: sa.BigInteger(), FieldType.DECIMAL: DECIMAL,
        FieldType.MONEY: MONEY, FieldType.BOOLEAN: sa.Boolean(), FieldType.DATE: sa.Date(),
        FieldType.DATETIME: Stamp, FieldType.EMAIL: sa.String(320), FieldType.PHONE: sa.String(64),
        FieldType.URL: sa.String(2048), FieldType.ENUM: sa.String(255), FieldType.TAGS: sa.JSON(),
        FieldType.MULTI_ENUM: sa.JSON(), FieldType.JSON: sa.JSON(), FieldType.USER: sa.BigInteger(),
        FieldType.REFERENCE: sa.BigInteger(),
    }
    if t is FieldType.STRING:
        return sa.String(fld.max_length) if fld.max_length else sa.Text()
    if t in simple:
        return simple[t]
    raise NotFound(f"field {fld.name} of type {t} has no column")


DERIVED_LIMIT = 4096


@dataclass(frozen=True)
class WorkspaceTables:
    """Every table of one workspace at one metadata version."""

    names: WorkspaceNames
    metadata: sa.MetaData
    entities: dict[str, sa.Table] = field(default_factory=dict)
    junctions: dict[tuple[str, str], sa.Table] = field(default_factory=dict)
    #: What the record layer built from these very tables (plans, statements, field specs).  Kept
    #: here, not in a module cache, so a statement can never meet other Table objects of the same
    #: name (SQLAlchemy would read them as two tables: a cross join, "ambiguous column").
    derived: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)

    def remember(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """``derived[key]``, built once (the dict is emptied past 4096 entries; rebuilding is safe)."""
        found = self.derived.get(key)
        if found is None:
            if len(self.derived) >= DERIVED_LIMIT:
                self.derived.clear()
            found = self.derived[key] = build()
        return found

    def entity(self, name: str) -> sa.Table:
        try:
            return self.entities[name]
        except KeyError:
            raise NotFound(f'there is no entity "{name}"') from None

    def junction(self, entity: str, fld: str) -> sa.Table:
        try:
            return self.junctions[(entity, fld)]
        except KeyError:
            raise NotFound(f'{entity} has no many-to-many field "{fld}"') from None


def _builtin_columns(entity: EntityDef) -> list[sa.Column[Any]]:
    cols: list[sa.Column[Any]] = [
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.Column("created_by", sa.BigInteger),
        sa.Column("owner", sa.BigInteger),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("deleted_at", Stamp),
    ]
    if entity.pipelines:
        cols += [sa.Column("pipeline", sa.String(63)), sa.Column("stage", sa.String(63)),
                 sa.Column("stage_entered_at", Stamp)]
    return cols


def _fk_target(names: WorkspaceNames, entity: str) -> str:
    table = names.table(entity_table_base(entity))
    return f"{names.schema}.{table}.id" if names.schema else f"{table}.id"


def field_column(names: WorkspaceNames, fld: FieldDef) -> sa.Column[Any]:
    """The column of a stored field, with its foreign key where it is a reference."""
    args: list[SchemaItem] = []
    if fld.type is FieldType.REFERENCE and fld.to:
        args.append(sa.ForeignKey(_fk_target(names, fld.to), ondelete="SET NULL"))
    return sa.Column(fld.name, column_type(fld), *args, nullable=True)


def _constraints(names: WorkspaceNames, entity: EntityDef, base: str) -> list[SchemaItem]:
    items: list[SchemaItem] = [sa.Index(names.index("ix", base, "owner"), "owner")]
    if entity.pipelines:
        items.append(sa.Index(names.index("ix", base, "stage"), "pipeline", "stage"))
    for fld in entity.stored_fields:
        if fld.unique:
            items.append(sa.UniqueConstraint(fld.name, name=names.index("uq", base, fld.name)))
        elif fld.index or fld.type is FieldType.REFERENCE:
            items.append(sa.Index(names.index("ix", base, fld.name), fld.name))
    return items


def entity_table(meta: sa.MetaData, names: WorkspaceNames, entity: EntityDef) -> sa.Table:
    base = entity_table_base(entity.name)
    columns = _builtin_columns(entity) + [field_column(names, f) for f in entity.stored_fields]
    return sa.Table(names.table(base), meta, *columns, *_constraints(names, entity, base),
                    schema=names.schema)


def junction_table(meta: sa.MetaData, names: WorkspaceNames, entity: EntityDef,
                   fld: FieldDef) -> sa.Table:
    base = junction_table_base(entity.name, fld.name)
    assert fld.to is not None
    return sa.Table(
        names.table(base), meta,
        sa.Column("left_id", sa.BigInteger, sa.ForeignKey(_fk_target(names, entity.name), ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("right_id", sa.BigInteger, sa.ForeignKey(_fk_target(names, fld.to), ondelete="CASCADE"),
                  primary_key=True),
        sa.Index(names.index("ix", base, "right_id"), "right_id"),
        schema=names.schema,
    )


def build_tables(blueprint: Blueprint, names: WorkspaceNames) -> WorkspaceTables:
    meta = sa.MetaData()
    result = WorkspaceTables(names=names, metadata=meta)
    for entity in blueprint.entities:
        result.entities[entity.name] = entity_table(meta, names, entity)
    for entity in blueprint.entities:
        for fld in entity.fields:
            if fld.type is FieldType.MANY:
                result.junctions[(entity.name, fld.name)] = junction_table(meta, names, entity, fld)
    return result


_CACHE: dict[tuple[str, int, str, str], WorkspaceTables] = {}
_CACHE_LIMIT = 512


def tables_for(workspace: str, version: int, dialect: str, blueprint: Blueprint,
               digest: str = "") -> WorkspaceTables:
    """Tables of a workspace at a metadata version, cached under (workspace, version, dialect, digest).

    The version is part of the key, so tables built before a migration are
    never handed out after it; the digest (``WorkspaceMeta.digest``, computed
    once per loaded version) tells apart two databases that both hold a
    version 1 of the workspace with different blueprints.
    """
    key = (workspace, version, dialect, digest)
    cached = _CACHE.get(key)
    if cached is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        cached = _CACHE[key] = build_tables(blueprint, workspace_names(workspace, dialect))
    return cached

