"""Refusals show short examples of stored values; restoring an archived entity restores it as it was."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.blueprint import parse_blueprint
from metamodel.definitions import Blueprint
from metamodel.errors import MigrationRefused
from metamodel.migrate import apply_blueprint, plan_blueprint
from metamodel.storage.catalog import load_workspace_meta

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HUGE = "x" * 100_000

DEAL = """
entities:
  Deal:
    fields:
      title: {type: string, required: true, max_length: 200}
      note:  {type: string}
      kind:  {type: enum, options: [a, b]}
"""
CAR_ONLY = """
entities:
  Car:
    fields:
      plate: {type: string}
"""


def blueprint(text: str) -> Blueprint:
    return parse_blueprint(textwrap.dedent(text))


def with_note(definition: str) -> str:
    return DEAL.replace("note:  {type: string}", f"note:  {definition}")


def insert(engine: Engine, workspace: str, entity: str, **values: Any) -> None:
    table = load_workspace_meta(engine, workspace).tables.entity(entity)
    with engine.begin() as conn:
        conn.execute(sa.insert(table).values({"created_at": NOW, "updated_at": NOW, **values}))


def refusal(engine: Engine, workspace: str, text: str) -> str:
    with pytest.raises(MigrationRefused) as caught:
        apply_blueprint(engine, blueprint(text), workspace)
    [problem] = caught.value.problems
    return f"{problem.code} {problem.message}"


def test_a_value_that_does_not_convert_is_shown_cut_to_40_characters(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(DEAL), workspace)
    insert(engine, workspace, "Deal", title="A", note=HUGE)
    shown = refusal(engine, workspace, DEAL.replace("note:  {type: string}", "note:  {type: integer}"))
    assert shown.startswith("MM.E301 ")
    assert f'"{"x" * 39}…"' in shown and len(shown) < 200


def test_a_value_longer_than_a_lowered_max_length_is_shown_cut(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(with_note("{type: text}")), workspace)
    insert(engine, workspace, "Deal", title="A", note=HUGE)
    shown = refusal(engine, workspace, with_note("{type: text, max_length: 5}"))
    assert shown.startswith("MM.E306 ") and len(shown) < 200


def test_a_short_value_is_shown_whole(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(DEAL), workspace)
    insert(engine, workspace, "Deal", title="A", note="twelve")
    shown = refusal(engine, workspace, DEAL.replace("note:  {type: string}", "note:  {type: integer}"))
    assert '"twelve"' in shown


def test_restoring_an_archived_entity_does_not_make_its_required_fields_required_again(
        engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(DEAL), workspace)
    apply_blueprint(engine, blueprint(CAR_ONLY), workspace)
    both = DEAL + textwrap.dedent(CAR_ONLY).split("entities:\n", 1)[1]
    plan = plan_blueprint(engine, blueprint(both), workspace)
    assert plan.lines == ["+ Deal: restore archived entity (data kept)"] + [
        f"+ Deal.{name}: restore archived field (data kept)" for name in ("title", "note", "kind")]


def test_a_field_archived_before_its_entity_is_checked_again_on_restore(engine: Engine,
                                                                        workspace: str) -> None:
    apply_blueprint(engine, blueprint(DEAL), workspace)
    apply_blueprint(engine, blueprint(DEAL.replace("      title: {type: string, required: true, "
                                                   "max_length: 200}\n", "")), workspace)
    insert(engine, workspace, "Deal", note="written while title was archived")
    apply_blueprint(engine, blueprint(CAR_ONLY), workspace)
    shown = refusal(engine, workspace, DEAL + textwrap.dedent(CAR_ONLY).split("entities:\n", 1)[1])
    assert shown.startswith("MM.E305 Deal.title: 1 records have no value")
