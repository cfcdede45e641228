"""Inverse lists (``contact { deals }``) refuse what the caller got wrong and answer what is empty:
a bad ``first`` under several parents, a hidden reference, an empty parent list on the compiled path;
and record inputs of a ``records: own`` role cannot name an owner."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from graphql import parse
from sqlalchemy.engine import Engine

from api.auth import Principal
from api.graphql import GraphQLContext, build_schema
from api.graphql.compiled import PlanCache, execute_compiled
from api.graphql.endpoint import shaped
from tests.api.graphql.conftest import CRM, Crm, apply_crm

SCOUT = "  scout: {entities: {'*': [read]}, hide_fields: {Deal: [contact]}}\n"
HIDDEN_VIA = CRM.replace("roles:\n", "roles:\n" + SCOUT)
NESTED = "{ contacts { edges { node { name deals(first: %s) { totalCount edges { node { title } } } } } } }"


@pytest.fixture
def scouted(engine: Engine, workspace: str) -> Iterator[Crm]:
    meta = apply_crm(engine, workspace, HIDDEN_VIA)
    yield Crm(engine, meta, build_schema(meta))


def _contacts_with_deals(crm: Crm, contacts: int = 2, deals: int = 2) -> list[int]:
    ids = []
    for i in range(contacts):
        contact = crm.store.create("Contact", {"name": f"P{i}"})
        ids.append(contact["id"])
        for j in range(deals):
            crm.store.create("Deal", {"title": f"D{i}{j}", "contact": contact["id"]})
    return ids


def _compiled(crm: Crm, document: str) -> str | None:
    context = GraphQLContext(engine=crm.engine, meta=crm.meta,
                             principal=Principal(crm.meta.workspace, "admin", None, None, "tok"))
    data = execute_compiled(PlanCache(), crm.schema, context, parse(document), document, None, None)
    return None if data is None else json.dumps({"data": data})


def test_a_negative_first_under_several_parents_is_validation_failed(crm: Crm) -> None:
    _contacts_with_deals(crm)

    result = crm.run(NESTED % "-1")

    codes = {(e.extensions or {}).get("code") for e in result.errors or ()}
    assert codes == {"VALIDATION_FAILED"}
    assert all("first" in e.message for e in result.errors or ())


def test_a_first_above_the_page_limit_under_several_parents_is_validation_failed(crm: Crm) -> None:
    _contacts_with_deals(crm)

    assert set(crm.codes(NESTED % "5000")) == {"VALIDATION_FAILED"}


def test_a_valid_first_under_several_parents_cuts_each_parents_list(crm: Crm) -> None:
    _contacts_with_deals(crm)

    data = crm.data(NESTED % "1")

    assert [(len(e["node"]["deals"]["edges"]), e["node"]["deals"]["totalCount"])
            for e in data["contacts"]["edges"]] == [(1, 2), (1, 2)]


def test_an_empty_parent_list_with_an_inverse_is_answered_compiled(crm: Crm,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    document = "{ contacts { edges { node { deals { totalCount } } } } }"

    with caplog.at_level(logging.ERROR):
        answer = _compiled(crm, document)

    assert answer is not None, "the document fell back"
    result = crm.run(document)
    assert answer == json.dumps(shaped(result.data, result.errors).body)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_an_inverse_through_a_hidden_reference_is_forbidden_naming_both(scouted: Crm) -> None:
    [contact, _] = _contacts_with_deals(scouted)

    result = scouted.run(f'{{ contact(id: "{contact}") {{ deals {{ totalCount }} }} }}', role="scout")

    assert result.errors is not None
    [error] = result.errors
    assert (error.extensions or {}).get("code") == "FORBIDDEN"
    assert error.message == "Deal.contact is hidden from your role, so contact.deals is too"


def test_an_inverse_through_a_visible_reference_is_listed(scouted: Crm) -> None:
    [contact, _] = _contacts_with_deals(scouted)

    data = scouted.data(f'{{ contact(id: "{contact}") {{ deals {{ totalCount }} }} }}', role="analyst")

    assert data == {"contact": {"deals": {"totalCount": 2}}}


@pytest.mark.parametrize("mutation", ['createDeal(input: {title: "x", owner: "%s"}) { id }',
                                      'updateDeal(id: "1", input: {owner: "%s"}) { id }'])
def test_a_record_input_cannot_name_an_owner(crm: Crm, mutation: str) -> None:
    crm.store.create("Deal", {"title": "Mine"}, actor=crm.actor("anna@acme.test"))

    result = crm.run("mutation { " + mutation % "oleg@acme.test" + " }", role="manager",
                     email="anna@acme.test")

    assert result.data is None and result.errors is not None
    [error] = result.errors
    assert "not to include unknown field 'owner'" in error.message
    owners = {r["owner"] for r in crm.store.list("Deal", first=10).records}
    assert owners == {crm.user_id("anna@acme.test")}
