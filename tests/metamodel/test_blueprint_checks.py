"""Bad blueprints, one behaviour each: the expected problem codes and their exact line:col.

Each case is a small blueprint and the complete list of (code, line, column)
it must produce, so a case also fails when a rule reports too much.
"""

from __future__ import annotations

import re

import pytest

from metamodel.blueprint import CODES, parse_blueprint
from metamodel.errors import BlueprintInvalid


def E(*lines: str) -> str:
    """One entity ``Deal`` whose fields start on line 4, column 7."""
    return "entities:\n  Deal:\n    fields:\n" + "".join(f"      {line}\n" for line in lines)


def S(*stages: str) -> str:
    """``Deal`` with pipeline ``sales`` whose stages start on line 6, column 13."""
    head = "entities:\n  Deal:\n    pipelines:\n      sales:\n        stages:\n"
    return head + "".join(f"          - {stage}\n" for stage in stages)


def C(*lines: str) -> str:
    """``Contact`` with fields from line 4, then ``Deal`` referencing it with inverse ``deals``."""
    contact = "entities:\n  Contact:\n    fields:\n" + "".join(f"      {line}\n" for line in lines)
    return contact + "  Deal:\n    fields:\n      contact: {type: reference, to: Contact, inverse: deals}\n"


CASES: list[tuple[str, str, list[tuple[str, int, int]]]] = [
    ("builtin_field", E("owner: {type: string}"), [("MM.E113", 4, 7)]),
    ("sql_keyword_field", E("select: {type: string}"), [("MM.E112", 4, 7)]),
    ("sql_keyword_sqlite_only", E("pragma: {type: string}"), [("MM.E112", 4, 7)]),
    ("system_column", E("xmin: {type: integer}"), [("MM.E112", 4, 7)]),
    ("graphql_field", E("__typename: {type: string}"), [("MM.E114", 4, 7)]),
    ("builtin_entity", "entities:\n  Task:\n    fields: {}\n", [("MM.E115", 2, 3)]),
    ("graphql_type_entity", "entities:\n  Query: {}\n", [("MM.E114", 2, 3)]),
    ("entity_not_pascal", "entities:\n  deal_item: {}\n", [("MM.E110", 2, 3)]),
    ("field_not_snake", E("DueOn: {type: date}"), [("MM.E110", 4, 7)]),
    ("field_not_ascii", E("naïve: {type: string}"), [("MM.E111", 4, 7)]),
    ("field_too_long", E("x" * 64 + ": {type: string}"), [("MM.E116", 4, 7)]),
    ("entity_too_long", "entities:\n  E" + "x" * 63 + ": {}\n", [("MM.E116", 2, 3)]),
    ("table_name_too_long", "entities:\n  E" + "x" * 61 + ": {}\n", [("MM.E119", 2, 3)]),
    (
        "junction_name_too_long",
        "entities:\n  Car:\n    fields: {}\n  E"
        + "x" * 29
        + ":\n    fields:\n      "
        + "y" * 31
        + ": {type: many, to: Car}\n",
        [("MM.E119", 6, 7)],
    ),
    ("entity_case_duplicate", "entities:\n  Deal: {}\n  DEAL: {}\n", [("MM.E117", 3, 3)]),
    (
        "field_nfkc_duplicate",
        E("name: {type: string}", "\uff4e\uff41\uff4d\uff45: {type: string}"),
        [("MM.E111", 5, 7), ("MM.E117", 5, 7)],
    ),
    (
        "field_case_duplicate_inverse",
        C("deals: {type: integer}").replace("inverse: deals", "inverse: Deals"),
        [("MM.E110", 7, 56), ("MM.E118", 7, 56)],
    ),
    ("inverse_collides_with_field", C("deals: {type: integer}"), [("MM.E118", 7, 56)]),
    (
        "two_inverses_collide",
        C() + "      other: {type: reference, to: Contact, inverse: deals}\n",
        [("MM.E118", 7, 54)],
    ),
    ("yaml_duplicate_key", E("name: {type: string}", "name: {type: text}"), [("MM.E102", 5, 7)]),
    ("duplicate_stage_code", S("{code: new}", "{code: new}"), [("MM.E117", 7, 20)]),
    (
        "duplicate_user_email",
        "users:\n  - {email: a@x.test, role: admin}\n  - {email: A@x.test, role: admin}\n",
        [("MM.E117", 3, 13)],
    ),
    ("plural_equals_singular", "entities:\n  Sheep:\n    plural: sheep\n", [("MM.E117", 3, 13)]),
    ("plural_shadows_builtin", "entities:\n  Todo:\n    plural: tasks\n", [("MM.E117", 3, 13)]),
    ("plural_not_lower_camel", "entities:\n  Person:\n    plural: People\n", [("MM.E110", 3, 13)]),
    ("unknown_target", E("contact: {type: reference, to: Contcat}"), [("MM.E120", 4, 38)]),
    ("reference_without_to", E("contact: {type: reference}"), [("MM.E121", 4, 7)]),
    ("inverse_on_many", E("tags: {type: many, to: Deal, inverse: deals}"), [("MM.E122", 4, 36)]),
    ("max_length_on_integer", E("score: {type: integer, max_length: 3}"), [("MM.E122", 4, 30)]),
    ("enum_without_options", E("kind: {type: enum}"), [("MM.E123", 4, 7)]),
    ("enum_default_without_options", E("kind: {type: enum, default: a}"), [("MM.E123", 4, 7)]),
    ("duplicate_enum_option", E("kind: {type: enum, options: [a, b, a]}"), [("MM.E124", 4, 42)]),
    (
        "enum_option_case_duplicate",
        E("kind: {type: multi_enum, options: [Retail, retail]}"),
        [("MM.E124", 4, 50)],
    ),
    ("integer_default_not_whole", E("score: {type: integer, default: 1.5}"), [("MM.E125", 4, 39)]),
    ("boolean_default_text", E("paid: {type: boolean, default: 'yes'}"), [("MM.E125", 4, 38)]),
    ("date_default_bad", E("due_on: {type: date, default: 31.12.2024}"), [("MM.E125", 4, 37)]),
    (
        "datetime_default_naive",
        E("due_at: {type: datetime, default: '2024-12-31T09:00:00'}"),
        [("MM.E125", 4, 41)],
    ),
    ("email_default_bad", E("mail: {type: email, default: nobody}"), [("MM.E125", 4, 36)]),
    ("money_default_text", E("amount: {type: money, default: lots}"), [("MM.E125", 4, 38)]),
    ("tags_default_repeat", E("labels: {type: tags, default: [a, a]}"), [("MM.E125", 4, 37)]),
    ("reference_default", E("parent: {type: reference, to: Deal, default: 1}"), [("MM.E122", 4, 43)]),
    ("enum_default_not_option", E("kind: {type: enum, options: [a, b], default: c}"), [("MM.E126", 4, 52)]),
    (
        "string_default_too_long",
        E("code_x: {type: string, max_length: 2, default: abc}"),
        [("MM.E126", 4, 54)],
    ),
    ("integer_default_below_min", E("score: {type: integer, min: 0, default: -1}"), [("MM.E126", 4, 47)]),
    (
        "required_default_null",
        E("title: {type: string, required: true, default: null}"),
        [("MM.E127", 4, 54)],
    ),
    ("unique_with_default", E("code_x: {type: string, unique: true, default: a}"), [("MM.E127", 4, 44)]),
    ("min_above_max", E("score: {type: integer, min: 5, max: 1}"), [("MM.E128", 4, 35)]),
    ("max_length_zero", E("title: {type: string, max_length: 0}"), [("MM.E128", 4, 41)]),
    ("max_length_above_varchar", E("title: {type: string, max_length: 100000000000}"), [("MM.E128", 4, 41)]),
    ("enum_option_empty", E("kind: {type: enum, options: [a, '']}"), [("MM.E123", 4, 39)]),
    ("multi_enum_option_blank", E("kind: {type: multi_enum, options: [' ', b]}"), [("MM.E123", 4, 42)]),
    ("empty_file", "", [("MM.E105", 1, 1)]),
    ("only_comments", "# nothing yet\n", [("MM.E105", 1, 1)]),
    ("entity_null", "entities:\n  B: null\n", [("MM.E104", 2, 3)]),
    ("entity_bare", "entities:\n  B:\n", [("MM.E104", 2, 3)]),
    ("formula_without_expr", E("margin: {type: formula, returns: money}"), [("MM.E129", 4, 7)]),
    ("formula_without_returns", E("margin: {type: formula, expr: 'amount * 2'}"), [("MM.E129", 4, 7)]),
    (
        "formula_returns_reference",
        E("margin: {type: formula, expr: x, returns: reference}"),
        [("MM.E129", 4, 49)],
    ),
    ("formula_returns_unknown", E("margin: {type: formula, expr: x, returns: mony}"), [("MM.E129", 4, 49)]),
    ("rollup_of_unknown", C("total: {type: rollup, of: dels, agg: count}"), [("MM.E130", 4, 33)]),
    (
        "rollup_without_agg_or_source",
        E("total: {type: rollup, of: y}"),
        [("MM.E131", 4, 7), ("MM.E130", 4, 33)],
    ),
    ("rollup_bad_agg", C("total: {type: rollup, of: deals, agg: total}"), [("MM.E131", 4, 45)]),
    ("rollup_sum_without_field", C("total: {type: rollup, of: deals, agg: sum}"), [("MM.E132", 4, 7)]),
    (
        "rollup_sum_of_reference",
        C("total: {type: rollup, of: deals, agg: sum, field: contact}"),
        [("MM.E132", 4, 57)],
    ),
    (
        "rollup_unknown_field",
        C("total: {type: rollup, of: deals, agg: max, field: contct}"),
        [("MM.E132", 4, 57)],
    ),
    (
        "required_reference_cycle",
        "entities:\n  Deal:\n    fields:\n      contract: {type: reference, to: Contract, required: true}\n"
        "  Contract:\n    fields:\n      deal: {type: reference, to: Deal, required: true}\n",
        [("MM.E133", 4, 7)],
    ),
    (
        "required_self_reference",
        E("parent: {type: reference, to: Deal, required: true}"),
        [("MM.E133", 4, 7)],
    ),
    ("bad_workspace", "workspace: Acme Furniture\n", [("MM.E134", 1, 12)]),
    ("bad_currency", E("amount: {type: money, currency: rub}"), [("MM.E135", 4, 39)]),
    (
        "renamed_from_still_declared",
        E("title: {type: string}", "name: {type: string, renamed_from: title}"),
        [("MM.E136", 5, 42)],
    ),
    (
        "pipeline_without_stages",
        "entities:\n  Deal:\n    pipelines:\n      sales: {label: Sales}\n",
        [("MM.E140", 4, 7)],
    ),
    ("first_stage_not_open", S("{code: won, kind: won}", "{code: new}"), [("MM.E141", 6, 31)]),
    ("lost_without_won", S("{code: new}", "{code: lost, kind: lost}"), [("MM.E142", 4, 7)]),
    ("probability_out_of_range", S("{code: new, probability: 150}"), [("MM.E143", 6, 38)]),
    ("move_records_to_unknown", S("{code: new}", "{code: old, move_records_to: nw}"), [("MM.E144", 7, 42)]),
    ("move_records_to_itself", S("{code: new}", "{code: old, move_records_to: old}"), [("MM.E144", 7, 42)]),
    ("unknown_stage_kind", S("{code: new}", "{code: won, kind: wonn}"), [("MM.E145", 7, 31)]),
    ("stage_code_true", S("{code: true}"), [("MM.E114", 6, 20)]),
    ("stage_code_not_snake", S("{code: New}"), [("MM.E110", 6, 20)]),
    (
        "role_unknown_entity",
        "entities:\n  Deal: {}\nroles:\n  manager: {entities: {Dael: [read]}}\n",
        [("MM.E150", 4, 24)],
    ),
    (
        "role_unknown_action",
        "entities:\n  Deal: {}\nroles:\n  manager: {entities: {Deal: [read, write]}}\n",
        [("MM.E151", 4, 37)],
    ),
    ("role_bad_records", "roles:\n  manager: {records: mine}\n", [("MM.E152", 2, 22)]),
    (
        "role_hides_unknown_field",
        "entities:\n  Deal: {}\nroles:\n  analyst: {hide_fields: {Deal: [amount]}}\n",
        [("MM.E153", 4, 34)],
    ),
    (
        "role_hides_unknown_entity",
        "roles:\n  analyst: {hide_fields: {Deal: [amount]}}\n",
        [("MM.E153", 2, 27)],
    ),
    ("admin_redefined", "roles:\n  admin: {entities: {'*': [read]}}\n", [("MM.E154", 2, 3)]),
    ("user_bad_email", "users:\n  - {email: anna.acme.test, role: admin}\n", [("MM.E160", 2, 13)]),
    ("user_unknown_role", "users:\n  - {email: anna@acme.test, role: manger}\n", [("MM.E161", 2, 35)]),
    ("user_without_role", "users:\n  - {email: anna@acme.test}\n", [("MM.E105", 2, 5)]),
    (
        "group_unknown_member",
        "users:\n  - {email: anna@acme.test, role: admin}\n"
        "groups:\n  sales: {members: [anna@acme.test, ivan@acme.test]}\n",
        [("MM.E162", 4, 37)],
    ),
    ("form_unknown_entity", "forms:\n  website: {creates: Lead}\n", [("MM.E170", 2, 22)]),
    (
        "form_unknown_field",
        E("name: {type: string}") + "forms:\n  website: {creates: Deal, map: {nme: full_name}}\n",
        [("MM.E171", 6, 34)],
    ),
    (
        "form_maps_formula",
        E("name: {type: string}", "margin: {type: formula, expr: len(name), returns: integer}")
        + "forms:\n  website: {creates: Deal, map: {margin: m}}\n",
        [("MM.E172", 7, 34)],
    ),
    (
        "form_misses_required",
        E("name: {type: string, required: true}") + "forms:\n  website: {creates: Deal, map: {}}\n",
        [("MM.E173", 6, 3)],
    ),
    (
        "form_name_invalid",
        "forms:\n  Web-Site: {creates: Deal}\nentities:\n  Deal: {}\n",
        [("MM.E110", 2, 3)],
    ),
    ("unknown_field_key", E("title: {type: string, requird: true}"), [("MM.E103", 4, 29)]),
    ("unknown_entity_key", "entities:\n  Deal:\n    feilds: {}\n", [("MM.E103", 3, 5)]),
    ("unknown_top_key", "entites: {}\n", [("MM.E103", 1, 1)]),
    ("unknown_stage_key", S("{code: new, probabilty: 10}"), [("MM.E103", 6, 25)]),
    ("unknown_role_key", "roles:\n  manager: {record: own}\n", [("MM.E103", 2, 13)]),
    ("fields_not_a_mapping", "entities:\n  Deal:\n    fields: [a, b]\n", [("MM.E104", 3, 13)]),
    ("field_written_as_shorthand", E("title: string"), [("MM.E104", 4, 14)]),
    ("stage_written_as_plain_code", S("new"), [("MM.E104", 6, 13)]),
    ("required_not_boolean", E("title: {type: string, required: 'yes'}"), [("MM.E104", 4, 39)]),
    ("field_without_type", E("title: {required: true}"), [("MM.E105", 4, 7)]),
    ("unknown_field_type", E("title: {type: strng}"), [("MM.E108", 4, 21)]),
    ("yaml_syntax_error", "entities:\n  Deal: {fields: [}\n", [("MM.E101", 2, 19)]),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in CASES])
