"""``/w/{workspace}/graphql`` speaks GraphQL over HTTP: JSON POSTs and query GETs, a 405 for a mutation
over GET, a 415 for CSRF-prone content types, a GraphQL-shaped 401 for any token that does not open
the workspace, GraphiQL for a browser, and unexpected errors masked — on SQLite and PostgreSQL.

The schema here is a tiny one of the test's own (the registry takes any builder), so these tests
speak only of the endpoint."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    graphql_sync,
)
from sqlalchemy.engine import Engine

from api.graphql.endpoint import graphql_router
from api.graphql.limits import Limits
from api.graphql.registry import SchemaRegistry
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


class Coded(Exception):
    """A typed error as the resolvers raise them: ``extensions`` carries the code."""

    extensions = {"code": "NOT_FOUND"}


def _boom(*_: Any) -> Any:
    raise RuntimeError("secret detail: password=hunter2")


def _missing(*_: Any) -> Any:
    raise Coded("no deal 7")


class TinySchema:
    """``execute_sync`` over a graphql-core schema: what the endpoint needs of a strawberry schema."""

    def __init__(self, meta: Any) -> None:
        query = GraphQLObjectType("Query", {
            "version": GraphQLField(GraphQLInt, resolve=lambda *_: meta.version),
            "me": GraphQLField(GraphQLString, resolve=lambda _, info: info.context["principal"].email),
            "echo": GraphQLField(GraphQLString, {"text": GraphQLArgument(GraphQLString)},
                                 resolve=lambda _, __, text=None: text),
            "boom": GraphQLField(GraphQLString, resolve=_boom),
            "deal": GraphQLField(GraphQLString, resolve=_missing),
            "always": GraphQLField(GraphQLNonNull(GraphQLString), resolve=_boom),
        })
        mutation = GraphQLObjectType("Mutation", {"touch": GraphQLField(GraphQLInt, resolve=lambda *_: 1)})
        self.schema = GraphQLSchema(query=query, mutation=mutation)

    def execute_sync(self, query: str, variable_values: Any = None, context_value: Any = None,
                     operation_name: str | None = None) -> Any:
        return graphql_sync(self.schema, query, variable_values=variable_values,
                            context_value=context_value, operation_name=operation_name)


def tiny_context(engine: Engine, meta: Any, principal: Any, runtime: Runtime) -> dict[str, Any]:
    return {"principal": principal, "meta": meta}


@pytest.fixture
def crm(engine: Engine, workspace: str) -> str:
    apply_blueprint(engine, parse_blueprint(CRM), workspace)
    return workspace


@pytest.fixture
def token(engine: Engine, crm: str) -> str:
    return create_token(engine, crm, "manager", "anna@acme.test")[0]


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = FastAPI()
    app.state.engine = engine
    app.include_router(graphql_router(Runtime(engine), registry=SchemaRegistry(TinySchema),
                                      limits=Limits(), context=tiny_context))
    with TestClient(app) as test_client:
        yield test_client


def _post(client: TestClient, ws: str, token: str | None, body: Any, **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(f"/w/{ws}/graphql", json=body, headers=headers)


def _codes(response: Any) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


def test_a_json_post_runs_the_query_as_the_tokens_principal(client: TestClient, crm: str, token: str) -> None:
    response = _post(client, crm, token, {"query": "query Q($t: String) { me echo(text: $t) }",
                                          "variables": {"t": "hi"}, "operationName": "Q"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": {"me": "anna@acme.test", "echo": "hi"}}


def test_a_get_runs_a_query_from_the_url(client: TestClient, crm: str, token: str) -> None:
    response = client.get(f"/w/{crm}/graphql", params={"query": "query($t: String) { echo(text: $t) }",
                                                    "variables": '{"t": "x"}'},
        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"data": {"echo": "x"}}


def test_a_mutation_over_get_is_405_allowing_post(client: TestClient, crm: str, token: str) -> None:
    response = client.get(f"/w/{crm}/graphql", params={"query": "mutation { touch }"},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert _codes(response) == ["METHOD_NOT_ALLOWED"]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain",
                                          "multipart/form-data; boundary=x"])
def test_a_post_that_is_not_json_is_415(client: TestClient, crm: str, token: str, content_type: str) -> None:
    response = client.post(f"/w/{crm}/graphql", content=b"query=mutation%20%7B%20touch%20%7D",
                           headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    assert response.status_code == 415
    assert _codes(response) == ["UNSUPPORTED_MEDIA_TYPE"]


def test_a_body_that_is_not_json_is_400(client: TestClient, crm: str, token: str) -> None:
    response = client.post(f"/w/{crm}/graphql", content=b"{nope",
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 400
    assert _codes(response) == ["BAD_REQUEST"]


def test_a_request_without_a_token_is_401_in_the_graphql_shape(client: TestClient, crm: str) -> None:
    response = _post(client, crm, None, {"query": "{ me }"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert _codes(response) == ["UNAUTHENTICATED"]


def test_an_invalid_token_is_401_in_the_graphql_shape(client: TestClient, crm: str) -> None:
    response = _post(client, crm, "sc_0123456789abcdef_" + "a" * 43, {"query": "{ me }"})
    assert response.status_code == 401
    assert _codes(response) == ["UNAUTHENTICATED"]


def test_a_token_of_another_workspace_is_401(client: TestClient, engine: Engine, token: str) -> None:
    other = f"{token[:3]}other{abs(hash(token)) % 10**8}"
    apply_blueprint(engine, parse_blueprint(CRM), other)
    response = _post(client, other, token, {"query": "{ me }"})
    assert response.status_code == 401
    assert _codes(response) == ["UNAUTHENTICATED"]


def test_a_browser_gets_graphiql(client: TestClient, crm: str) -> None:
    response = client.get(f"/w/{crm}/graphql", headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_an_unexpected_error_is_masked_and_logged(client: TestClient, crm: str, token: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        response = _post(client, crm, token, {"query": "{ boom me }"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"boom": None, "me": "anna@acme.test"}
    assert body["errors"] == [{"message": "internal error", "extensions": {"code": "INTERNAL"},
                               "path": ["boom"]}]
    assert "hunter2" not in response.text
    assert "hunter2" in caplog.text


def test_a_typed_error_keeps_its_code(client: TestClient, crm: str, token: str) -> None:
    response = _post(client, crm, token, {"query": "{ deal }"})
    [error] = response.json()["errors"]
    assert error["message"] == "no deal 7"
    assert error["extensions"] == {"code": "NOT_FOUND"}


def test_an_invalid_document_is_validation_failed_with_its_place(client: TestClient, crm: str,
                                                                  token: str) -> None:
    response = _post(client, crm, token, {"query": "{ nope }"})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["locations"] == [{"line": 1, "column": 3}]
    assert "data" not in response.json()


def test_a_syntax_error_is_validation_failed(client: TestClient, crm: str, token: str) -> None:
    response = _post(client, crm, token, {"query": "{ me "})
    assert _codes(response) == ["VALIDATION_FAILED"]


def test_graphql_response_json_is_answered_in_kind_with_4xx_for_request_errors(
        client: TestClient, crm: str, token: str) -> None:
    accept = "application/graphql-response+json"
    ok = _post(client, crm, token, {"query": "{ me }"}, Accept=accept)
    refused = _post(client, crm, token, {"query": "{ nope }"}, Accept=accept)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith(accept)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith(accept)


def test_a_null_root_from_an_error_keeps_data_null(client: TestClient, crm: str, token: str) -> None:
    response = _post(client, crm, token, {"query": "{ always }"})
    assert response.json()["data"] is None
    assert _codes(response) == ["INTERNAL"]


def test_a_batch_answers_each_operation_in_order(client: TestClient, crm: str, token: str) -> None:
    response = _post(client, crm, token, [{"query": "{ me }"}, {"query": "{ nope }"},
                                          {"query": "{ echo(text: \"b\") }"}])
    assert response.status_code == 200
    first, second, third = response.json()
    assert first == {"data": {"me": "anna@acme.test"}}
    assert second["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    assert third == {"data": {"echo": "b"}}


@pytest.mark.parametrize("body", [{"variables": {}}, {"query": ""}, {"query": "{ me }", "variables": [1]},
                                  {"query": "{ me }", "operationName": 3}, "text"])
def test_a_malformed_request_is_400(client: TestClient, crm: str, token: str, body: Any) -> None:
    response = _post(client, crm, token, body)
    assert response.status_code == 400
    assert _codes(response) == ["BAD_REQUEST"]
