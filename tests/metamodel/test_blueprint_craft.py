"""Loading a blueprint checks its .craft files against it and lists their errors with the YAML's;
applying one lists and protects what its automations use."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from metamodel.blueprint import check_blueprint_path, check_blueprint_text, load_blueprint, parse_blueprint
from metamodel.errors import BlueprintInvalid, MigrationRefused, Problem
from metamodel.migrate import apply_blueprint, apply_blueprint_path, plan_blueprint_path
from metamodel.storage.catalog import load_workspace_meta

YAML = """\
entities:
  Deal:
    fields:
      title: {type: string}
      amount: {type: money}
    pipelines:
      sales:
        stages: [{code: new, name: New}, {code: won, name: Won, kind: won}]
automations:
  - automations/deals.craft
"""

GOOD = 'automation "Big deal"\nwhen Deal created where amount > 100\ndo\n  move to stage won\nend\n'


def blueprint_dir(tmp_path: Path, yaml: str = YAML, **files: str) -> Path:
    (tmp_path / "blueprint.yaml").write_text(yaml, encoding="utf-8")
    (tmp_path / "automations").mkdir()
    for name, text in (files or {"deals": GOOD}).items():
        (tmp_path / "automations" / f"{name}.craft").write_text(text, encoding="utf-8")
    return tmp_path


def places(problems: list[Problem]) -> list[tuple[str, str, int, int]]:
    return [(Path(p.place.file).name, p.code, p.place.line, p.place.col) for p in problems]


def test_automations_that_fit_the_blueprint_load(tmp_path: Path) -> None:
    assert load_blueprint(blueprint_dir(tmp_path)).automations == ("automations/deals.craft",)


def test_unknown_field_in_a_craft_file_is_a_blueprint_problem(tmp_path: Path) -> None:
    path = blueprint_dir(tmp_path, deals=GOOD.replace("amount", "ammount"))
    assert places(check_blueprint_path(path)) == [("deals.craft", "E_UNKNOWN_FIELD", 2, 25)]


def test_craft_problem_names_the_file_as_the_yaml_is_named(tmp_path: Path) -> None:
    path = blueprint_dir(tmp_path, deals=GOOD.replace("amount", "ammount"))
    problem = check_blueprint_path(path)[0]
    assert problem.place.file == str(path / "automations" / "deals.craft")


def test_craft_problem_prints_place_code_message_and_suggestion(tmp_path: Path) -> None:
    path = blueprint_dir(tmp_path, deals=GOOD.replace("amount", "ammount"))
    text = str(check_blueprint_path(path)[0])
    assert text.startswith(f"{path / 'automations' / 'deals.craft'}:2:25 E_UNKNOWN_FIELD ")
    assert text.endswith('— did you mean "amount"?')


def test_unknown_stage_in_a_craft_file_is_a_blueprint_problem(tmp_path: Path) -> None:
    path = blueprint_dir(tmp_path, deals=GOOD.replace("stage won", "stage wonn"))
    assert places(check_blueprint_path(path)) == [("deals.craft", "E_UNKNOWN_STAGE", 4, 17)]


def test_syntax_errors_and_yaml_problems_come_in_one_list(tmp_path: Path) -> None:
    yaml = YAML.replace("amount: {type: money}", "amount: {type: monney}")
    path = blueprint_dir(tmp_path, yaml, deals='automation "x" when Deal created\n  stop\nend\n')
    assert sorted(code for _, code, _, _ in places(check_blueprint_path(path))) == ["E_SYNTAX", "MM.E108"]


def test_every_file_is_checked_and_names_are_unique_across_files(tmp_path: Path) -> None:
    yaml = YAML + "  - automations/more.craft\n"
    path = blueprint_dir(tmp_path, yaml, deals=GOOD, more=GOOD)
    assert places(check_blueprint_path(path)) == [("more.craft", "E_DUPLICATE_NAME", 1, 12)]


def test_start_process_may_name_a_process_of_another_file(tmp_path: Path) -> None:
    yaml = YAML + "  - automations/process.craft\n"
    starter = 'automation "go" when Deal created do\n  start process "Close"\nend\n'
    process = 'process "Close" for Deal\n  move to stage won\nend\n'
    assert check_blueprint_path(blueprint_dir(tmp_path, yaml, deals=starter, process=process)) == []


def test_load_refuses_a_blueprint_whose_automation_does_not_check(tmp_path: Path) -> None:
    path = blueprint_dir(tmp_path, deals=GOOD.replace("Deal", "Dael"))
    with pytest.raises(BlueprintInvalid) as caught:
        load_blueprint(path)
    assert [p.code for p in caught.value.problems] == ["E_UNKNOWN_ENTITY"]


def test_text_checked_with_a_base_directory_checks_its_craft_files(tmp_path: Path) -> None:
    blueprint_dir(tmp_path, deals=GOOD.replace("amount", "ammount"))
    assert [p.code for p in check_blueprint_text(YAML, base_dir=tmp_path)] == ["E_UNKNOWN_FIELD"]


def test_text_without_a_directory_checks_no_craft_file() -> None:
    assert parse_blueprint(YAML).automations == ("automations/deals.craft",)


def test_missing_craft_file_is_reported_once_not_also_as_a_language_error(tmp_path: Path) -> None:
    (tmp_path / "blueprint.yaml").write_text(YAML, encoding="utf-8")
    assert [p.code for p in check_blueprint_path(tmp_path)] == ["MM.E107"]


# --- applying: automations are dependants of the fields and stages they use ---

ORDERS = """\
workspace: shop
entities:
  Order:
    fields:
      title: {type: string}
      amount: {type: money}
    pipelines:
      orders:
        stages:
          - {code: new, name: New}
          - {code: awaiting_payment, name: Awaiting payment}
          - {code: paid, name: Paid, kind: won}
