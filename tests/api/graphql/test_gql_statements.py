"""The performance contract of spec/graphql.md: one request, a bounded number of SQL statements.

Each test sends the same document over HTTP (the app in-process, so whatever executor the endpoint
uses is the one counted) with 5 records and with 500, on SQLite and PostgreSQL, and the statement
counts must be equal: references, inverse lists and aggregates load per level, never per row.
The token lookup (and its at-most-once-a-minute ``last used`` write) is the same for any document
and is left out, so a slow run crossing a minute cannot make the counts differ; so are SQLite's
``BEGIN`` statements (transaction control, not queries).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection

from api.app import create_app
from api.settings import Settings
from metamodel.tokens import create_token

FEW, MANY = 5, 500

LIST = ("{ deals(first: 1000, orderBy: [{amount: DESC}]) { totalCount pageInfo { hasNextPage } edges { "
        "node { id title amount paid dueOn score margin version createdAt updatedAt "
        "owner { name } stage { code kind } contact { name email company { name } } } } } }")
INVERSE = ("{ contacts(first: 1000) { edges { node { name deals(first: 3) { totalCount "
           "pageInfo { hasNextPage } edges { node { title amount } } } } } } }")
INVERSE_IN_INVERSE = ("{ companies(first: 1000) { edges { node { name contacts(first: 5) { totalCount "
                      "edges { node { name deals(first: 3) { totalCount edges { node { title } } } } } } } "
                      "} } }")
REFERENCE_IN_INVERSE = ("{ contacts(first: 1000) { edges { node { name deals(first: 3) { edges { node { "
                        "title contact { name } } } } } } } }")
ONE_WITH_INVERSE = ('query($id: ID!) { company(id: $id) { name contacts(first: 1000) { totalCount edges { '
                    'node { name deals(first: 10) { edges { node { title } } } } } } } }')
AGGREGATES = ("{ dealsAggregate(where: {contact: {company: {name: {startsWith: \"Company\"}}}}) { count "
              "sum { amount } avg { amount } max { amount } } "
              "dealsGroupBy(by: [STAGE]) { key { stage } count sum { amount } } }")


class Http:
    """The app in-process with an admin token; ``send`` posts a document, counting its statements."""

    def __init__(self, crm: Any, client: TestClient, token: str) -> None:
        self.crm, self.client, self.token = crm, client, token

    def send(self, document: str, variables: dict[str, Any] | None = None) -> tuple[Any, list[str]]:
        with self.crm.statements() as counter:
            response = self.client.post(f"/w/{self.crm.meta.workspace}/graphql",
                                        json={"query": document, "variables": variables},
                                        headers={"Authorization": f"Bearer {self.token}"})
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        counted = [s for s in counter.seen if "sc_api_tokens" not in s and not _transaction_control(s)]
        return body["data"], counted


def _transaction_control(statement: str) -> bool:
    """SQLite's ``BEGIN`` (sent as a statement) and the like: a round trip, but no work of the query."""
    return statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"))


@pytest.fixture
def http(crm: Any) -> Iterator[Http]:
    engine = crm.engine
    app = create_app(Settings(database_url=engine.url.render_as_string(hide_password=False)),
                     engine=engine, runner=False)
    token = create_token(engine, crm.meta.workspace, "admin")[0]
    with TestClient(app) as client:
        yield Http(crm, client, token)


