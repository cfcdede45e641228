"""What a write (or a single-record read) of one entity needs, compiled once.

Everything that depends only on the metadata — coercers, the column list, the
statements, which constraint guards which field — is built once per
(workspace, version, dialect, entity) into a ``WritePlan``.  The version in the
cache key retires plans after a migration, exactly like the cached tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metamodel.definitions import EntityDef, FieldType
from metamodel.errors import NotFound
from metamodel.records.coerce import FieldRules, Invalid, build_rules, coerce_id
from metamodel.storage.catalog import WorkspaceMeta
from metamodel.storage.system_tables import workspaces


@dataclass(frozen=True)
class WritePlan:
    """What a write of one entity needs, compiled once per metadata version."""

    workspace: str
    entity: EntityDef
    table: sa.Table
    rules: FieldRules
    blank_row: Mapping[str, Any]            # every inserted column, with its value when unset
    insert: sa.Insert                       # every column bound by name, RETURNING id
    select_row: sa.Select[Any]
    select_locked: sa.Select[Any]
    references: Mapping[str, str]          # reference or many field -> target entity
    exists: Mapping[str, sa.Select[Any]]   # target entity -> "which of :ids are live"
    exists_by_count: dict[tuple[str, int], sa.Select[Any]]  # the same with n plain binds (direct)
    insert_checking: dict[tuple[str, ...], sa.Insert]  # ``insert`` that also counts live targets
    junctions: Mapping[str, sa.Table]      # many field -> junction table
    user_fields: tuple[str, ...]
    unique: Mapping[str, str]              # constraint or column name -> field
    stamps: tuple[str, ...]                # datetime columns, normalised to aware UTC on read
    tracked: tuple[str, ...]               # what history records on create


def _exists_query(table: sa.Table) -> sa.Select[Any]:
    """Live ids among ``:ids`` (an expanding list).

    No lock is taken on the rows found: a soft delete does not touch the records
    that refer to the deleted one, so a delete committed just after this check
    leaves the same state as one committed just after the write.
    """
    return sa.select(table.c.id).where(table.c.id.in_(sa.bindparam("ids", expanding=True)),
                                       table.c.deleted_at.is_(None))


#: Bind name of the workspace in ``WritePlan.insert`` (no field can be named so: leading "_").
WORKSPACE_BIND = "_sc_ws"


def _full_insert(table: sa.Table, *extra: sa.ColumnElement[Any]) -> sa.Insert:
    """INSERT binding every column but the id by name, returning the id (one compiled form).

    It also returns the workspace's applied metadata version: the write checks
    it without a round trip of its own (see ``versions``).
    """
    columns = [c for c in table.columns if not c.primary_key]
    applied = (sa.select(workspaces.c.metadata_version)
               .where(workspaces.c.name == sa.bindparam(WORKSPACE_BIND)).scalar_subquery())
    return (table.insert().values({c.name: sa.bindparam(c.name, type_=c.type) for c in columns})
            .returning(table.c.id, applied, *extra))


def insert_checking(plan: WritePlan, fields: tuple[str, ...]) -> sa.Insert:
    """``plan.insert`` that also returns, per reference field, 1 when its target is a live record.

    PostgreSQL creates check their references inside the INSERT instead of by a
    query of their own (one round trip fewer): a target that does not exist
    fails the foreign key, a soft-deleted one returns 0 here, and either way
    the write is refused and rolled back.
    """
    stmt = plan.insert_checking.get(fields)
    if stmt is None:
        live = []
        for name in fields:
            target = target_table(plan, name)
            live.append(sa.select(sa.func.count()).select_from(target).where(
                target.c.id == sa.bindparam(name, type_=plan.table.c[name].type),
                target.c.deleted_at.is_(None)).scalar_subquery())
        stmt = plan.insert_checking[fields] = _full_insert(plan.table, *live)
    return stmt


def build_plan(meta: WorkspaceMeta, entity: EntityDef) -> WritePlan:
    tables = meta.tables
    table = tables.entity(entity.name)
    linked = {f.name: f.to for f in entity.fields
              if f.type in (FieldType.REFERENCE, FieldType.MANY) and f.to}
    stored = [f.name for f in entity.stored_fields]
    unique = {f.name: f.name for f in entity.stored_fields if f.unique}
    unique.update({str(c.name): next(iter(c.columns)).name for c in table.constraints
                   if isinstance(c, sa.UniqueConstraint) and c.name and len(c.columns) == 1})
    blank = {c.name: None for c in table.columns if c.name != "id"} | {"version": 1}
    select_row = sa.select(table).where(table.c.id == sa.bindparam("id"))
    return WritePlan(
        workspace=meta.workspace, entity=entity, table=table, rules=build_rules(entity),
        blank_row=blank, insert=_full_insert(table), select_row=select_row,
        select_locked=select_row.with_for_update(),
        references=linked, exists={t: _exists_query(tables.entity(t)) for t in set(linked.values())},
        exists_by_count={},
        insert_checking={},
        junctions={f.name: tables.junction(entity.name, f.name) for f in entity.fields
                   if f.type is FieldType.MANY},
        user_fields=("owner", *(f.name for f in entity.fields if f.type is FieldType.USER)),
        unique=unique,
        stamps=tuple(c.name for c in table.columns if isinstance(c.type, sa.DateTime)),
        tracked=("owner", "pipeline", "stage", *stored,
                 *(f.name for f in entity.fields if f.type is FieldType.MANY)),
    )


def exists_for(plan: WritePlan, target: str, count: int) -> sa.Select[Any]:
    """"Which of these ``count`` ids of ``target`` are live", with binds id0..id{count-1}."""
    key = (target, count)
    stmt = plan.exists_by_count.get(key)
    if stmt is None:
        table = plan.exists[target].get_final_froms()[0]
        assert isinstance(table, sa.Table)
        binds = [sa.bindparam(f"id{k}", type_=table.c.id.type) for k in range(count)]
        stmt = plan.exists_by_count[key] = sa.select(table.c.id).where(
            table.c.id.in_(binds), table.c.deleted_at.is_(None))
    return stmt


def plan_for(meta: WorkspaceMeta, entity: str) -> WritePlan:
    """The plan of ``entity``, built once per set of tables (a new version has new tables)."""
    plan: WritePlan = meta.tables.remember(("write", entity),
                                           lambda: build_plan(meta, meta.blueprint.get_entity(entity)))
    return plan


# ---- reading one record -------------------------------------------------------------------


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def load_row(conn: Connection, plan: WritePlan, record_id: int, *, lock: bool) -> dict[str, Any] | None:
    """One row as a dict, datetimes aware in UTC on both databases (SQLite keeps no offset)."""
    stmt = plan.select_locked if lock else plan.select_row
    row = conn.execute(stmt, {"id": record_id}).mappings().first()
    if row is None:
        return None
    record = dict(row)
    for name in plan.stamps:
        record[name] = _as_utc(record[name])
    return record


def load_many(conn: Connection, plan: WritePlan, record_id: int) -> dict[str, list[int]]:
    """The live ids linked through each ``many`` field, sorted (one query per many field).

    Soft-deleted members are left out, as lists leave them out, so a record
    reads the same through ``get`` and ``list`` and can be written back as read.
    """
    found: dict[str, list[int]] = {}
    for name, link in plan.junctions.items():
        member = target_table(plan, name)
        stmt = (sa.select(link.c.right_id).select_from(link.join(member, member.c.id == link.c.right_id))
                .where(link.c.left_id == record_id, member.c.deleted_at.is_(None)))
        found[name] = sorted(conn.execute(stmt).scalars())
    return found


def target_table(plan: WritePlan, field: str) -> sa.Table:
    """The table of the entity a reference or ``many`` field points to."""
    table = plan.exists[plan.references[field]].get_final_froms()[0]
    assert isinstance(table, sa.Table)
    return table


def not_found(plan: WritePlan, record_id: Any) -> NotFound:
    return NotFound(f"there is no {plan.entity.name} with id {record_id!s:.40}")


def as_record_id(plan: WritePlan, value: Any) -> int:
    """The id to look up: an int or decimal digits within 64 bits; anything else cannot exist.

    Refusing here keeps impossible ids (``10**30``, ``"abc"``, ``True``) away from
    the database, which would raise an overflow or type error instead of NOT_FOUND.
    """
    try:
        return coerce_id(value, plan.entity.name)
    except Invalid:
        raise not_found(plan, value) from None


def get_record(conn: Connection, meta: WorkspaceMeta, entity: str, record_id: Any, *,
               include_deleted: bool = False) -> dict[str, Any]:
    plan = plan_for(meta, entity)
    record_id = as_record_id(plan, record_id)
    record = load_row(conn, plan, record_id, lock=False)
    if record is None or (record["deleted_at"] is not None and not include_deleted):
        raise not_found(plan, record_id)
    record.update(load_many(conn, plan, record_id))
    return record


