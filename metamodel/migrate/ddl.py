"""DDL of a migration, one small statement builder per change, for both dialects.

Every name passes ``safe_identifier`` (via the naming module) and is quoted by
the dialect's own preparer; nothing here is built from defaults, expressions or
other free text.  SQLite cannot alter a column's type or drop an inline
constraint, so those two rebuild the table with Alembic's batch mode; the
caller has switched foreign keys off for the whole apply (a rebuild with them on
would cascade deletes into child tables) and runs ``foreign_key_check`` after.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import BatchOperations, Operations
from sqlalchemy.engine import Connection

from metamodel.definitions import FieldDef, FieldType
from metamodel.storage.naming import (
    WorkspaceNames,
    entity_table_base,
    junction_table_base,
    physical_identifier,
)
from metamodel.storage.tables import BigId, Stamp, column_type


def table_name(names: WorkspaceNames, entity: str) -> str:
    return names.table(entity_table_base(entity))


def junction_name(names: WorkspaceNames, entity: str, fld: str) -> str:
    return names.table(junction_table_base(entity, fld))


def _q(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(physical_identifier(name))


def qualified(conn: Connection, names: WorkspaceNames, table: str) -> str:
    """The quoted, schema-qualified physical name of ``table``."""
    return f"{_q(conn, names.schema)}.{_q(conn, table)}" if names.schema else _q(conn, table)


def probe_table(names: WorkspaceNames, entity: str, fields: Sequence[FieldDef], *,
                pipeline: bool = False) -> sa.Table:
    """A throw-away Table naming just ``id`` and ``fields``: enough to read or rewrite their values.

    Built fresh each time on its own MetaData, so it can never be a stale
    cached Table from another metadata version.
    """
    columns: list[sa.Column[object]] = [sa.Column("id", BigId, primary_key=True),
                                        sa.Column("deleted_at", Stamp)]
    if pipeline:
        columns += [sa.Column("pipeline", sa.String(63)), sa.Column("stage", sa.String(63)),
                    sa.Column("stage_entered_at", Stamp), sa.Column("version", sa.Integer),
                    sa.Column("updated_at", Stamp)]
    columns += [sa.Column(f.name, column_type(f)) for f in fields]
    return sa.Table(table_name(names, entity), sa.MetaData(), *columns, schema=names.schema)


def create_schema(conn: Connection, names: WorkspaceNames) -> None:
    if names.schema:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {_q(conn, names.schema)}")


def create_tables(conn: Connection, tables: Sequence[sa.Table]) -> None:
    """Create new tables (with their indexes); they are known not to exist yet."""
    if tables:
        tables[0].metadata.create_all(conn, tables=list(tables), checkfirst=False)


def add_column(conn: Connection, names: WorkspaceNames, entity: str, fld: FieldDef) -> None:
    """``ALTER TABLE ADD COLUMN``, with an inline foreign key for a reference (both dialects accept it)."""
    spec = f"{_q(conn, fld.name)} {column_type(fld).compile(dialect=conn.dialect)}"
    if fld.type is FieldType.REFERENCE and fld.to:
        spec += f" REFERENCES {qualified(conn, names, table_name(names, fld.to))} (id) ON DELETE SET NULL"
    conn.exec_driver_sql(f"ALTER TABLE {qualified(conn, names, table_name(names, entity))} ADD COLUMN {spec}")


def add_pipeline_columns(conn: Connection, names: WorkspaceNames, entity: str) -> None:
    table = qualified(conn, names, table_name(names, entity))
    stamp = Stamp.compile(dialect=conn.dialect)
    for column, sql_type in (("pipeline", "VARCHAR(63)"), ("stage", "VARCHAR(63)"),
                             ("stage_entered_at", stamp)):
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {_q(conn, column)} {sql_type}")
    base = entity_table_base(entity)
    conn.exec_driver_sql(f"CREATE INDEX {_q(conn, names.index('ix', base, 'stage'))} ON {table} "
                         f"({_q(conn, 'pipeline')}, {_q(conn, 'stage')})")


def rename_table(conn: Connection, names: WorkspaceNames, old: str, new: str) -> None:
    conn.exec_driver_sql(f"ALTER TABLE {qualified(conn, names, old)} RENAME TO {_q(conn, new)}")


def rename_column(conn: Connection, names: WorkspaceNames, entity: str, old: str, new: str) -> None:
    conn.exec_driver_sql(f"ALTER TABLE {qualified(conn, names, table_name(names, entity))} "
                         f"RENAME COLUMN {_q(conn, old)} TO {_q(conn, new)}")


def _expected_index_name(names: WorkspaceNames, base: str, columns: list[str], unique: bool) -> str:
    """The name ``build_tables`` would give this index today (the stage index is named after "stage")."""
    named = ["stage"] if columns == ["pipeline", "stage"] else columns
    return names.index("uq" if unique else "ix", base, *named)


def rename_indexes(conn: Connection, names: WorkspaceNames, table: str, base: str) -> None:
    """Give a renamed table's (or column's) indexes the names a fresh table would have.

    Index names are unique per schema (per database file on SQLite), so a stale
    ``ix_e_company_owner`` left on a renamed table would block a new entity
    called Company.  SQLite cannot rename an index: it is dropped and re-created.
    """
    for index in sa.inspect(conn).get_indexes(table, schema=names.schema):
        columns = [c for c in index["column_names"] if c is not None]
        old = index["name"]
        new = _expected_index_name(names, base, columns, bool(index["unique"]))
        if old is None or old == new:
            continue
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"ALTER INDEX {_q(conn, names.schema or '')}.{_q(conn, old)} "
                                 f"RENAME TO {_q(conn, new)}")
            continue
        conn.exec_driver_sql(f"DROP INDEX {_q(conn, old)}")
        unique = "UNIQUE " if index["unique"] else ""
        conn.exec_driver_sql(f"CREATE {unique}INDEX {_q(conn, new)} ON {qualified(conn, names, table)} "
                             f"({', '.join(_q(conn, c) for c in columns)})")


def index_kind(fld: FieldDef | None) -> str | None:
    """The index a field's column carries, as ``build_tables`` creates it: unique, plain or none."""
    if fld is None:
        return None
    if fld.unique:
        return "uq"
    return "ix" if fld.index or fld.type is FieldType.REFERENCE else None


