"""Workspace names: hyphenated workspaces work on both databases; names can never collide.

A workspace is a PostgreSQL schema ``ws_<name>`` (quoted, so ``-`` is fine)
or, on SQLite, the table prefix ``<name>__``: a name holding ``__`` or ending
in ``_``/``-`` is refused so no workspace can own another's table names.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from metamodel.blueprint import check_blueprint_text, parse_blueprint
from metamodel.blueprint.format_schema import blueprint_format_schema
from metamodel.clock import ManualClock
from metamodel.migrate import apply_blueprint, export_workspace, purge_workspace, write_export
from metamodel.records import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.naming import (
    UnsafeIdentifier,
    check_workspace_name,
    is_workspace_name,
    physical_identifier,
    workspace_names,
    workspace_schema_name,
)
from tests.metamodel.records.conftest import START

V1 = """
entities:
  Deal:
    fields:
      title: {type: string, required: true}
      legacy: {type: string, unique: true}
      partners: {type: many, to: Deal}
"""
V2 = """
entities:
  Deal:
    fields:
      title: {type: string, required: true}
"""


@pytest.fixture
def hyphenated(workspace: str) -> str:
    """A unique workspace name with a hyphen, like the examples' ``acme-furniture``."""
    return f"acme-{workspace}"


def test_a_hyphenated_workspace_applies_stores_exports_and_purges(
        engine: Engine, hyphenated: str, tmp_path: Path) -> None:
    apply_blueprint(engine, parse_blueprint(textwrap.dedent(V1)), hyphenated)
    store = RecordStore(engine, load_workspace_meta(engine, hyphenated), ManualClock(START))
    created = store.create("Deal", {"title": "Sofa", "legacy": "x"})
    assert store.get("Deal", created["id"])["title"] == "Sofa"
    assert export_workspace(engine, hyphenated)["entities"]["Deal"]["fields"]["title"]["required"] is True
    assert write_export(engine, hyphenated, tmp_path).exists()
    apply_blueprint(engine, parse_blueprint(textwrap.dedent(V2)), hyphenated)
    assert sorted(purge_workspace(engine, hyphenated)) == [
        "dropped archived field Deal.legacy (column and data)",
        "dropped archived field Deal.partners (link table and data)"]


def test_a_hyphenated_workspace_lives_in_its_own_schema(engine: Engine, hyphenated: str) -> None:
    apply_blueprint(engine, parse_blueprint(textwrap.dedent(V2)), hyphenated)
    names = workspace_names(hyphenated, engine.dialect.name)
    assert names.table("e_deal") in sa.inspect(engine).get_table_names(schema=names.schema)
    if engine.dialect.name == "postgresql":
        assert names.schema == f"ws_{hyphenated}"


@pytest.mark.parametrize("name", ["a__b", "a_", "a-", "acme__e_deal", "A", "1a", "a" * 41, "a b"])
def test_workspace_names_that_could_collide_or_are_unsafe_are_refused(name: str) -> None:
    with pytest.raises(UnsafeIdentifier) as caught:
        check_workspace_name(name)
    assert caught.value.code == "MM.E003"


@pytest.mark.parametrize("name", ["a", "acme-furniture", "a_b", "a-b-c", "a1"])
def test_workspace_names_with_single_separators_are_accepted(name: str) -> None:
    assert check_workspace_name(name) == name


@pytest.mark.parametrize("name", ["a__b", "a_", "a-"])
def test_the_blueprint_checker_refuses_ambiguous_workspace_names(name: str) -> None:
    problems = check_blueprint_text(yaml.safe_dump({"workspace": name, "entities": {"A": {"fields": {
        "n": {"type": "string"}}}}}))
    assert [p.code for p in problems] == ["MM.E134"]


def test_the_blueprint_checker_accepts_a_hyphenated_workspace() -> None:
    assert check_blueprint_text("workspace: acme-furniture\nentities:\n  A:\n    fields:\n"
                                "      n: {type: string}\n") == []


def test_physical_names_allow_the_workspace_alphabet_only_in_the_workspace_part() -> None:
    assert physical_identifier("acme-furniture__e_deal") == "acme-furniture__e_deal"
    assert physical_identifier(workspace_schema_name("acme-furniture")) == "ws_acme-furniture"
    for bad in ("e-deal", "acme-furniture__e-deal", "a-__e_deal", 'ws_a"b', "ws_a-"):
        with pytest.raises(UnsafeIdentifier):
            physical_identifier(bad)


def test_a_workspace_owns_only_its_own_sqlite_tables() -> None:
    names = workspace_names("a", "sqlite")
    assert names.owns("a__e_deal")
    assert not names.owns("a_b__e_deal")
    assert not names.owns("ab__e_deal")


@pytest.mark.parametrize("name", ["a", "acme-furniture", "a_b-c", "a" * 40, "a__b", "a_", "a-", "A", "1a",
                                  "a" * 41, "a-_b"])
def test_the_editor_schema_and_the_checker_agree_on_workspace_names(name: str) -> None:
    pattern = blueprint_format_schema()["properties"]["workspace"]["pattern"]
    assert bool(re.search(pattern, name)) == is_workspace_name(name)
