"""A role may not filter, count, export or broadcast through an entity it may not read: every surface
answers FORBIDDEN (403 over REST) and names the step, on SQLite and PostgreSQL.

In the CRM fixture ``dealer`` reads only Deal and ``clerk`` only Contact; ``analyst`` reads all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from metamodel.storage.system_tables import broadcasts
from metamodel.tokens import create_token

if TYPE_CHECKING:
    from conftest import Crm

BY_CONTACT = '{ deals(where: {contact: {name: {startsWith: "Contact 0"}}}) { edges { node { title } } } }'
BY_DEALS = '{ contacts(where: {deals: {some: {title: {eq: "Deal 0"}}}}) { edges { node { name } } } }'
CONTACT_FILTER = '{contact: {name: {eq: "Contact 0"}}}'
BROADCAST = """mutation($to: String, $body: String!, $where: JSON) {
  broadcast(entity: "Deal", channel: "email", subject: "News", body: $body, to: $to, where: $where) { id }
}"""


@pytest.fixture
def client(crm: Crm) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=str(crm.engine.url)), engine=crm.engine, runner=False)
    with TestClient(app) as test_client:
        yield test_client


def _headers(crm: Crm, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(crm.engine, crm.meta.workspace, role, None)[0]}"}


def _messages(crm: Crm, document: str, role: str, variables: dict[str, Any] | None = None) -> list[str]:
    result = crm.run(document, role=role, variables=variables)
    assert [(e.extensions or {}).get("code") for e in result.errors or ()] == ["FORBIDDEN"], result.errors
    return [e.message for e in result.errors or ()]


def test_a_filter_through_a_reference_the_role_may_not_read_is_forbidden(crm: Crm) -> None:
    crm.seed_deals(1)

    [message] = _messages(crm, BY_CONTACT, "dealer")

    assert "where.contact: Contact records are not readable by your role" in message


def test_a_filter_through_an_inverse_list_the_role_may_not_read_is_forbidden(crm: Crm) -> None:
    crm.seed_deals(1)

    [message] = _messages(crm, BY_DEALS, "clerk")

    assert "Deal records are not readable by your role" in message


def test_a_role_that_reads_the_target_filters_through_it(crm: Crm) -> None:
    crm.seed_deals(2)

    edges = crm.data(BY_CONTACT, role="analyst")["deals"]["edges"]

    assert [e["node"]["title"] for e in edges] == ["Deal 0"]


def test_the_reference_id_stays_filterable_without_reading_the_target(crm: Crm) -> None:
    crm.seed_deals(2)
    contact = crm.store.list("Contact", where={"name": {"eq": "Contact 1"}}).records[0]["id"]

    data = crm.data(f'{{ deals(where: {{contact: {{id: {{eq: "{contact}"}}}}}}) {{ totalCount }} }}',
                    role="dealer")

    assert data["deals"]["totalCount"] == 1


def test_aggregates_may_not_filter_through_an_unreadable_entity(crm: Crm) -> None:
    _messages(crm, f"{{ dealsAggregate(where: {CONTACT_FILTER}) {{ count }} }}", "dealer")


def test_group_by_may_not_filter_through_an_unreadable_entity(crm: Crm) -> None:
    _messages(crm, f"{{ dealsGroupBy(by: [PAID], where: {CONTACT_FILTER}) {{ count }} }}", "dealer")


def test_the_funnel_may_not_filter_through_an_unreadable_entity(crm: Crm) -> None:
    _messages(crm, f'{{ funnel(entity: "Deal", where: {CONTACT_FILTER}) {{ total }} }}', "dealer")


def test_the_endpoint_refuses_the_filter_on_its_compiled_path_too(crm: Crm, client: TestClient) -> None:
    crm.seed_deals(1)

    response = client.post(f"/w/{crm.meta.workspace}/graphql", json={"query": BY_CONTACT},
                           headers=_headers(crm, "dealer"))

    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert body.get("data") is None or body["data"].get("deals") is None


def test_an_export_filtered_through_an_unreadable_entity_is_refused_with_403(crm: Crm,
                                                                           client: TestClient) -> None:
    crm.seed_deals(1)

    response = client.get(f"/w/{crm.meta.workspace}/exports/Deal", headers=_headers(crm, "dealer"),
                          params={"where": '{"contact": {"name": {"eq": "Contact 0"}}}'})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("variables", [
    {"to": "contact.email", "body": "Hi"},
    {"body": "phone={contact.phone}"},
    {"body": "phone={{{contact.phone}}}"},
    {"body": "Hi", "where": {"contact": {"name": {"eq": "Contact 0"}}}},
], ids=["to", "placeholder", "braced-placeholder", "where"])
def test_a_broadcast_may_not_read_an_unreadable_entity(crm: Crm, variables: dict[str, Any]) -> None:
    crm.seed_deals(1)

    _messages(crm, BROADCAST, "dealer", variables)

    with crm.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(broadcasts).where(
            broadcasts.c.workspace == crm.meta.workspace)).scalar_one() == 0
