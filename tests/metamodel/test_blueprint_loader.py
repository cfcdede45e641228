"""Loading blueprints: the spec example, defaults of the format, files and directories."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from metamodel.blueprint import check_blueprint_path, check_blueprint_text, load_blueprint, parse_blueprint
from metamodel.definitions import FieldType, RollupAgg, StageKind
from metamodel.errors import BlueprintInvalid

FIXTURES = Path(__file__).parent / "fixtures"
SPEC_EXAMPLE = FIXTURES / "spec_example"


def problems_of(text: str) -> list[tuple[str, int, int]]:
    with pytest.raises(BlueprintInvalid) as caught:
        parse_blueprint(text)
    return [(p.code, p.place.line, p.place.col) for p in caught.value.problems]


def test_spec_example_loads() -> None:
    bp = load_blueprint(SPEC_EXAMPLE)
    assert bp.workspace == "acme-furniture"
    assert [e.name for e in bp.entities] == ["Company", "Contact", "Deal", "Car"]
    assert [r.name for r in bp.roles] == ["manager", "analyst"]
    assert [u.email for u in bp.users] == ["anna@acme.test", "oleg@acme.test"]
    assert bp.groups[0].members == ("anna@acme.test", "oleg@acme.test")
    assert bp.forms[0].map == (("name", "full_name"), ("phone", "phone"), ("email", "email"))
    assert bp.automations == ("automations/deals.craft",)


def test_spec_example_has_no_problems() -> None:
    assert check_blueprint_path(SPEC_EXAMPLE) == []


def test_spec_example_fields_are_typed() -> None:
    deal = load_blueprint(SPEC_EXAMPLE).get_entity("Deal")
    assert deal.get_field("amount").type is FieldType.MONEY
    assert deal.get_field("amount").currency == "RUB"
    assert deal.get_field("contact").to == "Contact"
    assert deal.get_field("contact").inverse == "deals"
    assert deal.get_field("margin").returns is FieldType.MONEY


def test_spec_example_rollup_is_built() -> None:
    won_total = load_blueprint(SPEC_EXAMPLE).get_entity("Contact").get_field("won_total")
    assert (won_total.of, won_total.agg, won_total.rollup_field) == ("deals", RollupAgg.SUM, "amount")
    assert won_total.where == "stage.kind == won"


def test_spec_example_pipeline_stages() -> None:
    sales = load_blueprint(SPEC_EXAMPLE).get_entity("Deal").pipelines[0]
    assert sales.code == "sales" and sales.label == "Sales"
    assert sales.stage_codes() == ("new", "negotiation", "invoice", "won", "lost")
    assert [s.kind for s in sales.stages] == [StageKind.OPEN] * 3 + [StageKind.WON, StageKind.LOST]
    assert sales.stages[1].probability == 30


def test_records_own_sets_own_records_only() -> None:
    bp = load_blueprint(SPEC_EXAMPLE)
    manager = bp.find_role("manager")
    assert manager is not None and manager.own_records_only
    assert not bp.roles[1].own_records_only
    assert bp.roles[1].hidden_fields("Contact") == frozenset({"phone", "email"})


def test_label_defaults_to_name() -> None:
    bp = load_blueprint(SPEC_EXAMPLE)
    assert bp.get_entity("Car").label == "Car"
    assert bp.get_entity("Car").get_field("plate").label == "plate"


@pytest.mark.parametrize(("entity", "plural"), [
    ("Company", "companies"), ("PurchaseRequest", "purchaseRequests"), ("Person", "persons"),
    ("Box", "boxes"), ("Day", "days"),
])
def test_plural_is_derived(entity: str, plural: str) -> None:
    bp = parse_blueprint(f"entities:\n  {entity}:\n    fields: {{}}\n")
    assert bp.entities[0].plural == plural


def test_explicit_plural_wins() -> None:
    bp = parse_blueprint("entities:\n  Person:\n    plural: people\n")
    assert bp.entities[0].plural == "people"


@pytest.mark.parametrize(("declaration", "expected"), [
    ("{type: money, default: 10.10}", Decimal("10.10")),
    ("{type: decimal, default: '0.1'}", Decimal("0.1")),
    ("{type: integer, default: 3}", 3),
    ("{type: date, default: 2024-12-31}", dt.date(2024, 12, 31)),
    ("{type: date, default: '2024-12-31'}", dt.date(2024, 12, 31)),
    ("{type: datetime, default: '2024-12-31T09:00:00+03:00'}",
     dt.datetime(2024, 12, 31, 9, tzinfo=dt.timezone(dt.timedelta(hours=3)))),
    ("{type: datetime, default: 2024-12-31T06:00:00Z}", dt.datetime(2024, 12, 31, 6, tzinfo=dt.UTC)),
    ("{type: tags, default: [vip, new]}", ["vip", "new"]),
    ("{type: multi_enum, options: [a, b], default: [b]}", ["b"]),
    ("{type: enum, options: ['yes', 'no'], default: no}", "no"),
    ("{type: boolean, default: true}", True),
    ("{type: json, default: {a: [1, 2]}}", {"a": [1, 2]}),
])
def test_default_is_converted_to_the_field_type(declaration: str, expected: object) -> None:
    bp = parse_blueprint(f"entities:\n  Thing:\n    fields:\n      value_x: {declaration}\n")
    fld = bp.entities[0].fields[0]
    assert fld.has_default
    assert fld.default == expected
    assert type(fld.default) is type(expected)


def test_field_without_default_has_no_default() -> None:
    fld = parse_blueprint("entities:\n  Thing:\n    fields:\n      x: {type: string}\n").entities[0].fields[0]
    assert (fld.has_default, fld.default) == (False, None)


def test_unquoted_yaml_words_stay_text_in_options() -> None:
    fld = parse_blueprint("entities:\n  Thing:\n    fields:\n      x: {type: enum, options: [yes, no, on]}\n"
                          ).entities[0].fields[0]
    assert fld.options == ("yes", "no", "on")


def test_stage_kind_defaults_to_open() -> None:
    bp = parse_blueprint("entities:\n  Deal:\n    pipelines:\n      sales:\n        stages: [{code: new}]\n")
    stage = bp.entities[0].pipelines[0].stages[0]
    assert (stage.kind, stage.name) == (StageKind.OPEN, "new")


def test_stage_with_move_records_to_is_a_removed_stage() -> None:
    bp = parse_blueprint("entities:\n  Deal:\n    pipelines:\n      sales:\n        stages:\n"
                         "          - {code: new}\n          - {code: old, move_records_to: new}\n")
    pipeline = bp.entities[0].pipelines[0]
    assert pipeline.stage_codes() == ("new",)
    assert [(s.code, s.move_records_to) for s in pipeline.removed_stages] == [("old", "new")]


def test_definitions_carry_their_place() -> None:
    deal = load_blueprint(SPEC_EXAMPLE).get_entity("Deal")
    assert (deal.place.line, deal.place.col) == (21, 3)
    assert (deal.get_field("amount").place.line, deal.get_field("amount").place.col) == (24, 7)


def test_single_yaml_file_loads(tmp_path: Path) -> None:
    file = tmp_path / "client.yaml"
    file.write_text("entities:\n  Car:\n    fields:\n      plate: {type: string}\n", encoding="utf-8")
    assert load_blueprint(file).entities[0].name == "Car"


def test_missing_automation_file_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "blueprint.yaml").write_text("automations:\n  - automations/none.craft\n", encoding="utf-8")
    problems = check_blueprint_path(tmp_path)
    assert [(p.code, p.place.line, p.place.col) for p in problems] == [("MM.E107", 2, 5)]


def test_automation_outside_the_directory_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "blueprint.yaml").write_text("automations: [../x.craft, a.txt]\n", encoding="utf-8")
    problems = check_blueprint_path(tmp_path)
    assert [(p.code, p.place.col) for p in problems] == [("MM.E107", 15), ("MM.E107", 27)]


def test_directory_without_blueprint_yaml_is_a_problem(tmp_path: Path) -> None:
    assert [p.code for p in check_blueprint_path(tmp_path)] == ["MM.E106"]


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    assert [p.code for p in check_blueprint_path(tmp_path / "nope.yaml")] == ["MM.E106"]


def test_load_raises_with_every_problem(tmp_path: Path) -> None:
    (tmp_path / "blueprint.yaml").write_text(
        "workspace: Bad Name\nentities:\n  deal: {}\n  Car:\n    fields:\n      x: {type: strin}\n",
        encoding="utf-8")
    with pytest.raises(BlueprintInvalid) as caught:
        load_blueprint(tmp_path)
    assert [(p.code, p.place.line, p.place.col) for p in caught.value.problems] == [
        ("MM.E134", 1, 12), ("MM.E110", 3, 3), ("MM.E108", 6, 17)]


def test_problem_places_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "blueprint.yaml").write_text("entities:\n  deal: {}\n", encoding="utf-8")
    [problem] = check_blueprint_path(tmp_path)
    assert str(problem).startswith(f"{tmp_path / 'blueprint.yaml'}:2:3 MM.E110 ")


def test_three_errors_give_three_problems() -> None:
    text = ("entities:\n  Deal:\n    fields:\n      order: {type: string}\n"
            "      contact: {type: reference, to: Contcat}\n      kind: {type: enum, options: [a, a]}\n")
    assert problems_of(text) == [("MM.E112", 4, 7), ("MM.E120", 5, 38), ("MM.E124", 6, 39)]


def test_required_reference_with_optional_way_back_is_not_a_cycle() -> None:
    bp = parse_blueprint("entities:\n  Deal:\n    fields:\n"
                         "      contact: {type: reference, to: Contact, required: true}\n"
                         "  Contact:\n    fields:\n      last_deal: {type: reference, to: Deal}\n")
    assert [e.name for e in bp.entities] == ["Deal", "Contact"]


def test_optional_self_reference_is_fine() -> None:
    bp = parse_blueprint("entities:\n  Company:\n    fields:\n      parent: {type: reference, to: Company}\n")
    assert bp.entities[0].fields[0].to == "Company"


def test_check_text_returns_problems_without_raising() -> None:
    problems = check_blueprint_text("entities:\n  deal: {}\n", "web.yaml")
    assert [(p.code, str(p.place)) for p in problems] == [("MM.E110", "web.yaml:2:3")]


def test_parse_finds_automations_in_base_dir() -> None:
    bp = parse_blueprint("automations: [automations/deals.craft]\n", base_dir=SPEC_EXAMPLE)
    assert bp.automations == ("automations/deals.craft",)
    assert [p.code for p in check_blueprint_text("automations: [x.craft]\n", base_dir=SPEC_EXAMPLE)] == [
        "MM.E107"]
