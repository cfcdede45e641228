"""Compiled plans of list and record queries: same JSON as strawberry, fallback for everything else.

Each test runs the compiled path (``execute_compiled``) and, where it answers, compares its JSON with
strawberry's answer to the same document, role and variables — strawberry is the reference.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from graphql import parse

from api.auth import Principal
from api.graphql import GraphQLContext, build_schema
from api.graphql import endpoint as endpoint_module
from api.graphql.compiled import PlanCache, execute_compiled
from api.graphql.endpoint import graphql_router, shaped
from metamodel import load_workspace_meta
from metamodel.tokens import create_token
from workflow import Runtime

FULL = """{ deals(first: 2) { totalCount __typename pageInfo { hasNextPage endCursor __typename }
  edges { cursor __typename node { __typename id title amount paid dueOn score margin version createdAt
  updatedAt owner { id name email } stage { code name kind enteredAt } pipeline { code }
  contact { id name email tags company { name industry } } } } } }"""


def _context(crm: Any, role: str, email: str | None) -> GraphQLContext:
    user_id = crm.user_id(email) if email else None
    return GraphQLContext(engine=crm.engine, meta=crm.meta,
                          principal=Principal(crm.meta.workspace, role, user_id, email, "tok"))


def compiled(crm: Any, plans: PlanCache, document: str, *, role: str = "admin", email: str | None = None,
             variables: dict[str, Any] | None = None) -> Any:
    """The compiled answer's JSON text, or None when the request falls back to strawberry."""
    data = execute_compiled(plans, crm.schema, _context(crm, role, email), parse(document), document,
                            variables, None)
    return None if data is None else json.dumps({"data": data})


def reference(crm: Any, document: str, *, role: str = "admin", email: str | None = None,
              variables: dict[str, Any] | None = None) -> str:
    result = crm.run(document, role=role, email=email, variables=variables)
    return json.dumps(shaped(result.data, result.errors).body)


def same(crm: Any, plans: PlanCache, document: str, **kwargs: Any) -> dict[str, Any]:
    """The compiled answer, which must exist and equal the reference's byte for byte."""
    answer = compiled(crm, plans, document, **kwargs)
    assert answer is not None, "the document fell back"
    assert answer == reference(crm, document, **kwargs)
    parsed: dict[str, Any] = json.loads(answer)["data"]
    return parsed


@pytest.fixture
def plans() -> PlanCache:
    return PlanCache()


def test_a_list_with_every_kind_of_field_is_answered_as_strawberry_answers(crm: Any,
                                                                           plans: PlanCache) -> None:
    ids = crm.seed_deals(3, actor=crm.actor("anna@acme.test"))
    crm.store.update("Deal", ids[0], {"stage": "won", "due_on": "2026-05-01", "score": 7, "paid": True})
    data = same(crm, plans, FULL)
    assert data["deals"]["edges"][0]["node"]["stage"]["kind"] == "won"


def test_a_single_record_and_the_root_typename(crm: Any, plans: PlanCache) -> None:
    [deal] = crm.seed_deals(1)
    data = same(crm, plans, f'{{ t: __typename deal(id: "{deal}") {{ id title contact {{ name }} }} }}')
    assert data["deal"]["contact"] == {"name": "Contact 0"}


def test_aliases_fragments_and_variables(crm: Any, plans: PlanCache) -> None:
    crm.seed_deals(3)
    document = """query Q($n: Int!, $w: DealWhere) { a: deals(first: $n, where: $w) {
      ...Page edges { other: node { ... on Deal { t: title } } } } }
      fragment Page on DealConnection { edges { node { ...D amount } } }
      fragment D on Deal { title contact { n: name } }"""
    data = same(crm, plans, document, variables={"n": 2, "w": {"amount": {"gte": "200"}}})
    assert [e["other"]["t"] for e in data["a"]["edges"]] == ["Deal 1", "Deal 2"]


def test_a_repeated_response_key_merges_its_selections(crm: Any, plans: PlanCache) -> None:
    crm.seed_deals(2)
    document = ("{ deals(first: 1) { totalCount edges { node { title } } } "
                "deals(first: 1) { edges { node { amount contact { name } } } } }")
    data = same(crm, plans, document)
    assert list(data["deals"]["edges"][0]["node"]) == ["title", "amount", "contact"]


