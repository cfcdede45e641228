"""Is the metadata a store holds still the workspace's applied version?

A ``RecordStore`` keeps the ``WorkspaceMeta`` it was built with.  After an
apply (a field changed type, was renamed or removed) a store built before it
would write with the old rules — text into what is now an integer column on
SQLite — or address columns that no longer exist.  Every write therefore
compares versions inside its own transaction (one primary-key SELECT), and a
read that fails in the database is reported as ``MetadataChanged`` when the
version moved, since that is the likely cause and reloading is the remedy.
A create reads the version in its INSERT … RETURNING instead (no extra round
trip); the rollback undoes the row when the version moved.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from metamodel.errors import MetadataChanged
from metamodel.records.direct import direct
from metamodel.storage.catalog import WorkspaceMeta
from metamodel.storage.system_tables import workspaces

_VERSION = sa.select(workspaces.c.metadata_version).where(workspaces.c.name == sa.bindparam("ws"))


def applied_version(conn: Connection, workspace: str) -> int | None:
    """The workspace's applied metadata version; None when it has no row (tables made directly)."""
    rows = direct(_VERSION, conn.dialect, prepare=True).execute(conn, {"ws": workspace})
    return int(rows[0][0]) if rows else None


def check_metadata(conn: Connection, meta: WorkspaceMeta) -> None:
    """Raise ``MetadataChanged`` when ``meta`` is no longer the applied version.

    Run inside the write's transaction: on SQLite the write lock is already
    held, so no apply can commit between the check and the write.  A workspace
    without a row in ``sc_workspaces`` (tables created by a test or a
    benchmark, never applied) has nothing to compare with and passes.
    """
    check_applied(meta, applied_version(conn, meta.workspace))


def check_applied(meta: WorkspaceMeta, current: int | None) -> None:
    """Raise ``MetadataChanged`` when the ``current`` applied version (read by the caller) moved."""
    if current is not None and current != meta.version:
        raise MetadataChanged(meta.workspace, meta.version, current)


@contextmanager
def moved_metadata_reported(engine: Engine, meta: WorkspaceMeta) -> Iterator[None]:
    """A database error inside the block becomes ``MetadataChanged`` if the version moved.

    The version is read on a connection of its own: the failed statement may
    have aborted the caller's transaction (PostgreSQL).  Otherwise the error
    is raised unchanged.
    """
    try:
        yield
    except DBAPIError as exc:
        try:
            with engine.connect() as conn:
                current = applied_version(conn, meta.workspace)
        except DBAPIError:
            raise exc from None
        if current is None or current == meta.version:
            raise
        raise MetadataChanged(meta.workspace, meta.version, current) from exc
