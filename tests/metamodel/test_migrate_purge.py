"""Purge drops archived fields and entities and deleted records past retention, and says what went."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.blueprint import parse_blueprint
from metamodel.clock import ManualClock
from metamodel.migrate import apply_blueprint, purge_workspace
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.naming import workspace_names

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
V1 = """
entities:
  Deal:
    fields:
      title: {type: string}
      legacy: {type: string, unique: true}
      partners: {type: many, to: Car}
  Car:
    fields:
      plate: {type: string}
"""
V2 = """
entities:
  Deal:
    fields:
      title: {type: string}
"""


def columns(engine: Engine, workspace: str, entity: str) -> set[str]:
    names = workspace_names(workspace, engine.dialect.name)
    return {c["name"] for c in sa.inspect(engine).get_columns(names.table("e_" + entity.lower()),
                                                              schema=names.schema)}


def test_purge_drops_archived_columns_and_tables_and_lists_them(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, parse_blueprint(textwrap.dedent(V1)), workspace)
    apply_blueprint(engine, parse_blueprint(textwrap.dedent(V2)), workspace)
    dropped = purge_workspace(engine, workspace)
    assert sorted(dropped) == ["dropped archived entity Car (table and data)",
                               "dropped archived field Deal.legacy (column and data)",
                               "dropped archived field Deal.partners (link table and data)"]
    assert "legacy" not in columns(engine, workspace, "Deal")
    meta = load_workspace_meta(engine, workspace)
    assert (meta.archived_fields, meta.archived_entities, meta.version) == ((), (), 3)
    assert purge_workspace(engine, workspace) == []


def test_purge_removes_deleted_records_older_than_the_retention(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, parse_blueprint(textwrap.dedent(V2)), workspace)
    table = load_workspace_meta(engine, workspace).tables.entity("Deal")
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [
            {"created_at": NOW, "updated_at": NOW, "title": "old", "deleted_at": NOW - timedelta(days=40)},
            {"created_at": NOW, "updated_at": NOW, "title": "recent", "deleted_at": NOW - timedelta(days=3)},
            {"created_at": NOW, "updated_at": NOW, "title": "alive", "deleted_at": None}])
    purged = purge_workspace(engine, workspace, older_than_days=30, clock=ManualClock(NOW))
    assert purged == ["purged 1 deleted Deal records older than 30 days"]
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.select(table.c.title)).scalars()) == ["alive", "recent"]


def test_purge_after_an_entity_rename_drops_what_was_archived_under_the_old_name(
        engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, parse_blueprint(textwrap.dedent(V1)), workspace)
    without = textwrap.dedent(V1).replace("      legacy: {type: string, unique: true}\n", "").replace(
        "      partners: {type: many, to: Car}\n", "")
    apply_blueprint(engine, parse_blueprint(without), workspace)
    renamed = without.replace("  Deal:\n", "  Sale:\n    renamed_from: Deal\n")
    apply_blueprint(engine, parse_blueprint(renamed), workspace)
    assert sorted(purge_workspace(engine, workspace)) == [
        "dropped archived field Sale.legacy (column and data)",
        "dropped archived field Sale.partners (link table and data)"]
