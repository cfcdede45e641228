"""Roles of the blueprint on every path of the generated API: actions, hidden fields, own records.

Roles of the CRM fixture: ``manager`` reads/creates/updates Deal and Contact, own records only;
``analyst`` reads everything but Contact phone and email; ``dealer`` may do everything to Deal
and nothing else; ``clerk`` reads, creates and updates contacts without their phone; ``admin``
(built in) may do everything.
"""

from __future__ import annotations

from typing import Any

import pytest

ANNA = "anna@acme.test"
OLEG = "oleg@acme.test"

CREATE = 'mutation { createDeal(input: {title: "New"}) { id } }'


def _update(deal: int) -> str:
    return f'mutation {{ updateDeal(id: "{deal}", input: {{title: "Changed"}}) {{ title }} }}'


def _delete(deal: int) -> str:
    return f'mutation {{ deleteDeal(id: "{deal}") {{ id }} }}'


@pytest.mark.parametrize(("role", "allowed"), [
    ("admin", {"read", "create", "update", "delete"}),
    ("dealer", {"read", "create", "update", "delete"}),
    ("analyst", {"read"}),
    ("stranger", set()),
])
def test_each_action_on_deals_is_allowed_exactly_when_the_role_grants_it(crm: Any, role: str,
                                                                        allowed: set[str]) -> None:
    ids = crm.seed_deals(2)
    attempts = {"read": "{ deals { totalCount } }", "create": CREATE, "update": _update(ids[0]),
                "delete": _delete(ids[1])}
    for action, document in attempts.items():
        codes = crm.codes(document, role=role)
        assert codes == ([] if action in allowed else ["FORBIDDEN"]), (role, action, codes)


def test_a_role_without_read_cannot_fetch_a_single_record(crm: Any) -> None:
    company = crm.store.create("Company", {"name": "Acme"})
    assert crm.codes(f'{{ company(id: "{company["id"]}") {{ name }} }}', role="dealer") == ["FORBIDDEN"]


def test_a_reference_to_an_unreadable_entity_resolves_to_null(crm: Any) -> None:
    crm.seed_deals(1)
    data = crm.data("{ deals { edges { node { title contact { name } } } } }", role="dealer")
    assert data["deals"]["edges"] == [{"node": {"title": "Deal 0", "contact": None}}]


def test_an_inverse_list_of_an_unreadable_entity_is_forbidden(crm: Any) -> None:
    company = crm.store.create("Company", {"name": "Acme"})
    contact = crm.store.create("Contact", {"name": "Ann", "company": company["id"]})
    codes = crm.codes(f'{{ contact(id: "{contact["id"]}") {{ name }} }}', role="dealer")
    assert codes == ["FORBIDDEN"]


def test_a_hidden_field_reads_as_null_in_lists_and_single_records(crm: Any) -> None:
    contact = crm.store.create("Contact", {"name": "Ann", "phone": "+1 555 0100", "email": "ann@x.test"})
    listed = crm.data("{ contacts { edges { node { name phone email } } } }", role="analyst")
    single = crm.data(f'{{ contact(id: "{contact["id"]}") {{ name phone }} }}', role="analyst")
    assert listed["contacts"]["edges"] == [{"node": {"name": "Ann", "phone": None, "email": None}}]
    assert single["contact"] == {"name": "Ann", "phone": None}


def test_a_hidden_field_is_visible_to_roles_that_do_not_hide_it(crm: Any) -> None:
    crm.store.create("Contact", {"name": "Ann", "phone": "+1 555 0100"})
    data = crm.data("{ contacts { edges { node { phone } } } }")
    assert data["contacts"]["edges"] == [{"node": {"phone": "+1 555 0100"}}]


@pytest.mark.parametrize("document", [
    '{ contacts(where: {phone: {eq: "+1 555 0100"}}) { totalCount } }',
    '{ deals(where: {contact: {email: {icontains: "x"}}}) { totalCount } }',
    "{ contacts(orderBy: [{phone: ASC}]) { totalCount } }",
])
def test_filtering_or_sorting_on_a_hidden_field_is_forbidden(crm: Any, document: str) -> None:
    crm.store.create("Contact", {"name": "Ann", "phone": "+1 555 0100"})
    assert crm.codes(document, role="analyst") == ["FORBIDDEN"]


