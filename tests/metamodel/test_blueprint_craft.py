"""Loading a blueprint checks its .craft files against it and lists their errors with the YAML's."""

from __future__ import annotations

from pathlib import Path

import pytest

from metamodel.blueprint import check_blueprint_path, check_blueprint_text, load_blueprint, parse_blueprint
from metamodel.errors import BlueprintInvalid

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


def places(problems: list) -> list[tuple[str, str, int, int]]:  # type: ignore[type-arg]
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
