"""Export writes the applied blueprint back out; applying an export plans nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine

from metamodel.blueprint import load_blueprint, parse_blueprint
from metamodel.definitions import Blueprint, EntityDef, FieldDef, FieldType
from metamodel.errors import WorkspaceNotFound
from metamodel.migrate import apply_blueprint, export_workspace, plan_blueprint, write_export
from metamodel.serialize import blueprint_to_dict

SPEC_EXAMPLE = Path(__file__).parent / "fixtures" / "spec_example"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def round_trip(bp: Blueprint) -> Blueprint:
    return parse_blueprint(yaml.safe_dump(blueprint_to_dict(bp), sort_keys=False))


def test_the_spec_example_survives_dict_yaml_and_parse_unchanged() -> None:
    bp = load_blueprint(SPEC_EXAMPLE)
    assert round_trip(bp) == bp


def test_defaults_of_every_kind_survive_the_round_trip() -> None:
    bp = Blueprint(entities=(EntityDef("Deal", "Deal", "deals", (
        FieldDef("price", FieldType.DECIMAL, label="price", default=Decimal("0.1"), has_default=True),
        FieldDef("due_on", FieldType.DATE, label="due_on", default=date(2026, 3, 1), has_default=True),
        FieldDef("starts_at", FieldType.DATETIME, label="starts_at",
                 default=datetime(2026, 3, 1, 9, tzinfo=UTC),
                 has_default=True),
        FieldDef("tags", FieldType.TAGS, label="tags", default=["a", "b"], has_default=True),
        FieldDef("paid", FieldType.BOOLEAN, label="paid", default=False, has_default=True),
    )),))
    assert round_trip(bp) == bp


def test_zero_bounds_and_probabilities_survive_the_round_trip() -> None:
    bp = parse_blueprint(
        "entities:\n  Deal:\n    fields:\n"
        "      amount: {type: money, currency: EUR, min: 0, max: 0}\n"
        "      score: {type: integer, min: -5, max: 0, default: 0}\n"
        "    pipelines:\n      sales:\n        stages:\n"
        "          - {code: new, probability: 0}\n          - {code: won, kind: won}\n")
    assert round_trip(bp) == bp


@pytest.mark.parametrize("example", sorted(p.parent for p in EXAMPLES.glob("*/blueprint.yaml")),
                         ids=lambda p: p.name)
def test_every_example_blueprint_survives_the_round_trip(example: Path) -> None:
    bp = load_blueprint(example)
    assert round_trip(bp) == bp


def test_defaults_equal_to_the_format_defaults_are_left_out() -> None:
    bp = parse_blueprint("entities:\n  Deal:\n    label: Deal\n    fields:\n"
                         "      title: {type: string, label: title, required: false}\n")
    assert blueprint_to_dict(bp) == {"entities": {"Deal": {"fields": {"title": {"type": "string"}}}}}


def test_applying_an_export_plans_nothing(engine: Engine, workspace: str, tmp_path: Path) -> None:
    apply_blueprint(engine, load_blueprint(SPEC_EXAMPLE), workspace)
    path = write_export(engine, workspace, tmp_path / "out")
    exported = load_blueprint(path.parent)
    assert exported.workspace == workspace
    assert plan_blueprint(engine, exported, workspace).is_empty


def test_an_export_carries_the_craft_files_of_the_blueprint(engine: Engine, workspace: str,
                                                             tmp_path: Path) -> None:
    apply_blueprint(engine, load_blueprint(SPEC_EXAMPLE), workspace)
    out = write_export(engine, workspace, tmp_path / "out").parent
    craft = "automations/deals.craft"
    assert (out / craft).read_text(encoding="utf-8") == (SPEC_EXAMPLE / craft).read_text(encoding="utf-8")


def test_a_changed_craft_file_is_a_plan_line(engine: Engine, workspace: str, tmp_path: Path) -> None:
    apply_blueprint(engine, load_blueprint(SPEC_EXAMPLE), workspace)
    out = write_export(engine, workspace, tmp_path / "out").parent
    with (out / "automations" / "deals.craft").open("a", encoding="utf-8") as craft:
        craft.write("\n# a comment\n")
    lines = plan_blueprint(engine, load_blueprint(out), workspace).lines
    assert lines == ["~ automation automations/deals.craft: change"]


def test_exporting_an_unknown_workspace_is_not_found(engine: Engine) -> None:
    with pytest.raises(WorkspaceNotFound):
        export_workspace(engine, "nosuchworkspace")


@pytest.mark.parametrize("example", sorted(p.parent for p in EXAMPLES.glob("*/blueprint.yaml")),
                         ids=lambda p: p.name)
def test_applying_an_example_twice_plans_nothing_the_second_time(engine: Engine, workspace: str,
                                                                  example: Path) -> None:
    bp = load_blueprint(example)
    apply_blueprint(engine, bp, workspace)
    again = plan_blueprint(engine, bp, workspace)
    assert again.is_empty, again.lines
