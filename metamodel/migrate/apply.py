"""Plan and apply blueprints: the whole apply is one transaction on one connection.

Metadata row, DDL, data moves and users commit together or not at all, so a
failing apply leaves the workspace exactly as it was.  On SQLite our engine
emits ``BEGIN`` itself, which makes DDL transactional; ``BEGIN IMMEDIATE``
serialises concurrent applies, and foreign keys are switched off (before the
transaction: inside one the pragma is ignored) because a table rebuild with
them on cascades deletes into child tables — ``foreign_key_check`` runs before
commit instead.  On PostgreSQL a transaction-scoped advisory lock per workspace
serialises applies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from metamodel.clock import SYSTEM_CLOCK, Clock
from metamodel.db import is_sqlite
from metamodel.definitions import Blueprint
from metamodel.errors import MetamodelError, MigrationRefused, Problem
from metamodel.migrate import codes
from metamodel.migrate.ddl import REBUILT
from metamodel.migrate.execute import execute_plan
from metamodel.migrate.plan import Plan, build_plan
from metamodel.storage.catalog import (
    WorkspaceMeta,
    find_workspace_meta,
    remember_workspace_meta,
    save_workspace_meta,
)
from metamodel.storage.naming import WorkspaceNames, check_workspace_name, workspace_names

_LOCK_NAMESPACE = 5_310_001  # first key of pg_advisory_xact_lock(int, int): "metadata apply"


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What one apply did: the version now current and the plan lines it carried out."""

    workspace: str
    version: int
    lines: tuple[str, ...]
    changed: bool


@contextmanager
def apply_transaction(engine: Engine) -> Iterator[Connection]:
    """One writing transaction with SQLite foreign keys off around it (see the module docstring)."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            with conn.begin():
                yield conn
            return
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys = OFF")
        conn.info.pop(REBUILT, None)
        try:
            with conn.begin():
                yield conn
        finally:
            raw.execute("PRAGMA foreign_keys = ON")


def lock_workspace(conn: Connection, workspace: str) -> None:
    """Serialise metadata changes of one workspace (SQLite: already by BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:ns, hashtext(:ws))"),
                     {"ns": _LOCK_NAMESPACE, "ws": workspace})


def verify_foreign_keys(conn: Connection, names: WorkspaceNames) -> None:
    """Refuse (and so roll back) an apply whose table rebuilds left a row pointing at nothing.

    Only SQLite rebuilds tables, and only a rebuild can break a link (the
    check scans every foreign key, so it is skipped when nothing was rebuilt).
    """
    if conn.dialect.name != "sqlite" or not conn.info.pop(REBUILT, None):
        return
    report = conn.exec_driver_sql("PRAGMA foreign_key_check")
    broken = [row for row in report if names.owns(str(row[0]))]
    if broken:
        raise MigrationRefused([Problem(codes.FOREIGN_KEY_BROKEN,
                                        f"{len(broken)} rows would point at records that do not exist "
                                        f"(first in {broken[0][0]})")])


def _for_workspace(blueprint: Blueprint, workspace: str | None) -> tuple[Blueprint, str]:
    name = workspace or blueprint.workspace
    if not name:
        raise MetamodelError("the blueprint names no workspace: add `workspace:` or pass --workspace",
                             code=codes.NO_WORKSPACE)
    check_workspace_name(name)
    return dataclasses.replace(blueprint, workspace=name), name


def plan_blueprint(engine: Engine, blueprint: Blueprint, workspace: str | None = None) -> Plan:
    """What applying ``blueprint`` would do; reads only (the transaction is rolled back)."""
    blueprint, name = _for_workspace(blueprint, workspace)
    with engine.connect() as conn, conn.begin() as tx:
        plan = build_plan(conn, find_workspace_meta(conn, name), blueprint, name)
        tx.rollback()
    return plan


def _next_meta(plan: Plan, dialect: str) -> WorkspaceMeta:
    assert plan.diff is not None
    version = plan.meta.version + 1 if plan.meta is not None else 1
    return WorkspaceMeta(workspace=plan.workspace, version=version, blueprint=plan.blueprint, dialect=dialect,
                         archived_fields=plan.diff.archived_fields,
                         archived_entities=plan.diff.archived_entities,
                         pipeline_tables=plan.diff.pipeline_tables, automation_files=plan.automation_files)


def apply_blueprint(engine: Engine, blueprint: Blueprint, workspace: str | None = None, *,
                    actor: str | None = None, clock: Clock = SYSTEM_CLOCK) -> ApplyResult:
    """Migrate ``workspace`` to ``blueprint`` in one transaction; raises ``MigrationRefused``."""
    blueprint, name = _for_workspace(blueprint, workspace)
    with apply_transaction(engine) as conn:
        lock_workspace(conn, name)
        plan = build_plan(conn, find_workspace_meta(conn, name), blueprint, name)
        if plan.refusals:
            raise MigrationRefused(plan.refusals)
        if plan.is_empty:
            assert plan.meta is not None
            return ApplyResult(name, plan.meta.version, (), changed=False)
        at = clock.now()
        execute_plan(conn, plan, at=at, actor=actor or "system")
        meta = _next_meta(plan, conn.dialect.name)
        save_workspace_meta(conn, meta, at=at, actor=actor)
        verify_foreign_keys(conn, workspace_names(name, conn.dialect.name))
    remember_workspace_meta(conn, meta)
    return ApplyResult(name, meta.version, tuple(plan.lines), changed=True)