def create_index(conn: Connection, names: WorkspaceNames, entity: str, column: str, kind: str) -> None:
    name = names.index(kind, entity_table_base(entity), column)
    unique = "UNIQUE " if kind == "uq" else ""
    conn.exec_driver_sql(f"CREATE {unique}INDEX {_q(conn, name)} "
                         f"ON {qualified(conn, names, table_name(names, entity))} ({_q(conn, column)})")


def drop_index(conn: Connection, names: WorkspaceNames, entity: str, column: str) -> None:
    """Drop the index or unique constraint on exactly ``column``, whatever it is called now."""
    table = table_name(names, entity)
    inspector = sa.inspect(conn)
    for unique in inspector.get_unique_constraints(table, schema=names.schema):
        if unique["column_names"] == [column] and unique["name"]:
            _drop_constraint(conn, names, table, unique["name"])
            return
    for index in inspector.get_indexes(table, schema=names.schema):
        if index["column_names"] == [column] and index["name"]:
            prefix = f"{_q(conn, names.schema)}." if names.schema else ""
            conn.exec_driver_sql(f"DROP INDEX {prefix}{_q(conn, index['name'])}")
            return


def _drop_constraint(conn: Connection, names: WorkspaceNames, table: str, name: str) -> None:
    if conn.dialect.name == "sqlite":
        with _batch(conn, table) as batch:
            batch.drop_constraint(name, type_="unique")
        return
    conn.exec_driver_sql(f"ALTER TABLE {qualified(conn, names, table)} DROP CONSTRAINT {_q(conn, name)}")


REBUILT = "stagecraft.rebuilt_tables"  # key in Connection.info: tables rebuilt by this transaction


def _batch(conn: Connection, table: str) -> AbstractContextManager[BatchOperations]:
    """A SQLite table rebuild (copy, drop, rename), noted so the apply checks foreign keys after."""
    conn.info.setdefault(REBUILT, set()).add(table)
    operations = Operations(MigrationContext.configure(connection=conn))
    return operations.batch_alter_table(table, recreate="always")


def retype_column(conn: Connection, names: WorkspaceNames, entity: str, fld: FieldDef) -> None:
    """Give ``fld``'s column its new SQL type, emptied: the caller writes the converted values.

    Values are converted in Python (SQL casts disagree between dialects and
    accept things like ``CAST('abc' AS INTEGER) = 0``), so the column is
    retyped without a cast and rewritten row by row afterwards.
    """
    new_type = column_type(fld)
    table = table_name(names, entity)
    if conn.dialect.name == "sqlite":
        with _batch(conn, table) as batch:
            batch.alter_column(fld.name, type_=new_type)
        return
    sql_type = new_type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE {qualified(conn, names, table)} ALTER COLUMN {_q(conn, fld.name)} "
                         f"TYPE {sql_type} USING NULL::{sql_type}")


def resize_column(conn: Connection, names: WorkspaceNames, entity: str, fld: FieldDef) -> None:
    """A new max_length: PostgreSQL changes the declared type; SQLite ignores lengths anyway."""
    if conn.dialect.name == "sqlite":
        return
    sql_type = column_type(fld).compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE {qualified(conn, names, table_name(names, entity))} "
                         f"ALTER COLUMN {_q(conn, fld.name)} TYPE {sql_type}")


def drop_table(conn: Connection, names: WorkspaceNames, table: str) -> None:
    """Drop a table; on PostgreSQL also the foreign keys of other archived tables that point at it."""
    cascade = " CASCADE" if conn.dialect.name == "postgresql" else ""
    conn.exec_driver_sql(f"DROP TABLE {qualified(conn, names, table)}{cascade}")


def drop_column(conn: Connection, names: WorkspaceNames, entity: str, column: str) -> None:
    """Drop an archived column (purge), after dropping what indexes it."""
    drop_index(conn, names, entity, column)
    table = table_name(names, entity)
    if conn.dialect.name == "sqlite":
        with _batch(conn, table) as batch:
            batch.drop_column(column)
        return
    conn.exec_driver_sql(f"ALTER TABLE {qualified(conn, names, table)} DROP COLUMN {_q(conn, column)}")
