"""The schema follows the applied blueprint with no restart: a field added by re-applying is queryable
on the next request; requests fired from threads during the swap all succeed; each version is built
once however many requests wait for it; two servers on one database converge; old versions are
dropped; a failed build is masked and retried — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from graphql import GraphQLField, GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, graphql_sync
from sqlalchemy.engine import Engine

from api.app import create_app
from api.graphql.endpoint import graphql_router
from api.graphql.limits import Limits
from api.graphql.registry import SchemaRegistry
from api.settings import Settings
from metamodel import apply_blueprint
from metamodel.blueprint import parse_blueprint
from metamodel.db import create_engine_for
from metamodel.tokens import create_token
from workflow import Runtime


def blueprint(*extra: str) -> str:
    fields = "".join(f"      {name}: {{type: integer}}\n" for name in extra)
    return ("entities:\n  Deal:\n    fields:\n      title: {type: string, required: true}\n" + fields
            + "roles:\n  manager: {entities: {Deal: [read]}}\n"
            + "users:\n  - {email: anna@acme.test, name: Anna, role: manager}\n")


class FieldsSchema:
    """One query field per field of Deal (answering its own name) and ``version``: a schema that shows
    which metadata it was built from."""

    def __init__(self, meta: Any) -> None:
        [deal] = [e for e in meta.blueprint.entities if e.name == "Deal"]
        fields = {f.name: GraphQLField(GraphQLString, resolve=lambda *_, n=f.name: n) for f in deal.fields}
        fields["version"] = GraphQLField(GraphQLInt, resolve=lambda *_: meta.version)
        self.schema = GraphQLSchema(query=GraphQLObjectType("Query", fields))

    def execute_sync(self, query: str, variable_values: Any = None, context_value: Any = None,
                     operation_name: str | None = None) -> Any:
        return graphql_sync(self.schema, query, variable_values=variable_values,
                            operation_name=operation_name)


class SlowBuilder:
    """``FieldsSchema`` after ``delay`` seconds, counting builds; fails while ``failing`` is set."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay, self.builds, self.failing = delay, 0, False
        self.lock = threading.Lock()

    def __call__(self, meta: Any) -> FieldsSchema:
        time.sleep(self.delay)
        if self.failing:
            raise RuntimeError("builder broke: secret detail")
        with self.lock:
            self.builds += 1
        return FieldsSchema(meta)


def _app(engine: Engine, registry: SchemaRegistry) -> TestClient:
    app = FastAPI()
    app.state.engine = engine
    app.include_router(graphql_router(Runtime(engine), registry=registry, limits=Limits(),
                                      context=lambda *_: None))
    return TestClient(app)


@pytest.fixture
def crm(engine: Engine, workspace: str) -> str:
    apply_blueprint(engine, parse_blueprint(blueprint()), workspace)
    return workspace


@pytest.fixture
def token(engine: Engine, crm: str) -> str:
    return create_token(engine, crm, "manager", "anna@acme.test")[0]


@pytest.fixture
def builder() -> SlowBuilder:
    return SlowBuilder()


@pytest.fixture
def registry(builder: SlowBuilder) -> SchemaRegistry:
    return SchemaRegistry(builder)


@pytest.fixture
def client(engine: Engine, registry: SchemaRegistry) -> Iterator[TestClient]:
    with _app(engine, registry) as test_client:
        yield test_client


def _query(client: TestClient, ws: str, token: str, query: str) -> dict[str, Any]:
    response = client.post(f"/w/{ws}/graphql", json={"query": query},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_field_added_by_reapplying_is_queryable_at_once(engine: Engine, client: TestClient, crm: str,
                                                         token: str) -> None:
    assert _query(client, crm, token, "{ title }") == {"data": {"title": "title"}}
    assert _query(client, crm, token, "{ amount }")["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"
    apply_blueprint(engine, parse_blueprint(blueprint("amount")), crm)
    assert _query(client, crm, token, "{ title amount version }") == {
        "data": {"title": "title", "amount": "amount", "version": 2}}


def test_requests_during_the_swap_all_succeed_and_each_version_is_built_once(
        engine: Engine, crm: str, token: str) -> None:
    builder = SlowBuilder(delay=0.2)
    with _app(engine, SchemaRegistry(builder)) as client:
        _query(client, crm, token, "{ title }")
        stop = threading.Event()

        def hammer() -> list[dict[str, Any]]:
            answers = []
            while not stop.is_set():
                answers.append(_query(client, crm, token, "{ title version }"))
            return answers

        with ThreadPoolExecutor(4) as pool:
            running = [pool.submit(hammer) for _ in range(4)]
            time.sleep(0.1)
            apply_blueprint(engine, parse_blueprint(blueprint("amount")), crm)
            time.sleep(0.5)
            stop.set()
            answers = [a for r in running for a in r.result()]
    assert all("errors" not in a for a in answers)
    assert {a["data"]["version"] for a in answers} == {1, 2}
    assert builder.builds == 2


def test_two_servers_on_one_database_converge(engine: Engine, db_url: str, crm: str, token: str) -> None:
    other_engine = create_engine_for(db_url)
    try:
        with _app(engine, SchemaRegistry(SlowBuilder())) as one, \
                _app(other_engine, SchemaRegistry(SlowBuilder())) as two:
            assert _query(one, crm, token, "{ version }") == _query(two, crm, token, "{ version }")
            apply_blueprint(engine, parse_blueprint(blueprint("amount")), crm)
            for server in (one, two):
                assert _query(server, crm, token, "{ amount version }") == {
                    "data": {"amount": "amount", "version": 2}}
    finally:
        other_engine.dispose()


def test_old_versions_are_dropped(engine: Engine, client: TestClient, registry: SchemaRegistry, crm: str,
                                  token: str) -> None:
    for extra in ([], ["a1"], ["a1", "a2"], ["a1", "a2", "a3"]):
        if extra:
            apply_blueprint(engine, parse_blueprint(blueprint(*extra)), crm)
        _query(client, crm, token, "{ version }")
    assert registry.versions(crm) == [3, 4]


def test_a_failed_build_is_masked_and_the_next_request_builds_again(
        engine: Engine, client: TestClient, builder: SlowBuilder, crm: str, token: str,
        caplog: pytest.LogCaptureFixture) -> None:
    builder.failing = True
    response = client.post(f"/w/{crm}/graphql", json={"query": "{ title }"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500
    assert response.json() == {"errors": [{"message": "internal error", "extensions": {"code": "INTERNAL"}}]}
    assert "builder broke" in caplog.text
    builder.failing = False
    assert _query(client, crm, token, "{ title }") == {"data": {"title": "title"}}


def test_the_app_serves_the_generated_schema_and_follows_an_apply(engine: Engine, crm: str,
                                                                   token: str) -> None:
    app = create_app(Settings(database_url=str(engine.url)), engine=engine, runner=False)
    with TestClient(app) as client:
        before = _query(client, crm, token, "{ deals(first: 5) { totalCount } }")
        apply_blueprint(engine, parse_blueprint(blueprint("amount")), crm)
        after = _query(client, crm, token,
                       "{ deals(first: 5) { totalCount edges { node { title amount } } } }")
    assert before == {"data": {"deals": {"totalCount": 0}}}
    assert after == {"data": {"deals": {"totalCount": 0, "edges": []}}}