def seed(crm: Any, start: int, stop: int, company: int | None = None) -> None:
    """Deals ``start`` to ``stop``, each with a contact and (unless ``company`` is given) a company of
    its own, as ``crm.seed_deals`` makes them but in multi-row INSERTs: the store's one-by-one creates
    would make these tests take minutes, and how rows were written does not change how they are read."""
    tables, now = crm.meta.tables, datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now, "version": 1}
    with crm.engine.begin() as conn:
        companies = [company] * (stop - start) if company is not None else _insert(
            conn, tables.entity("Company"), [{**stamps, "name": f"Company {i}"} for i in range(start, stop)])
        contacts = _insert(conn, tables.entity("Contact"), [
            {**stamps, "name": f"Contact {i}", "company": company}
            for i, company in zip(range(start, stop), companies, strict=True)])
        _insert(conn, tables.entity("Deal"), [
            {**stamps, "title": f"Deal {i}", "amount": Decimal(f"{100 * (i + 1)}.50"), "contact": contact,
             "paid": False, "pipeline": "sales", "stage": "new", "stage_entered_at": now}
            for i, contact in zip(range(start, stop), contacts, strict=True)])


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    returning = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return [int(row.id) for row in conn.execute(returning, rows)]


def _few_then_many(http: Http, document: str) -> tuple[tuple[Any, list[str]], tuple[Any, list[str]]]:
    """The document's data and counted statements with ``FEW`` deals, then with ``MANY``."""
    seed(http.crm, 0, FEW)
    http.send(document)  # the schema of the workspace is built by the first request, not counted
    few = http.send(document)
    seed(http.crm, FEW, MANY)
    return few, http.send(document)


def test_a_list_with_references_costs_the_same_statements_for_500_rows_as_for_5(http: Http) -> None:
    (small, few), (large, many) = _few_then_many(http, LIST)
    assert len(small["deals"]["edges"]) == FEW and large["deals"]["totalCount"] == MANY
    assert all(e["node"]["contact"]["company"]["name"] for e in large["deals"]["edges"])
    assert len(many) == len(few), (few, many)
    assert len(few) <= 8, few  # schema version, deals, count, contacts, companies (+ the version read again)


def test_an_inverse_list_under_a_list_costs_the_same_statements_for_500_parents_as_for_5(http: Http) -> None:
    (small, few), (large, many) = _few_then_many(http, INVERSE)
    assert len(small["contacts"]["edges"]) == FEW and len(large["contacts"]["edges"]) == MANY
    assert all(e["node"]["deals"]["totalCount"] == 1 for e in large["contacts"]["edges"])
    assert len(many) == len(few), (few, many)


def test_an_inverse_list_inside_an_inverse_list_costs_the_same_statements(http: Http) -> None:
    (_small, few), (large, many) = _few_then_many(http, INVERSE_IN_INVERSE)
    assert len(large["companies"]["edges"]) == MANY
    assert len(many) == len(few), (len(few), len(many))


def test_a_reference_inside_an_inverse_list_costs_the_same_statements(http: Http) -> None:
    (_small, few), (large, many) = _few_then_many(http, REFERENCE_IN_INVERSE)
    assert len(large["contacts"]["edges"]) == MANY
    assert len(many) == len(few), (len(few), len(many))


def test_one_record_with_a_long_inverse_list_costs_the_same_statements(http: Http) -> None:
    company = http.crm.store.create("Company", {"name": "Acme"})["id"]
    variables = {"id": str(company)}
    seed(http.crm, 0, FEW, company)
    http.send(ONE_WITH_INVERSE, variables)
    small, few = http.send(ONE_WITH_INVERSE, variables)
    seed(http.crm, FEW, MANY, company)
    large, many = http.send(ONE_WITH_INVERSE, variables)
    assert small["company"]["contacts"]["totalCount"] == FEW
    assert len(large["company"]["contacts"]["edges"]) == MANY
    assert len(many) == len(few), (few, many)


def test_an_aggregate_and_a_group_by_cost_one_statement_each_whatever_the_rows(http: Http) -> None:
    (small, few), (large, many) = _few_then_many(http, AGGREGATES)
    assert (small["dealsAggregate"]["count"], large["dealsAggregate"]["count"]) == (FEW, MANY)
    assert sum(g["count"] for g in large["dealsGroupBy"]) == MANY
    assert len(many) == len(few), (few, many)
    on_records = [s for s in many if "sc_workspaces" not in s]  # not the schema's version lookup
    assert len(on_records) == 2, on_records
