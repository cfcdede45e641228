from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.db import create_engine_for
from metamodel.definitions import Blueprint, EntityDef, FieldDef, FieldType, PipelineDef, StageDef
from metamodel.storage import system_tables
from metamodel.storage.naming import UnsafeIdentifier, constraint_name, safe_identifier, workspace_names
from metamodel.storage.tables import build_tables, tables_for

BLUEPRINT = Blueprint(entities=(
    EntityDef("Company", "Company", "companies", (FieldDef("name", FieldType.STRING, unique=True),)),
    EntityDef("Deal", "Deal", "deals", (
        FieldDef("title", FieldType.STRING, max_length=200),
        FieldDef("company", FieldType.REFERENCE, to="Company"),
        FieldDef("partners", FieldType.MANY, to="Company"),
    ), (PipelineDef("sales", "Sales", (StageDef("new", "New"),)),)),
))


def test_platform_tables_match_alembic_head(engine: Engine) -> None:
    inspector = sa.inspect(engine)
    for table in system_tables.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name


def test_workspaces_are_isolated_by_schema_or_prefix(engine: Engine, workspace: str) -> None:
    names = workspace_names(workspace, engine.dialect.name)
    tables = build_tables(BLUEPRINT, names)
    with engine.begin() as conn:
        if names.schema:
            conn.execute(sa.schema.CreateSchema(names.schema))
        tables.metadata.create_all(conn)
    created = set(sa.inspect(engine).get_table_names(schema=names.schema))
    assert {t.name for t in tables.metadata.sorted_tables} <= created
    assert all(workspace in t.fullname for t in tables.metadata.sorted_tables)


def test_tables_are_cached_per_metadata_version() -> None:
    first = tables_for("cachews", 1, "sqlite", BLUEPRINT)
    assert tables_for("cachews", 1, "sqlite", BLUEPRINT) is first
    assert tables_for("cachews", 2, "sqlite", BLUEPRINT) is not first


@pytest.mark.parametrize("bad", ["drop table x;--", "a b", "", "x" * 64, "naïve"])
def test_unsafe_identifiers_are_refused(bad: str) -> None:
    with pytest.raises(UnsafeIdentifier):
        safe_identifier(bad)


def test_long_constraint_names_are_shortened_deterministically() -> None:
    name = constraint_name("ix", "e_" + "a" * 55, "field_name")
    assert len(name.encode()) <= 63
    assert name == constraint_name("ix", "e_" + "a" * 55, "field_name")
    assert name != constraint_name("ix", "e_" + "a" * 55, "other_field")


def test_sqlite_connections_sync_every_commit_and_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'durable.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_the_same_version_with_another_blueprint_gets_its_own_tables() -> None:
    first = tables_for("digestws", 1, "sqlite", BLUEPRINT, "aaaa")

    assert tables_for("digestws", 1, "sqlite", BLUEPRINT, "bbbb") is not first
    assert tables_for("digestws", 1, "sqlite", BLUEPRINT, "aaaa") is first