def test_bad_blueprint_reports_code_and_place(text: str, expected: list[tuple[str, int, int]]) -> None:
    with pytest.raises(BlueprintInvalid) as caught:
        parse_blueprint(text)
    assert [(p.code, p.place.line, p.place.col) for p in caught.value.problems] == expected


FILE_LEVEL_CODES = {"MM.E106", "MM.E107"}  # need files on disk: cases in test_blueprint_loader.py


def test_max_length_up_to_the_postgresql_varchar_limit_is_accepted() -> None:
    [title] = parse_blueprint(E("title: {type: string, max_length: 10485760}")).entities[0].fields
    assert title.max_length == 10485760


def test_an_entity_written_as_empty_mapping_is_accepted() -> None:
    assert parse_blueprint("entities:\n  B: {}\n").entities[0].fields == ()


def test_every_code_reported_by_a_case_is_documented() -> None:
    reported = {code for _, _, expected in CASES for code, _, _ in expected}
    assert reported <= set(CODES)


def test_every_documented_code_has_a_case() -> None:
    reported = {code for _, _, expected in CASES for code, _, _ in expected}
    assert set(CODES) - reported == FILE_LEVEL_CODES


def test_codes_are_namespaced_and_explained() -> None:
    assert all(re.fullmatch(r"MM\.E1\d\d", code) and text.strip() for code, text in CODES.items())


def test_problems_name_the_file_given() -> None:
    with pytest.raises(BlueprintInvalid) as caught:
        parse_blueprint("entities:\n  deal: {}\n", file="client/blueprint.yaml")
    assert str(caught.value.problems[0]).startswith("client/blueprint.yaml:2:3 MM.E110 ")