automations:
  - automations/orders.craft
"""

REMINDER = """\
automation "Payment reminder"
when Order entered stage awaiting_payment
do
  wait 3 days until stage != awaiting_payment
  notify owner "Order {title} for {amount} is still waiting"
end
"""

WITHOUT_STAGE = ORDERS.replace("          - {code: awaiting_payment, name: Awaiting payment}\n", "")
LATER_REMINDER = REMINDER.replace("entered stage awaiting_payment", "entered stage new").replace(
    "stage != awaiting_payment", "stage != new")


def shop(tmp_path: Path, yaml: str = ORDERS, reminder: str = REMINDER) -> Path:
    (tmp_path / "blueprint.yaml").write_text(yaml, encoding="utf-8")
    (tmp_path / "automations").mkdir(exist_ok=True)
    (tmp_path / "automations" / "orders.craft").write_text(reminder, encoding="utf-8")
    return tmp_path


def version_of(engine: Engine, workspace: str) -> int:
    return load_workspace_meta(engine, workspace).version


def test_plan_lists_the_automation_using_a_renamed_field(engine: Engine, workspace: str,
                                                         tmp_path: Path) -> None:
    apply_blueprint_path(engine, shop(tmp_path), workspace)
    renamed = ORDERS.replace("amount: {type: money}", "total: {type: money, renamed_from: amount}")
    [plan] = plan_blueprint_path(engine, shop(tmp_path, renamed, REMINDER.replace("{amount}", "{total}")),
                                 workspace)
    assert ('    used by automation "Payment reminder" (automations/orders.craft:1) (Order.amount is renamed)'
            in plan.lines)
    assert plan.refusals == []


def test_plan_lists_the_automation_using_a_removed_stage(engine: Engine, workspace: str,
                                                         tmp_path: Path) -> None:
    apply_blueprint_path(engine, shop(tmp_path), workspace)
    [plan] = plan_blueprint_path(engine, shop(tmp_path, WITHOUT_STAGE, LATER_REMINDER), workspace)
    assert ('    used by automation "Payment reminder" (automations/orders.craft:1) '
            "(stage awaiting_payment is removed)") in plan.lines


def test_removing_a_stage_an_automation_still_uses_is_refused_at_load(engine: Engine, workspace: str,
                                                                      tmp_path: Path) -> None:
    apply_blueprint_path(engine, shop(tmp_path), workspace)
    with pytest.raises(BlueprintInvalid) as refused:
        apply_blueprint_path(engine, shop(tmp_path, WITHOUT_STAGE), workspace)
    assert places(list(refused.value.problems)) == [("orders.craft", "E_UNKNOWN_STAGE", 2, 26),
                                                    ("orders.craft", "E_UNKNOWN_STAGE", 4, 30)]
    assert version_of(engine, workspace) == 1


def test_removing_a_stage_a_stored_automation_uses_is_refused_by_the_plan(engine: Engine, workspace: str,
                                                                          tmp_path: Path) -> None:
    """A blueprint given as an object (an export, the API) keeps the stored .craft files."""
    apply_blueprint_path(engine, shop(tmp_path), workspace)
    with pytest.raises(MigrationRefused) as refused:
        apply_blueprint(engine, parse_blueprint(WITHOUT_STAGE), workspace)
    first = refused.value.problems[0]
    assert (first.code, first.place.file, first.place.line) == ("MM.E308", "automations/orders.craft", 2)
    assert "E_UNKNOWN_STAGE" in first.message
    assert version_of(engine, workspace) == 1


def test_an_unchanged_blueprint_with_automations_plans_nothing(engine: Engine, workspace: str,
                                                               tmp_path: Path) -> None:
    apply_blueprint_path(engine, shop(tmp_path), workspace)
    assert plan_blueprint_path(engine, shop(tmp_path), workspace)[0].is_empty
