"""BlueprintSchema: what the .craft checker learns about a blueprint."""

from __future__ import annotations

from pathlib import Path

import dsl
from metamodel.blueprint import load_blueprint, parse_blueprint
from metamodel.craft_schema import BlueprintSchema, CraftUse, craft_problems, craft_uses, schema_for

SPEC_LANGUAGE = Path(__file__).parents[2] / "examples" / "spec-language"

BLUEPRINT = """\
entities:
  Company:
    fields:
      name: {type: string}
      contacts_count: {type: rollup, of: contacts, agg: count}
      best_score: {type: rollup, of: contacts, agg: max, field: score}
  Contact:
    fields:
      name: {type: string}
      score: {type: integer}
      company: {type: reference, to: Company, inverse: contacts}
      manager: {type: user}
      kind: {type: enum, options: [person, firm]}
      label: {type: formula, expr: "upper(name)", returns: string}
    pipelines:
      care:
        stages: [{code: new, name: New}, {code: done, name: Done, kind: won}]
      onboarding:
        stages: [{code: start, name: Start}, {code: live, name: Live, kind: won}]
  Car:
    fields:
      plate: {type: string}
groups:
  sales: {members: [ann@x.test]}
users:
  - {email: ann@x.test, name: Ann, role: admin}
forms:
  signup:
    creates: Contact
    map: {name: full_name, score: points}
"""


def schema() -> BlueprintSchema:
    return BlueprintSchema(parse_blueprint(BLUEPRINT))


def test_schema_satisfies_the_dsl_protocol() -> None:
    checked: dsl.SchemaProtocol = schema()
    assert "Contact" in checked.entities()


def test_declared_fields_keep_the_blueprint_type_names() -> None:
    fields = schema().fields("Contact")
    assert (fields["name"].type, fields["score"].type) == ("string", "integer")


def test_reference_fields_carry_their_target() -> None:
    assert schema().fields("Contact")["company"] == dsl.FieldInfo("company", "reference", target="Company")


def test_user_fields_point_at_the_built_in_user_entity() -> None:
    assert schema().fields("Contact")["manager"].target == "User"


def test_enum_fields_carry_their_options() -> None:
    assert schema().fields("Contact")["kind"].options == ("person", "firm")


def test_formula_fields_say_what_they_return() -> None:
    assert schema().fields("Contact")["label"].returns == "string"


def test_count_rollups_return_integers_and_max_rollups_their_source_type() -> None:
    fields = schema().fields("Company")
    assert (fields["contacts_count"].returns, fields["best_score"].returns) == ("integer", "integer")


def test_inverse_lists_are_many_fields_of_the_target() -> None:
    assert schema().fields("Company")["contacts"] == dsl.FieldInfo("contacts", "many", target="Contact")


def test_every_entity_has_the_system_fields() -> None:
    fields = schema().fields("Car")
    assert {"id", "created_at", "updated_at", "created_by", "owner", "version"} <= fields.keys()
    assert fields["owner"].target == "User"


def test_only_entities_with_pipelines_have_stage_fields() -> None:
    assert {"pipeline", "stage", "stage_entered_at"} <= schema().fields("Contact").keys()
    assert "stage" not in schema().fields("Car")


def test_built_in_entities_are_known() -> None:
    built_in = schema()
    assert {"User", "Task", "Message", "Note"} <= set(built_in.entities())
    assert {"email", "name", "role"} <= built_in.fields("User").keys()
    assert {"title", "description", "assignee", "due_at", "status"} <= built_in.fields("Task").keys()


def test_unknown_entity_has_no_fields_and_no_pipelines() -> None:
    assert (schema().fields("Nope"), schema().pipelines("Nope")) == ({}, {})


def test_pipelines_list_their_stage_codes_in_order() -> None:
    assert schema().pipelines("Contact") == {"care": ("new", "done"), "onboarding": ("start", "live")}


def test_groups_users_and_forms_come_from_the_blueprint() -> None:
    built = schema()
    assert (list(built.groups()), list(built.users())) == (["sales"], ["ann@x.test"])
    assert built.forms()["signup"] == dsl.FormInfo("signup", "Contact", ("full_name", "points"))


def test_schema_is_cached_per_blueprint_object() -> None:
    blueprint = parse_blueprint(BLUEPRINT)
    assert schema_for(blueprint) is schema_for(blueprint)
    assert schema_for(parse_blueprint(BLUEPRINT)) is not schema_for(blueprint)


def test_program_using_the_blueprint_checks_clean() -> None:
    program = dsl.parse('automation "a" when Contact.score changed where score > old.score do\n'
                        '  create task "Call {name} of {company.name}" for manager due in 1 day\n'
                        "  move to stage done in pipeline care\nend\n")
    assert dsl.check_program(program, schema()) == []


def test_program_misspelling_a_field_is_refused_with_a_suggestion() -> None:
    program = dsl.parse('automation "a" when Contact created do\n  set scor = 1\nend\n')
    errors = dsl.check_program(program, schema())
    assert [(e.code, e.hint) for e in errors] == [("E_UNKNOWN_FIELD", 'did you mean "score"?')]


def test_every_spec_example_checks_against_the_spec_language_blueprint() -> None:
    blueprint = load_blueprint(SPEC_LANGUAGE)
    sources = {f.name: f.read_text(encoding="utf-8") for f in (SPEC_LANGUAGE / "automations").glob("*.craft")}
    assert dsl.check_files(sources, schema_for(blueprint)) == []


CALL = 'automation "Call"\nwhen Contact created\ndo\n  notify manager "Call {company.name}"\nend\n'


def test_uses_name_each_automation_by_its_file_and_line() -> None:
    uses = craft_uses(parse_blueprint(BLUEPRINT), {"a.craft": "\n" + CALL})
    assert CraftUse('automation "Call" (a.craft:2)', dsl.Use("field", "manager", "Contact")) in uses


def test_uses_follow_paths_to_the_entity_that_owns_the_field() -> None:
    uses = {found.use for found in craft_uses(parse_blueprint(BLUEPRINT), {"a.craft": CALL})}
    assert {dsl.Use("field", "company", "Contact"), dsl.Use("field", "name", "Company")} <= uses


def test_uses_of_a_file_that_does_not_parse_are_empty() -> None:
    assert craft_uses(parse_blueprint(BLUEPRINT), {"a.craft": "automation"}) == []


def test_craft_problems_carry_code_place_and_hint() -> None:
    [problem] = craft_problems(parse_blueprint(BLUEPRINT), {"a.craft": CALL.replace("manager", "managr")})
    assert (problem.code, problem.place.file, problem.place.line, problem.place.col) == (
        "E_UNKNOWN_FIELD", "a.craft", 4, 10)
    assert problem.hint == 'did you mean "manager"?'
