"""Stage and pipeline removal: refused while records are there, unless move_records_to says where."""

from __future__ import annotations

import dataclasses
import textwrap
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.blueprint import parse_blueprint
from metamodel.definitions import Blueprint
from metamodel.errors import MigrationRefused
from metamodel.migrate import apply_blueprint, plan_blueprint
from metamodel.storage import system_tables
from metamodel.storage.catalog import load_workspace_meta

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

STAGES = """
entities:
  Deal:
    fields:
      title: {type: string}
    pipelines:
      sales:
        stages:
STAGES
"""
ALL = """\
          - {code: new}
          - {code: negotiation}
          - {code: invoice}
          - {code: won, kind: won}
"""
WITHOUT = ALL.replace("          - {code: negotiation}\n", "")
MOVED = WITHOUT + "          - {code: negotiation, move_records_to: invoice}\n"


def blueprint(stages: str) -> Blueprint:
    return parse_blueprint(textwrap.dedent(STAGES).replace("STAGES\n", stages))


def deals_in(engine: Engine, workspace: str, stage: str, count: int) -> None:
    table = load_workspace_meta(engine, workspace).tables.entity("Deal")
    with engine.begin() as conn:
        conn.execute(sa.insert(table), [{"created_at": NOW, "updated_at": NOW, "title": f"d{i}",
                                         "pipeline": "sales", "stage": stage, "stage_entered_at": NOW}
                                        for i in range(count)])


def stages(engine: Engine, workspace: str) -> list[str]:
    table = load_workspace_meta(engine, workspace).tables.entity("Deal")
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table.c.stage).order_by(table.c.id)).scalars())


def count(engine: Engine, table: sa.Table, workspace: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)
                                .where(table.c.workspace == workspace)).scalar_one())


def test_removing_a_stage_that_holds_records_is_refused_with_the_count(engine: Engine,
                                                                       workspace: str) -> None:
    apply_blueprint(engine, blueprint(ALL), workspace)
    deals_in(engine, workspace, "negotiation", 5)
    plan = plan_blueprint(engine, blueprint(WITHOUT), workspace)
    assert ("! Deal.stage negotiation: 5 records would be lost — add "
            "{code: negotiation, move_records_to: <stage>}") in plan.lines
    with pytest.raises(MigrationRefused) as refused:
        apply_blueprint(engine, blueprint(WITHOUT), workspace)
    assert refused.value.code == "MM.E302"
    assert stages(engine, workspace) == ["negotiation"] * 5


def test_removing_an_empty_stage_needs_no_marker(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(ALL), workspace)
    deals_in(engine, workspace, "new", 1)
    assert apply_blueprint(engine, blueprint(WITHOUT), workspace).version == 2


def test_move_records_to_moves_them_with_history_and_one_event_each(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(ALL), workspace)
    deals_in(engine, workspace, "negotiation", 2)
    deals_in(engine, workspace, "new", 1)
    plan = plan_blueprint(engine, blueprint(MOVED), workspace)
    assert "- Deal.stage negotiation: remove (2 records move to invoice)" in plan.lines
    apply_blueprint(engine, blueprint(MOVED), workspace)
    assert stages(engine, workspace) == ["invoice", "invoice", "new"]
    assert count(engine, system_tables.outbox, workspace) == 2
    assert count(engine, system_tables.stage_history, workspace) == 2
    assert count(engine, system_tables.record_history, workspace) == 2
    assert apply_blueprint(engine, blueprint(MOVED), workspace).changed is False


def test_move_to_a_stage_that_does_not_exist_is_refused(engine: Engine, workspace: str) -> None:
    """The checker reports it first; the planner refuses it too for definitions built in code."""
    apply_blueprint(engine, blueprint(ALL), workspace)
    deals_in(engine, workspace, "negotiation", 1)
    bp = blueprint(MOVED)
    deal = bp.entities[0]
    pipeline = deal.pipelines[0]
    marker = dataclasses.replace(pipeline.removed_stages[0], move_records_to="nowhere")
    pipeline = dataclasses.replace(pipeline, removed_stages=(marker,))
    bad = dataclasses.replace(bp, entities=(dataclasses.replace(deal, pipelines=(pipeline,)),))
    with pytest.raises(MigrationRefused) as refused:
        apply_blueprint(engine, bad, workspace)
    assert refused.value.code == "MM.E311"


def test_removing_a_pipeline_that_holds_records_is_refused(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(ALL), workspace)
    deals_in(engine, workspace, "new", 1)
    no_pipeline = parse_blueprint("entities:\n  Deal:\n    fields:\n      title: {type: string}\n")
    with pytest.raises(MigrationRefused) as refused:
        apply_blueprint(engine, no_pipeline, workspace)
    assert refused.value.code == "MM.E303"


def test_adding_a_pipeline_puts_existing_records_in_its_first_stage(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, parse_blueprint("entities:\n  Deal:\n    fields:\n      title: {type: string}\n"),
                    workspace)
    table = load_workspace_meta(engine, workspace).tables.entity("Deal")
    with engine.begin() as conn:
        conn.execute(sa.insert(table).values(created_at=NOW, updated_at=NOW, title="a"))
    apply_blueprint(engine, blueprint(ALL), workspace)
    assert stages(engine, workspace) == ["new"]
