"""The ``messages`` and ``users`` built-in queries, and what each role may see of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from metamodel.storage import system_tables

MESSAGES = "{{ messages({args}) {{ id channel to subject body status entity recordId createdAt }} }}"
USERS = "{ users { id name email role active } }"
OLEG = "  - {email: oleg@acme.test, name: Oleg, role: manager}\n"


def _message(crm: Any, entity: str | None, record_id: int | None, body: str = "Hello") -> None:
    """A message row as the workflow's send step leaves it."""
    with crm.engine.begin() as conn:
        conn.execute(sa.insert(system_tables.messages).values(
            workspace=crm.meta.workspace, channel="email", recipient="client@shop.test", subject="Hi",
            body=body, status="sent", entity=entity, record_id=record_id,
            created_at=dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.UTC)))


def _bodies(crm: Any, args: str = "first: 50", **kwargs: Any) -> list[str]:
    return [m["body"] for m in crm.data(MESSAGES.format(args=args), **kwargs)["messages"]]


def _deal_and_contact(crm: Any, owner: str | None = None) -> tuple[int, int]:
    actor = crm.actor(owner) if owner else None
    contact = crm.store.create("Contact", {"name": "Ivan"}, actor=actor)["id"]
    deal = crm.store.create("Deal", {"title": "Sofa", "contact": contact}, actor=actor)["id"]
    return deal, contact


def test_messages_show_channel_recipient_text_status_and_record(crm: Any) -> None:
    deal, _ = _deal_and_contact(crm)
    _message(crm, "Deal", deal)
    [message] = crm.data(MESSAGES.format(args="first: 50"))["messages"]
    assert {k: v for k, v in message.items() if k not in ("id", "createdAt")} == {
        "channel": "email", "to": "client@shop.test", "subject": "Hi", "body": "Hello", "status": "sent",
        "entity": "Deal", "recordId": str(deal)}
    assert message["createdAt"].startswith("2026-05-01T09:30:00")


def test_messages_are_listed_newest_first(crm: Any) -> None:
    deal, _ = _deal_and_contact(crm)
    for body in ("first", "second", "third"):
        _message(crm, "Deal", deal, body)
    assert _bodies(crm) == ["third", "second", "first"]


def test_messages_filter_by_entity_and_record(crm: Any) -> None:
    deal, contact = _deal_and_contact(crm)
    other, _ = _deal_and_contact(crm)
    _message(crm, "Deal", deal, "about the deal")
    _message(crm, "Deal", other, "about the other deal")
    _message(crm, "Contact", contact, "about the contact")
    assert _bodies(crm, f'entity: "Deal", recordId: "{deal}"') == ["about the deal"]
    assert _bodies(crm, 'entity: "Contact"') == ["about the contact"]


def test_messages_first_bounds_the_list(crm: Any) -> None:
    deal, _ = _deal_and_contact(crm)
    for body in ("a", "b", "c"):
        _message(crm, "Deal", deal, body)
    assert _bodies(crm, "first: 2") == ["c", "b"]


def test_an_admin_sees_messages_about_no_record(crm: Any) -> None:
    _message(crm, None, None, "broadcast")
    assert _bodies(crm) == ["broadcast"]


def test_messages_about_an_entity_the_role_may_not_read_are_not_shown(crm: Any) -> None:
    deal, contact = _deal_and_contact(crm)
    _message(crm, "Deal", deal, "about the deal")
    _message(crm, "Contact", contact, "about the contact")
    _message(crm, None, None, "broadcast")
    assert _bodies(crm, role="clerk") == ["about the contact"]


def test_asking_for_messages_of_an_entity_the_role_may_not_read_is_forbidden(crm: Any) -> None:
    assert crm.codes(MESSAGES.format(args='entity: "Deal"'), role="clerk") == ["FORBIDDEN"]


def test_messages_of_an_unknown_entity_are_refused_as_invalid(crm: Any) -> None:
    assert crm.codes(MESSAGES.format(args='entity: "Nope"')) == ["VALIDATION_FAILED"]


def test_a_bad_first_keeps_the_workflow_code(crm: Any) -> None:
    assert crm.codes(MESSAGES.format(args="first: 0")) == ["WF_BAD_LIMIT"]


def test_an_own_records_role_sees_messages_about_its_own_record(crm: Any) -> None:
    deal, _ = _deal_and_contact(crm, owner="anna@acme.test")
    _message(crm, "Deal", deal, "mine")
    args = f'entity: "Deal", recordId: "{deal}"'
    assert _bodies(crm, args, role="manager", email="anna@acme.test") == ["mine"]


def test_an_own_records_role_may_not_read_messages_about_records_of_others(crm: Any) -> None:
    deal, _ = _deal_and_contact(crm, owner="oleg@acme.test")
    _message(crm, "Deal", deal, "oleg's")
    document = MESSAGES.format(args=f'entity: "Deal", recordId: "{deal}"')
    assert crm.codes(document, role="manager", email="anna@acme.test") == ["NOT_FOUND"]


def test_an_own_records_role_gets_no_unscoped_message_list(crm: Any) -> None:
    deal, _ = _deal_and_contact(crm, owner="anna@acme.test")
    _message(crm, "Deal", deal, "mine")
    assert _bodies(crm, role="manager", email="anna@acme.test") == []


def test_messages_of_a_role_reading_several_entities_cost_one_statement(crm: Any) -> None:
    deal, contact = _deal_and_contact(crm)
    for _ in range(5):
        _message(crm, "Deal", deal)
        _message(crm, "Contact", contact)
    with crm.statements() as seen:
        assert len(_bodies(crm, role="analyst")) == 10
    assert len([s for s in seen.seen if "sc_messages" in s]) == 1  # Company, Contact and Deal at once


def test_users_lists_the_workspace_users_with_role_and_state(crm: Any) -> None:
    users = crm.data(USERS)["users"]
    assert [{k: u[k] for k in ("name", "email", "role", "active")} for u in users] == [
        {"name": "Anna", "email": "anna@acme.test", "role": "manager", "active": True},
        {"name": "Oleg", "email": "oleg@acme.test", "role": "manager", "active": True}]
    assert users[0]["id"] == str(crm.user_id("anna@acme.test"))


def test_an_admin_sees_deactivated_users(crm: Any) -> None:
    crm.reapply(OLEG, "")
    assert [(u["email"], u["active"]) for u in crm.data(USERS)["users"]] == [
        ("anna@acme.test", True), ("oleg@acme.test", False)]


def test_other_roles_see_only_active_users(crm: Any) -> None:
    crm.reapply(OLEG, "")
    assert [u["email"] for u in crm.data(USERS, role="clerk")["users"]] == ["anna@acme.test"]


def test_users_first_bounds_the_list(crm: Any) -> None:
    assert [u["name"] for u in crm.data("{ users(first: 1) { name } }")["users"]] == ["Anna"]


def test_a_bad_users_first_is_refused_as_invalid(crm: Any) -> None:
    result = crm.run("{ users(first: 0) { name } }")
    assert [(e.extensions or {}).get("code") for e in result.errors or ()] == ["VALIDATION_FAILED"]
    assert "first" in (result.errors[0].extensions or {})["fields"]