def test_order_by_and_after_give_the_resolvers_pages_and_cursors(crm: Any, plans: PlanCache) -> None:
    crm.seed_deals(4)
    first = same(crm, plans, "{ deals(first: 2, orderBy: [{amount: DESC}]) { pageInfo { endCursor } } }")
    cursor = first["deals"]["pageInfo"]["endCursor"]
    document = ("query($c: String) { deals(first: 2, after: $c, orderBy: [{amount: DESC}]) "
                "{ edges { cursor node { title } } } }")
    rest = same(crm, plans, document, variables={"c": cursor})
    assert [e["node"]["title"] for e in rest["deals"]["edges"]] == ["Deal 1", "Deal 0"]


def test_a_page_and_its_references_cost_the_same_statements_for_3_and_30_deals(crm: Any,
                                                                               plans: PlanCache) -> None:
    document = ("{ deals(first: 100) { totalCount edges { node { title owner { name } "
                "contact { company { name } } } } } }")
    counts = []
    for more in (3, 27):
        crm.seed_deals(more)
        compiled(crm, plans, document)  # the plan is cached: only execution is counted below
        with crm.statements() as counter:
            assert compiled(crm, plans, document) is not None
        counts.append(counter.count)
    assert counts[0] == counts[1] <= 6


@pytest.mark.parametrize("document", [
    'mutation { createDeal(input: {title: "x"}) { id } }',
    "query($s: Boolean!) { deals { totalCount @include(if: $s) } }",
    "{ __schema { types { name } } }",
    "{ dealsAggregate { count } }",
    "{ deals { edges { node { nope } } } }",
    "{ metadata { version } }",
    '{ deals { edges { node { title } } } } mutation M { createDeal(input: {title: "x"}) { id } }',
])
def test_documents_outside_the_subset_fall_back(crm: Any, plans: PlanCache, document: str) -> None:
    crm.seed_deals(1)
    assert compiled(crm, plans, document) is None


@pytest.mark.parametrize(("document", "role", "code"), [
    ("{ contacts { totalCount } }", "dealer", "FORBIDDEN"),
    ('{ deals(after: "garbage") { totalCount } }', "admin", "VALIDATION_FAILED"),
    ("{ deals(first: 1001) { totalCount } }", "admin", "VALIDATION_FAILED"),
    ('{ deal(id: "999999") { title } }', "admin", "NOT_FOUND"),
    ('{ deal(id: "abc") { title } }', "admin", "NOT_FOUND"),
    ('{ contacts(where: {email: {eq: "x"}}) { totalCount } }', "analyst", "FORBIDDEN"),
])
def test_a_run_the_reference_answers_with_an_error_falls_back(crm: Any, plans: PlanCache, document: str,
                                                               role: str, code: str) -> None:
    crm.seed_deals(1)
    assert compiled(crm, plans, document, role=role) is None
    assert code in crm.codes(document, role=role)


def test_bad_variables_fall_back(crm: Any, plans: PlanCache) -> None:
    crm.seed_deals(1)
    assert compiled(crm, plans, "query($n: Int!) { deals(first: $n) { totalCount } }",
                    variables={"n": "many"}) is None


def test_hidden_fields_are_null(crm: Any, plans: PlanCache) -> None:
    crm.store.create("Contact", {"name": "Ann", "email": "ann@x.test", "phone": "+7 495 123-45-67"})
    data = same(crm, plans, "{ contacts { edges { node { name email phone } } } }", role="analyst")
    assert data["contacts"]["edges"] == [{"node": {"name": "Ann", "email": None, "phone": None}}]


def test_a_reference_to_an_entity_the_role_may_not_read_is_null(crm: Any, plans: PlanCache) -> None:
    crm.seed_deals(1)
    data = same(crm, plans, "{ deals { edges { node { title contact { name } } } } }", role="dealer")
    assert data["deals"]["edges"][0]["node"]["contact"] is None


def test_own_records_only_for_lists_and_references(crm: Any, plans: PlanCache) -> None:
    crm.seed_deals(2, actor=crm.actor("anna@acme.test"))
    crm.seed_deals(1, actor=crm.actor("oleg@acme.test"))
    document = "{ deals { totalCount edges { node { title owner { email } contact { name } } } } }"
    data = same(crm, plans, document, role="manager", email="oleg@acme.test")
    assert data["deals"]["totalCount"] == 1


