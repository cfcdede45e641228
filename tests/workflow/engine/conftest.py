"""A simulation of the spec-language example workspace on each database (the engine's test bed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from metamodel.migrate import apply_blueprint_path
from workflow.simulation import Simulation

SPEC_EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "spec-language"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def sim(engine: Engine, workspace: str) -> Simulation:
    apply_blueprint_path(engine, SPEC_EXAMPLES, workspace)
    return Simulation(engine, workspace, START)


TICKETS = """
workspace: guarantees
entities:
  Ticket:
    fields:
      title:   {type: string, required: true, max_length: 200}
      hits:    {type: integer, default: 0}
      email:   {type: email}
      rating:  {type: integer, max: 5}
      due:     {type: date}
    pipelines:
      flow:
        stages:
          - {code: new, name: New}
          - {code: doing, name: Doing}
          - {code: done, name: Done, kind: won}
automations: [rules.craft]
"""


@pytest.fixture
def make_sim(engine: Engine, workspace: str, tmp_path: Path) -> Callable[[str], Simulation]:
    """Apply a Ticket blueprint with ``craft`` as its rules (again: a new version) and simulate it."""
    def make(craft: str) -> Simulation:
        (tmp_path / "blueprint.yaml").write_text(TICKETS, encoding="utf-8")
        (tmp_path / "rules.craft").write_text(craft, encoding="utf-8")
        apply_blueprint_path(engine, tmp_path, workspace)
        return Simulation(engine, workspace, START)
    return make
