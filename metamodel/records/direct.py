"""Statements compiled by SQLAlchemy once and run on the connection's own DBAPI cursor.

Why: a create is five or six statements (existence check, insert, history,
stage history, outbox) where a hand-written insert is one.  SQLAlchemy's
execution layer costs about 50 µs per statement — more than SQLite needs to
run it — so going through it for each of them would alone break the "at most 2x a
raw insert" budget of issue 2.  The fixed hot-path statements are therefore
compiled by SQLAlchemy (same SQL, same bind processors, same dialect) once per
dialect and executed directly on the DBAPI cursor of the caller's connection,
inside its transaction.  Driver errors are re-raised as SQLAlchemy's own
exception classes, so callers handle one family of errors either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

Params = tuple[Any, ...] | dict[str, Any]


class DirectStatement:
    """One compiled statement with its parameter order and bind processors."""

    def __init__(self, stmt: sa.ClauseElement, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self.positional = bool(dialect.positional)
        names = list(compiled.positiontup or ()) if self.positional else list(compiled.binds)
        processors = {n: compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect)
                      for n in set(names)}
        self._binds: tuple[tuple[str, Callable[[Any], Any] | None], ...] = tuple(
            (compiled.binds[n].key, processors[n]) for n in names)
        self._names = tuple(key for key, _ in self._binds)

    def params(self, values: Mapping[str, Any]) -> Params:
        """Driver parameters from column values, converted as SQLAlchemy would convert them.

        A value object bound several times (a shared timestamp) is converted once.
        """
        memo: dict[tuple[int, int], Any] = {}
        out = []
        for key, process in self._binds:
            value = values[key]
            if process is not None:
                slot = (id(process), id(value))
                if slot not in memo:
                    memo[slot] = process(value)
                value = memo[slot]
            out.append(value)
        return tuple(out) if self.positional else dict(zip(self._names, out, strict=True))

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> list[Any]:
        """Run once; returns the rows the statement yields (RETURNING or SELECT), else []."""
        return self._run(conn, lambda cur: cur.execute(self.sql, self.params(values)), fetch=True)

    def _run(self, conn: Connection, call: Callable[[Any], Any], *, fetch: bool) -> list[Any]:
        dbapi = conn.dialect.loaded_dbapi
        cursor = conn.connection.cursor()
        try:
            call(cursor)
            return list(cursor.fetchall()) if fetch and cursor.description else []
        except dbapi.Error as exc:
            raise sa.exc.DBAPIError.instance(self.sql, None, exc, dbapi.Error) from exc
        finally:
            cursor.close()


_CACHE: dict[tuple[str, str, int], tuple[sa.ClauseElement, DirectStatement]] = {}
_CACHE_LIMIT = 8192


def direct(stmt: sa.ClauseElement, dialect: Dialect) -> DirectStatement:
    """The compiled form of a long-lived statement (a plan's or a module's), per dialect and driver.

    Keyed by the statement's identity; the entry keeps the statement alive so
    the identity cannot be reused by another object while it is cached.
    """
    key = (dialect.name, dialect.driver, id(stmt))
    found = _CACHE.get(key)
    if found is None or found[0] is not stmt:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        found = _CACHE[key] = (stmt, DirectStatement(stmt, dialect))
    return found[1]
