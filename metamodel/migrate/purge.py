"""Purge: the only place archived data is really deleted, and only when asked for.

Archived columns and tables go in one transaction that also records a new
metadata version with nothing archived (so caches keyed by version refresh).
Soft-deleted records older than the retention go in a second transaction with
foreign keys on, so the database itself nulls references and removes junction
rows exactly as for any delete.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.clock import SYSTEM_CLOCK, Clock
from metamodel.db import write_transaction
from metamodel.migrate import ddl
from metamodel.migrate.apply import (
    apply_transaction,
    lock_workspace,
    verify_foreign_keys,
)
from metamodel.migrate.changes import storage_kind
from metamodel.storage.catalog import WorkspaceMeta, load_workspace_meta, save_workspace_meta
from metamodel.storage.naming import WorkspaceNames, workspace_names

DEFAULT_RETENTION_DAYS = 30


def _drop_archived(conn: sa.Connection, names: WorkspaceNames, meta: WorkspaceMeta) -> list[str]:
    dropped: list[str] = []
    for entity_name, fld in meta.archived_fields:
        if storage_kind(fld) == "junction":
            ddl.drop_table(conn, names, ddl.junction_name(names, entity_name, fld.name))
            dropped.append(f"dropped archived field {entity_name}.{fld.name} (link table and data)")
        else:
            ddl.drop_column(conn, names, entity_name, fld.name)
            dropped.append(f"dropped archived field {entity_name}.{fld.name} (column and data)")
    for entity in meta.archived_entities:
        for fld in entity.fields:
            if storage_kind(fld) == "junction":
                ddl.drop_table(conn, names, ddl.junction_name(names, entity.name, fld.name))
        ddl.drop_table(conn, names, ddl.table_name(names, entity.name))
        dropped.append(f"dropped archived entity {entity.name} (table and data)")
    return dropped


def _purge_deleted(engine: Engine, workspace: str, older_than_days: int, clock: Clock) -> list[str]:
    cutoff = clock.now() - timedelta(days=older_than_days)
    purged: list[str] = []
    with write_transaction(engine) as conn:
        tables = load_workspace_meta(conn, workspace).tables
        for entity, table in tables.entities.items():
            count = conn.execute(sa.delete(table).where(table.c.deleted_at.is_not(None),
                                                        table.c.deleted_at < cutoff)).rowcount
            if count:
                purged.append(f"purged {count} deleted {entity} records older than {older_than_days} days")
    return purged


def purge_workspace(engine: Engine, workspace: str, *, older_than_days: int = DEFAULT_RETENTION_DAYS,
                    clock: Clock = SYSTEM_CLOCK, actor: str | None = None) -> list[str]:
    """Drop archived fields and entities, then deleted records past retention; lists what went."""
    with apply_transaction(engine) as conn:
        lock_workspace(conn, workspace)
        meta = load_workspace_meta(conn, workspace)
        names = workspace_names(workspace, conn.dialect.name)
        dropped = _drop_archived(conn, names, meta)
        if dropped:
            save_workspace_meta(conn, WorkspaceMeta(
                workspace=workspace, version=meta.version + 1, blueprint=meta.blueprint,
                dialect=meta.dialect, pipeline_tables=meta.pipeline_tables,
                automation_files=meta.automation_files), at=clock.now(), actor=actor)
            verify_foreign_keys(conn, names)
    return dropped + _purge_deleted(engine, workspace, older_than_days, clock)