def test_a_soft_deleted_reference_is_null(crm: Any, plans: PlanCache) -> None:
    [deal] = crm.seed_deals(1)
    crm.store.delete("Contact", crm.store.get("Deal", deal)["contact"])
    data = same(crm, plans, "{ deals { edges { node { contact { name } } } } }")
    assert data["deals"]["edges"][0]["node"]["contact"] is None


def test_inverse_lists_are_cut_per_parent_from_one_statement(crm: Any, plans: PlanCache) -> None:
    crm.seed_deals(3)
    crm.store.create("Deal", {"title": "Second", "contact": crm.store.get("Deal", 1)["contact"]})
    document = ("{ contacts { edges { node { name deals(first: 1, orderBy: [{title: DESC}]) { totalCount "
                "pageInfo { hasNextPage endCursor } edges { cursor node { title contact { name } } } } } } } "
                "}")
    data = same(crm, plans, document)
    first = data["contacts"]["edges"][0]["node"]["deals"]
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"]) == (2, True)


def test_an_inverse_list_inside_an_inverse_list_costs_the_same_statements_for_2_and_20(
        crm: Any, plans: PlanCache) -> None:
    document = ("{ companies(first: 100) { edges { node { contacts { edges { node { name "
                "deals { totalCount edges { node { title } } } } } } } } } }")
    counts = []
    for more in (2, 18):
        crm.seed_deals(more)
        compiled(crm, plans, document)
        with crm.statements() as counter:
            assert compiled(crm, plans, document) is not None
        counts.append(counter.count)
    assert counts[0] == counts[1] <= 4
    same(crm, plans, document)


@pytest.mark.parametrize("arguments", ['after: "x"', "first: 5000", "first: -1"])
def test_an_inverse_list_the_resolvers_would_list_per_parent_falls_back(crm: Any, plans: PlanCache,
                                                                       arguments: str) -> None:
    crm.seed_deals(2)
    document = f"{{ contacts {{ edges {{ node {{ deals({arguments}) {{ totalCount }} }} }} }} }}"
    assert compiled(crm, plans, document) is None


def test_a_document_is_compiled_once(crm: Any, plans: PlanCache) -> None:
    crm.seed_deals(1)
    for _ in range(3):
        compiled(crm, plans, "{ deals { totalCount } }")
    assert plans.compiled == 1


def test_the_plan_cache_is_bounded(crm: Any) -> None:
    plans = PlanCache(capacity=2)
    for n in range(4):
        compiled(crm, plans, f"{{ deals(first: {n}) {{ totalCount }} }}")
    assert len(plans._entries) == 2


def test_a_new_metadata_version_drops_the_plans_of_older_ones(crm: Any, plans: PlanCache) -> None:
    crm.seed_deals(1)
    compiled(crm, plans, "{ deals { totalCount } }")
    crm.reapply("score: {type: integer, min: 0, max: 100}", "score: {type: integer}")
    newer = load_workspace_meta(crm.engine, crm.meta.workspace)
    crm.meta, crm.schema = newer, build_schema(newer)
    assert compiled(crm, plans, "{ deals { totalCount } }") == '{"data": {"deals": {"totalCount": 1}}}'
    assert [key[1] for key in plans._entries] == [newer.version]


def test_the_endpoint_answers_with_the_plan_and_the_same_json(crm: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    crm.seed_deals(3)
    token = create_token(crm.engine, crm.meta.workspace, "manager", "anna@acme.test")[0]
    answered: list[bool] = []

    def spy(*args: Any) -> Any:
        data = execute_compiled(*args)
        answered.append(data is not None)
        return data

    monkeypatch.setattr(endpoint_module, "execute_compiled", spy)
    bodies = []
    for flag in (True, False):
        app = FastAPI()
        app.state.engine = crm.engine
        app.include_router(graphql_router(Runtime(crm.engine), compiled=flag))
        with TestClient(app) as client:
            response = client.post(f"/w/{crm.meta.workspace}/graphql", json={"query": FULL},
                                   headers={"Authorization": f"Bearer {token}"})
        bodies.append(response.content)
    assert answered == [True]
    assert bodies[0] == bodies[1]
