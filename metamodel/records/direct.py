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

import json
import operator
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring_ascii
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

Params = tuple[Any, ...] | dict[str, Any]


def _json_text(value: Any) -> str:
    """``json.dumps(value)`` with the common scalars done directly (the same text, ~10x faster)."""
    if value is None:
        return "null"
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    return json.dumps(value)


def _processor(bound: sa.types.TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """SQLAlchemy's bind processor of ``bound``, except JSON on SQLite: there that processor is
    plain ``json.dumps`` (the default serializer), and history rows bind dozens of small values
    per write, so the equivalent ``_json_text`` is used."""
    if dialect.name == "sqlite" and isinstance(bound, sa.JSON) \
            and getattr(dialect, "_json_serializer", None) is None:
        return _json_text
    return bound.dialect_impl(dialect).bind_processor(dialect)


class DirectStatement:
    """One compiled statement with its parameter order and bind processors."""

    def __init__(self, stmt: sa.ClauseElement, dialect: Dialect, prepare: bool = False) -> None:
        compiled = stmt.compile(dialect=dialect)
        #: psycopg only: keep a server-side prepared plan (see ``direct``)
        self.prepare = prepare and dialect.driver == "psycopg"
        assert isinstance(compiled, SQLCompiler)
        self.sql = str(compiled)
        self.positional = bool(dialect.positional)
        names = list(compiled.positiontup or ()) if self.positional else list(compiled.binds)
        unique = list(dict.fromkeys(names))
        #: (parameter key, bind processor or None) once per distinct bind, whatever its repeats
        self._binds: tuple[tuple[str, Callable[[Any], Any] | None], ...] = tuple(
            (compiled.binds[n].key, _processor(compiled.binds[n].type, dialect)) for n in unique)
        keys = [compiled.binds[n].key for n in names]
        self._order = operator.itemgetter(*keys) if len(keys) > 1 else None
        self._single = keys[0] if len(keys) == 1 else None

    def params(self, values: Mapping[str, Any]) -> Params:
        """Driver parameters from named values, converted as SQLAlchemy would convert them.

        Each distinct bind is converted once even when the SQL repeats it (a
        shared timestamp of a multi-row insert), then laid out in SQL order.
        """
        converted = {k: values[k] if p is None else p(values[k]) for k, p in self._binds}
        if not self.positional:
            return converted
        if self._order is not None:
            return tuple(self._order(converted))
        return (converted[self._single],) if self._single is not None else ()

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> list[Any]:
        """Run once; returns the rows the statement yields (RETURNING or SELECT), else []."""
        if self.prepare:
            return self._run(conn, lambda cur: cur.execute(self.sql, self.params(values), prepare=True),
                             fetch=True)
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


_CACHE: dict[tuple[str, str, int, bool], tuple[sa.ClauseElement, DirectStatement]] = {}
_CACHE_LIMIT = 8192


def direct(stmt: sa.ClauseElement, dialect: Dialect, *, prepare: bool = False) -> DirectStatement:
    """The compiled form of a long-lived statement (a plan's or a module's), per dialect and driver.

    Keyed by the statement's identity; the entry keeps the statement alive so
    the identity cannot be reused by another object while it is cached.

    ``prepare=True`` keeps a server-side plan on PostgreSQL (engines prepare
    nothing by default: a blueprint's type change would break plans held by
    other processes).  Only for statements no blueprint can reshape: those on
    the platform's own tables, and those returning only built-in columns.
    """
    key = (dialect.name, dialect.driver, id(stmt), prepare)
    found = _CACHE.get(key)
    if found is None or found[0] is not stmt:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        found = _CACHE[key] = (stmt, DirectStatement(stmt, dialect, prepare))
    return found[1]
