"""Abusive documents are refused with QUERY_TOO_COMPLEX before anything runs — not a single SQL
statement, not even the token lookup: depth 50, 1,000 aliases, aliases hidden in fragments, a fragment
bomb, a batch of 100, ``first: 99999999`` (literal or variable), too many tokens or bytes.  Introspection
can be switched off for all workspaces or some, and a normal introspection query passes the limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    get_introspection_query,
    graphql_sync,
)
from sqlalchemy.engine import Engine

from api.app import create_app
from api.graphql.endpoint import graphql_router
from api.graphql.limits import Limits, QueryTooComplex, check_document, parse_limited
from api.graphql.registry import SchemaRegistry
from api.settings import Settings
from metamodel import apply_blueprint
from metamodel.blueprint import parse_blueprint
from metamodel.tokens import create_token
from workflow import Runtime

CRM = """
entities:
  Deal:
    fields:
      title: {type: string, required: true}
roles:
  manager: {entities: {Deal: [read]}}
users:
  - {email: anna@acme.test, name: Anna, role: manager}
"""


class TinySchema:
    """A query type with a self-referencing ``node`` (so deep documents are valid) and ``deals(first:)``."""

    def __init__(self, meta: Any) -> None:
        node = GraphQLObjectType("Node", lambda: {
            "node": GraphQLField(node, resolve=lambda *_: {}),
            "name": GraphQLField(GraphQLString, resolve=lambda *_: "n")})
        query = GraphQLObjectType("Query", {
            "me": GraphQLField(GraphQLString, resolve=lambda *_: "me"),
            "node": GraphQLField(node, resolve=lambda *_: {}),
            "deals": GraphQLField(GraphQLList(GraphQLString), {"first": GraphQLArgument(GraphQLInt)},
                                  resolve=lambda _, __, first=0: ["d"] * first),
        })
        self.schema = GraphQLSchema(query=query)

    def execute_sync(self, query: str, variable_values: Any = None, context_value: Any = None,
                     operation_name: str | None = None) -> Any:
        return graphql_sync(self.schema, query, variable_values=variable_values,
                            operation_name=operation_name)


def _client(engine: Engine, limits: Limits) -> TestClient:
    app = FastAPI()
    app.state.engine = engine
    app.include_router(graphql_router(Runtime(engine), registry=SchemaRegistry(TinySchema), limits=limits,
                                      context=lambda *_: None))
    return TestClient(app)


@pytest.fixture
def crm(engine: Engine, workspace: str) -> str:
    apply_blueprint(engine, parse_blueprint(CRM), workspace)
    return workspace


@pytest.fixture
def token(engine: Engine, crm: str) -> str:
    return create_token(engine, crm, "manager", "anna@acme.test")[0]


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with _client(engine, Limits()) as test_client:
        yield test_client


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine runs while the test does."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def _refused(client: TestClient, ws: str, token: str, body: Any) -> dict[str, Any]:
    response = client.post(f"/w/{ws}/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in {200, 400}
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["QUERY_TOO_COMPLEX"]
    assert "data" not in response.json()
    return dict(errors[0])


def _deep(levels: int) -> str:
    return "{ " + "node { " * (levels - 1) + "name" + " }" * levels


def _fragment_bomb(levels: int) -> str:
    fragments = [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    return "{ ...F0 } " + " ".join(fragments) + f" fragment F{levels} on Query {{ me }}"


ABUSE = {
    "depth 50": {"query": _deep(50)},
    "1,000 aliases": {"query": "{ " + " ".join(f"a{i}: me" for i in range(1000)) + " }"},
    "aliases hidden in fragments": {"query": "{ " + " ".join(["...F"] * 11) + " } fragment F on Query { "
                                    + " ".join(f"a{i}: me" for i in range(10)) + " }"},
    "fragment bomb": {"query": _fragment_bomb(40)},
    "first: 99999999": {"query": "{ deals(first: 99999999) }"},
    "first by a variable": {"query": "query($n: Int) { deals(first: $n) }", "variables": {"n": 99999999}},
    "first by a variable's default": {"query": "query($n: Int = 99999999) { deals(first: $n) }"},
    "6,000 tokens": {"query": "{ " + "me " * 6000 + "}"},
    "30 KB": {"query": "{ me }" + " " * 30_000},
    "nesting deeper than Python walks": {"query": "{ node " * 3000 + "}" * 3000},
}


@pytest.mark.parametrize("body", list(ABUSE.values()), ids=list(ABUSE))
def test_an_abusive_query_is_refused_before_any_sql_runs(
        client: TestClient, crm: str, token: str, statements: list[str], body: dict[str, Any]) -> None:
    _refused(client, crm, token, body)
    assert statements == []


def test_a_batch_of_100_is_refused_before_any_sql_runs(client: TestClient, crm: str, token: str,
                                                       statements: list[str]) -> None:
    response = client.post(f"/w/{crm}/graphql", json=[{"query": "{ me }"}] * 100,
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert statements == []


def test_a_batch_within_the_limit_runs(client: TestClient, crm: str, token: str) -> None:
    response = client.post(f"/w/{crm}/graphql", json=[{"query": "{ me }"}] * 10,
                           headers={"Authorization": f"Bearer {token}"})
    assert response.json() == [{"data": {"me": "me"}}] * 10


def test_the_refusal_names_the_limit(client: TestClient, crm: str, token: str) -> None:
    error = _refused(client, crm, token, ABUSE["aliases hidden in fragments"])
    assert error["message"].startswith("the query uses 110 aliases")
    assert error["extensions"]["hint"]


def test_queries_at_the_limits_run(client: TestClient, crm: str, token: str) -> None:
    query = ("{ " + _deep(15)[2:-2] + " } ", "{ " + " ".join(f"a{i}: me" for i in range(100)) + " }",
             "{ deals(first: 1000) }")
    for text in query:
        response = client.post(f"/w/{crm}/graphql", json={"query": text},
                               headers={"Authorization": f"Bearer {token}"})
        assert "errors" not in response.json(), text


def test_the_standard_introspection_query_passes_the_limits(client: TestClient, crm: str, token: str) -> None:
    response = client.post(f"/w/{crm}/graphql", json={"query": get_introspection_query(descriptions=True)},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize("query", ["{ __schema { types { name } } }", '{ __type(name: "Query") { name } }',
                                   "{ ...I } fragment I on Query { __schema { queryType { name } } }"])
def test_introspection_switched_off_is_refused(engine: Engine, crm: str, token: str, query: str) -> None:
    with _client(engine, Limits(introspection=False)) as client:
        error = _refused(client, crm, token, {"query": query})
    assert "introspection" in error["message"]


def test_introspection_can_be_switched_off_for_one_workspace(engine: Engine, crm: str, token: str) -> None:
    limits = Limits.from_env({"STAGECRAFT_INTROSPECTION_OFF": f"other, {crm}"})
    with _client(engine, limits) as client:
        _refused(client, crm, token, {"query": "{ __schema { queryType { name } } }"})
        typename = client.post(f"/w/{crm}/graphql", json={"query": "{ __typename }"},
                               headers={"Authorization": f"Bearer {token}"})
    assert typename.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(("environ", "expected"), [({}, True), ({"STAGECRAFT_INTROSPECTION": "off"}, False),
                                                   ({"STAGECRAFT_INTROSPECTION": "ON"}, True)])
def test_introspection_is_on_unless_the_environment_says_off(environ: dict[str, str], expected: bool) -> None:
    assert Limits.from_env(environ).introspection_for("any") is expected


def test_a_document_is_measured_in_linear_time_whatever_its_fragments_expand_to() -> None:
    document = parse_limited(_fragment_bomb(60), Limits())
    with pytest.raises(QueryTooComplex, match=r"selects \d+ fields"):
        check_document(document, None, Limits())


def test_a_fragment_cycle_is_left_to_validation() -> None:
    document = parse_limited("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", Limits())
    check_document(document, None, Limits())


def test_the_app_refuses_abuse_of_the_generated_schema_before_any_sql(
        engine: Engine, crm: str, token: str, statements: list[str]) -> None:
    app = create_app(Settings(database_url=str(engine.url)), engine=engine, runner=False)
    with TestClient(app) as client:
        statements.clear()  # the app's start-up is not the request
        _refused(client, crm, token, {"query": "{ deals(first: 99999999) { totalCount } }"})
    assert statements == []
