"""The generated schema: types from a blueprint never seen before, rebuilt when the blueprint changes."""

from __future__ import annotations

import keyword
from typing import Any

from sqlalchemy.engine import Engine

from api.auth import Principal
from api.graphql import GraphQLContext, build_schema
from api.graphql.naming import attr_name, camel, class_name, resolver_name
from api.graphql.types import GraphQLContext as ContextFromTypes
from metamodel import apply_blueprint, load_workspace_meta
from metamodel.blueprint import parse_blueprint

GARAGE = """
entities:
  Car:
    fields:
      plate: {type: string, required: true}
      first_registered_on: {type: date}
"""

GARAGE_WITH_COLOUR = GARAGE + "      colour: {type: enum, options: [red, blue]}\n"


def _admin(meta: Any, engine: Engine) -> GraphQLContext:
    principal = Principal(meta.workspace, "admin", None, None, "t")
    return GraphQLContext(engine=engine, meta=meta, principal=principal)


def test_a_blueprint_never_seen_before_is_queryable_and_a_new_field_appears_after_reapply(
        engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, parse_blueprint(GARAGE), workspace)
    meta = load_workspace_meta(engine, workspace)
    created = build_schema(meta).execute_sync(
        'mutation { createCar(input: {plate: "A 001", firstRegisteredOn: "2020-05-01"}) { id plate } }',
        context_value=_admin(meta, engine))
    assert created.errors is None and created.data["createCar"]["plate"] == "A 001"

    apply_blueprint(engine, parse_blueprint(GARAGE_WITH_COLOUR), workspace)
    newer = load_workspace_meta(engine, workspace)
    result = build_schema(newer).execute_sync(
        "{ cars { totalCount edges { node { plate firstRegisteredOn colour } } } }",
        context_value=_admin(newer, engine))
    assert result.errors is None
    assert result.data == {"cars": {"totalCount": 1, "edges": [
        {"node": {"plate": "A 001", "firstRegisteredOn": "2020-05-01", "colour": None}}]}}


def test_the_old_schema_does_not_know_a_field_added_later(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, parse_blueprint(GARAGE), workspace)
    old = build_schema(load_workspace_meta(engine, workspace))
    apply_blueprint(engine, parse_blueprint(GARAGE_WITH_COLOUR), workspace)
    new = build_schema(load_workspace_meta(engine, workspace))
    assert "colour" not in old.as_str()
    assert "colour: String" in new.as_str()


def test_schemas_of_two_workspaces_live_side_by_side(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, parse_blueprint(GARAGE), workspace)
    apply_blueprint(engine, parse_blueprint(GARAGE_WITH_COLOUR), workspace + "b")
    first = build_schema(load_workspace_meta(engine, workspace))
    second = build_schema(load_workspace_meta(engine, workspace + "b"))
    assert "colour" not in first.as_str()
    assert "colour" in second.as_str()


def test_every_entity_gets_list_single_and_mutation_fields(crm: Any) -> None:
    sdl = crm.schema.as_str()
    for expected in ("deals(where: DealWhere = null, orderBy: [DealOrderBy!] = null, first: Int! = 50",
                     "deal(id: ID!): Deal", "createDeal(input: DealInput!): Deal!",
                     "updateDeal(id: ID!, input: DealInput!, expectedVersion: Int = null): Deal!",
                     "deleteDeal(id: ID!): Deal!", "restoreDeal(id: ID!): Deal!",
                     "companies(", "contactId: ID", "dueOn: Date", "amount: Decimal", "margin: Decimal"):
        assert expected in sdl, expected


def test_inverse_lists_are_connections_with_their_own_arguments(crm: Any) -> None:
    assert "deals(where: DealWhere = null, orderBy: [DealOrderBy!] = null, first: Int! = 50, " \
           "after: String = null): DealConnection!" in crm.schema.as_str()


def test_context_is_importable_from_the_types_module_too() -> None:
    assert ContextFromTypes is GraphQLContext


def test_snake_case_names_become_camel_case() -> None:
    assert camel("due_on") == "dueOn"
    assert camel("first_registered_on") == "firstRegisteredOn"
    assert camel("title") == "title"


def test_python_keywords_get_a_safe_attribute_name() -> None:
    for word in ("from", "class", "in", "not", "and", "or", "is", "import", "match"):
        safe = attr_name(word)
        assert safe != word and safe.isidentifier() and not keyword.iskeyword(safe)
    assert attr_name("title") == "title"


def test_keyword_named_operators_keep_their_graphql_names(crm: Any) -> None:
    sdl = crm.schema.as_str()
    assert "in: [String!]" in sdl and "not: DealWhere" in sdl and "and: [DealWhere!]" in sdl


def test_class_and_resolver_names_are_unique_per_workspace_and_version() -> None:
    assert class_name("acme", 3, "Deal") != class_name("acme", 4, "Deal")
    assert class_name("acme", 3, "Deal") != class_name("other", 3, "Deal")
    assert resolver_name("acme", 3, "Deal", "contact") != resolver_name("acme", 3, "Deal", "company")


KEYWORDS = """
entities:
  Lesson:
    fields:
      class: {type: string}
      pass: {type: boolean}
      lambda: {type: integer}
      yield: {type: reference, to: Lesson}
"""


def test_fields_named_like_python_keywords_work_in_reads_filters_sorts_and_writes(
        engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, parse_blueprint(KEYWORDS), workspace)
    meta = load_workspace_meta(engine, workspace)
    schema, context = build_schema(meta), _admin(meta, engine)
    create = 'mutation { createLesson(input: {class: "9b", pass: true, lambda: 2}) { id } }'
    first = schema.execute_sync(create, context_value=context)
    assert first.errors is None
    lesson = first.data["createLesson"]["id"]
    create = f'mutation {{ createLesson(input: {{class: "9a", lambda: 1, yieldId: "{lesson}"}}) {{ id }} }}'
    second = schema.execute_sync(create, context_value=context)
    assert second.errors is None
    query = ('{ lessons(where: {class: {startsWith: "9"}}, orderBy: [{lambda: ASC}]) '
             "{ edges { node { class pass lambda yield { class } } } } }")
    result = schema.execute_sync(query, context_value=context)
    assert result.errors is None
    assert [e["node"] for e in result.data["lessons"]["edges"]] == [
        {"class": "9a", "pass": None, "lambda": 1, "yield": {"class": "9b"}},
        {"class": "9b", "pass": True, "lambda": 2, "yield": None}]
