"""Engines for the two supported databases, configured so both behave alike.

SQLite needs two corrections to be a real transactional store: pysqlite's own
transaction handling is switched off so ``BEGIN`` is emitted by SQLAlchemy
(making DDL transactional, which whole-apply atomicity depends on), and
foreign keys, WAL and a busy timeout are set on every connection.

``synchronous = FULL``: with WAL, ``NORMAL`` can lose the last committed
transactions on a power cut or an OS crash.  An accepted write must never be
lost, so every commit is synced, at the cost of one fsync per write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the per-dialect settings Stagecraft relies on."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    if parsed.get_driver_name() == "psycopg":
        # No server-side prepared statements: after a blueprint changes a column's
        # type, every process holding a plan prepared earlier would fail with
        # "cached plan must not change result type".  One apply cannot reach the
        # pools of other API and worker processes, so the plans must not exist.
        kwargs.setdefault("connect_args", {}).setdefault("prepare_threshold", None)
    return sa.create_engine(parsed, **kwargs)


def _sqlite_engine(url: sa.engine.URL, **kwargs: Any) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if url.database and url.database != ":memory:":
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write.

    On SQLite it starts with ``BEGIN IMMEDIATE`` so two writers queue on the
    busy timeout instead of failing when a read lock is upgraded mid-way.
    """
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


def init_database(engine: Engine) -> None:
    """Create or upgrade the platform's own tables (idempotent)."""
    from metamodel.storage.system_migrations import upgrade_system_tables

    upgrade_system_tables(engine)


def database_unreachable(url: str) -> str | None:
    """None when ``SELECT 1`` works on ``url``, else why not, in one line."""
    try:
        engine = create_engine_for(url, pool_pre_ping=False)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # any failure to connect means "unreachable"
        first = str(exc).strip().splitlines()
        return f"{sa.engine.make_url(url).render_as_string(hide_password=True)} is unreachable: " \
               f"{first[0] if first else type(exc).__name__}"
    return None


@contextmanager
def throwaway_database(server_url: str | None = None, *, prefix: str = "sc_tmp") -> Iterator[str]:
    """The URL of a database that exists only inside the block, with the platform tables.

    ``server_url`` None: a SQLite file in a temporary directory.  A PostgreSQL URL: a new database
    on that server (named ``prefix`` plus a random suffix), dropped at the end even if sessions are
    still open.  For simulations, benchmarks and tests, which must never touch a real database.
    """
    import tempfile
    import uuid

    if server_url is None:
        with tempfile.TemporaryDirectory(prefix="stagecraft-") as folder:
            url = f"sqlite:///{Path(folder) / 'stagecraft.db'}"
            _initialised(url)
            yield url
        return
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine_for(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        _initialised(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _initialised(url: str) -> None:
    engine = create_engine_for(url)
    try:
        init_database(engine)
    finally:
        engine.dispose()


@contextmanager
def throwaway_engine(server_url: str | None = None, *, prefix: str = "sc_tmp") -> Iterator[Engine]:
    """An engine on :func:`throwaway_database`, disposed of before the database goes."""
    with throwaway_database(server_url, prefix=prefix) as url:
        engine = create_engine_for(url)
        try:
            yield engine
        finally:
            engine.dispose()