def test_own_records_roles_list_only_their_owners_records(crm: Any) -> None:
    crm.seed_deals(2, actor=crm.actor(ANNA))
    crm.seed_deals(3, actor=crm.actor(OLEG))
    anna = crm.data("{ deals { totalCount edges { node { owner { email } } } } }", role="manager", email=ANNA)
    assert anna["deals"]["totalCount"] == 2
    assert {e["node"]["owner"]["email"] for e in anna["deals"]["edges"]} == {ANNA}


def test_own_records_roles_do_not_see_others_records_by_id(crm: Any) -> None:
    [olegs] = crm.seed_deals(1, actor=crm.actor(OLEG))
    assert crm.codes(f'{{ deal(id: "{olegs}") {{ id }} }}', role="manager", email=ANNA) == ["NOT_FOUND"]


def test_own_records_roles_cannot_update_others_records(crm: Any) -> None:
    [olegs] = crm.seed_deals(1, actor=crm.actor(OLEG))
    assert crm.codes(_update(olegs), role="manager", email=ANNA) == ["NOT_FOUND"]
    assert crm.store.get("Deal", olegs)["title"] == "Deal 0"


def test_own_records_roles_update_their_own_and_create_records_they_own(crm: Any) -> None:
    [annas] = crm.seed_deals(1, actor=crm.actor(ANNA))
    assert crm.data(_update(annas), role="manager", email=ANNA)["updateDeal"] == {"title": "Changed"}
    created = crm.data('mutation { createDeal(input: {title: "Mine"}) { owner { email } } }',
                       role="manager", email=ANNA)
    assert created["createDeal"]["owner"] == {"email": ANNA}


def test_own_records_apply_to_references_and_inverse_lists(crm: Any) -> None:
    mine = crm.store.create("Contact", {"name": "Mine"}, actor=crm.actor(ANNA))
    theirs = crm.store.create("Contact", {"name": "Theirs"}, actor=crm.actor(OLEG))
    crm.store.create("Deal", {"title": "A", "contact": theirs["id"]}, actor=crm.actor(ANNA))
    crm.store.create("Deal", {"title": "B", "contact": mine["id"]}, actor=crm.actor(OLEG))
    crm.store.create("Deal", {"title": "C", "contact": mine["id"]}, actor=crm.actor(ANNA))
    deals = crm.data("{ deals(orderBy: [{title: ASC}]) { edges { node { title contact { name } } } } }",
                     role="manager", email=ANNA)
    assert [(e["node"]["title"], e["node"]["contact"]) for e in deals["deals"]["edges"]] == [
        ("A", None), ("C", {"name": "Mine"})]
    inverse = crm.data(f'{{ contact(id: "{mine["id"]}") {{ deals {{ totalCount }} }} }}',
                       role="manager", email=ANNA)
    assert inverse["contact"]["deals"]["totalCount"] == 1


def test_a_role_may_not_write_a_field_hidden_from_it(crm: Any) -> None:
    document = 'mutation { createContact(input: {name: "Ann", phone: "+1 555 0101"}) { id } }'
    assert crm.codes(document, role="clerk") == ["FORBIDDEN"]
    assert crm.data("{ contacts { totalCount } }")["contacts"]["totalCount"] == 0


def test_a_role_writes_the_fields_it_sees_and_reads_hidden_ones_as_null(crm: Any) -> None:
    data = crm.data('mutation { createContact(input: {name: "Ann"}) { name phone } }', role="clerk")
    assert data["createContact"] == {"name": "Ann", "phone": None}


def test_an_own_records_role_without_a_user_sees_no_records(crm: Any) -> None:
    crm.seed_deals(2, actor=crm.actor(ANNA))
    assert crm.data("{ deals { totalCount edges { cursor } } }", role="manager")["deals"] == {
        "totalCount": 0, "edges": []}
