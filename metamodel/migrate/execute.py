"""Carry out a checked plan: DDL and data changes, in the caller's one transaction.

Order matters and is fixed: tables are renamed first (so everything after
uses the new names), then new tables are created (so new references can point
at them), then columns change entity by entity (renames before anything else
on that table), then junction tables, pipeline columns and record moves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metamodel.definitions import FieldDef
from metamodel.migrate import ddl
from metamodel.migrate.changes import Action, EntityChange, FieldChange, storage_kind
from metamodel.migrate.checks import is_retype_or_resize
from metamodel.migrate.plan import Plan
from metamodel.migrate.stages import add_pipelines, move_records
from metamodel.migrate.users import apply_users
from metamodel.storage.naming import (
    WorkspaceNames,
    entity_table_base,
    junction_table_base,
    workspace_names,
)
from metamodel.storage.tables import WorkspaceTables, build_tables


def _write_values(conn: Connection, names: WorkspaceNames, entity: str, fld: FieldDef,
                  values: list[tuple[int, Any]]) -> None:
    if not values:
        return
    table = ddl.probe_table(names, entity, [fld])
    statement = sa.update(table).where(table.c.id == sa.bindparam("_id")).values(
        {fld.name: sa.bindparam("_value")})
    conn.execute(statement, [{"_id": i, "_value": v} for i, v in values])


def _fill_default(conn: Connection, names: WorkspaceNames, entity: str, fld: FieldDef) -> None:
    """Existing records get a new field's default, as records created from now on will."""
    table = ddl.probe_table(names, entity, [fld])
    conn.execute(sa.update(table).values({fld.name: fld.default}))


class Executor:
    """Runs one plan on one connection; every statement joins the caller's transaction."""

    def __init__(self, conn: Connection, plan: Plan, *, at: datetime, actor: str) -> None:
        self.conn, self.plan, self.at, self.actor = conn, plan, at, actor
        self.names = workspace_names(plan.workspace, conn.dialect.name)
        self.tables: WorkspaceTables = build_tables(plan.blueprint, self.names)

    def run(self) -> None:
        assert self.plan.diff is not None
        changes = self.plan.diff.entities
        if self.plan.diff.new_workspace:
            ddl.create_schema(self.conn, self.names)
        for change in changes:
            if change.action is Action.RENAME:
                self._rename_entity(change)
        ddl.create_tables(self.conn, [self.tables.entity(c.name) for c in changes if c.action is Action.ADD])
        for change in changes:
            if change.action in (Action.KEEP, Action.RENAME, Action.RESTORE):
                self._fields(change)
        ddl.create_tables(self.conn, self._new_junctions(changes))
        for entity in self.plan.stages.new_pipeline_columns:
            add_pipelines(self.conn, self.names, entity, self.at)
        for move in self.plan.stages.moves:
            move_records(self.conn, self.names, self.plan.workspace, move, at=self.at, actor=self.actor)
        apply_users(self.conn, self.plan.workspace, self.plan.users, self.at)

    def _rename_entity(self, change: EntityChange) -> None:
        assert change.old is not None
        old, new = change.old.name, change.name
        ddl.rename_table(self.conn, self.names, ddl.table_name(self.names, old),
                         ddl.table_name(self.names, new))
        ddl.rename_indexes(self.conn, self.names, ddl.table_name(self.names, new), entity_table_base(new))
        archived = [f for e, f in self.plan.meta.archived_fields if e == old] if self.plan.meta else []
        for fld in [*(fc.old for fc in change.fields if fc.old is not None), *archived]:
            if storage_kind(fld) == "junction":
                self._rename_junction(old, new, fld.name, fld.name)

    def _rename_junction(self, old_entity: str, new_entity: str, old_field: str, new_field: str) -> None:
        old_table = ddl.junction_name(self.names, old_entity, old_field)
        new_table = ddl.junction_name(self.names, new_entity, new_field)
        ddl.rename_table(self.conn, self.names, old_table, new_table)
        ddl.rename_indexes(self.conn, self.names, new_table, junction_table_base(new_entity, new_field))

    def _new_junctions(self, changes: tuple[EntityChange, ...]) -> list[sa.Table]:
        return [self.tables.junction(fc.entity, fc.name) for c in changes for fc in c.fields
                if fc.action is Action.ADD and fc.new is not None and storage_kind(fc.new) == "junction"]

    def _fields(self, change: EntityChange) -> None:
        for fc in change.fields:
            if fc.action is Action.RENAME:
                self._rename_field(fc)
        for fc in change.fields:
            if fc.action is Action.ADD and fc.new is not None and storage_kind(fc.new) == "column":
                self._add_column(fc.entity, fc.new)
            elif fc.both_columns:
                self._change_column(fc)

    def _rename_field(self, fc: FieldChange) -> None:
        assert fc.old is not None and fc.new is not None
        kind = storage_kind(fc.new)
        if kind == "column":
            ddl.rename_column(self.conn, self.names, fc.entity, fc.old.name, fc.new.name)
            ddl.rename_indexes(self.conn, self.names, ddl.table_name(self.names, fc.entity),
                               entity_table_base(fc.entity))
        elif kind == "junction":
            self._rename_junction(fc.entity, fc.entity, fc.old.name, fc.new.name)

    def _add_column(self, entity: str, fld: FieldDef) -> None:
        ddl.add_column(self.conn, self.names, entity, fld)
        if fld.has_default:
            _fill_default(self.conn, self.names, entity, fld)
        kind = ddl.index_kind(fld)
        if kind is not None:
            ddl.create_index(self.conn, self.names, entity, fld.name, kind)

    def _change_column(self, fc: FieldChange) -> None:
        assert fc.old is not None and fc.new is not None
        before, after = ddl.index_kind(fc.old), ddl.index_kind(fc.new)
        if before is not None and (before != after or fc.retyped):
            ddl.drop_index(self.conn, self.names, fc.entity, fc.new.name)
        if fc.retyped:
            ddl.retype_column(self.conn, self.names, fc.entity, fc.new)
            _write_values(self.conn, self.names, fc.entity, fc.new,
                          self.plan.converted.get((fc.entity, fc.name), []))
        elif is_retype_or_resize(fc):
            ddl.resize_column(self.conn, self.names, fc.entity, fc.new)
        if after is not None and (before != after or fc.retyped):
            ddl.create_index(self.conn, self.names, fc.entity, fc.new.name, after)


def execute_plan(conn: Connection, plan: Plan, *, at: datetime, actor: str) -> None:
    """Every DDL and data change of ``plan``, on ``conn`` (the caller owns the transaction)."""
    Executor(conn, plan, at=at, actor=actor).run()
