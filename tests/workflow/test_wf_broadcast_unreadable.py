"""A broadcast never reads an entity the caller's role may not read: its address path, placeholders
and segment are refused (WF_BROADCAST_FORBIDDEN, with the place) when they step into one, on both
databases.  ``hidden`` carries (entity, "*") for such an entity, as the API's ``Access`` builds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from metamodel.migrate import apply_blueprint_path
from metamodel.records.filters import UNREADABLE
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from workflow import BroadcastForbidden, BroadcastSpec
from workflow.broadcasts_check import check_broadcast

BLUEPRINT = """
workspace: unreadable
entities:
  Company:
    fields:
      name: {type: string}
  Contact:
    fields:
      name: {type: string, required: true}
      email: {type: email}
      phone: {type: phone}
      company: {type: reference, to: Company}
  Deal:
    fields:
      title: {type: string, required: true}
      mailbox: {type: email}
      contact: {type: reference, to: Contact}
"""
NO_CONTACTS = frozenset({("Contact", UNREADABLE)})


@pytest.fixture
def store(engine: Engine, workspace: str, tmp_path: Path) -> RecordStore:
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
    apply_blueprint_path(engine, tmp_path, workspace)
    return RecordStore(engine, load_workspace_meta(engine, workspace))


def deal_mail(**values: Any) -> BroadcastSpec:
    spec: dict[str, Any] = {"entity": "Deal", "channel": "email", "subject": "News", "body": "Hi",
                            "to": "contact.email"}
    return BroadcastSpec(**(spec | values))


def refused(store: RecordStore, spec: BroadcastSpec, hidden: frozenset[tuple[str, str]]) -> dict[str, str]:
    with pytest.raises(BroadcastForbidden) as caught:
        check_broadcast(store, spec, hidden)
    return dict(caught.value.problems)


def test_an_address_in_an_unreadable_entity_is_forbidden(store: RecordStore) -> None:
    problems = refused(store, deal_mail(), NO_CONTACTS)

    assert problems == {"to": "Contact records are not readable by your role"}


@pytest.mark.parametrize("place", ["subject", "body"])
def test_a_placeholder_in_an_unreadable_entity_is_forbidden(store: RecordStore, place: str) -> None:
    problems = refused(store, deal_mail(to="mailbox", **{place: "Call {contact.phone}"}), NO_CONTACTS)

    assert problems == {place: "Contact records are not readable by your role"}


def test_a_placeholder_inside_literal_braces_is_still_read(store: RecordStore) -> None:
    problems = refused(store, deal_mail(to="mailbox", body="phone {{{contact.phone}}}"), NO_CONTACTS)

    assert list(problems) == ["body"]


def test_literal_braces_are_not_a_placeholder(store: RecordStore) -> None:
    checked = check_broadcast(store, deal_mail(to="mailbox", body="write {{contact.phone}}"), NO_CONTACTS)

    assert checked.body == "write {{contact.phone}}"


def test_a_segment_through_an_unreadable_entity_is_forbidden(store: RecordStore) -> None:
    spec = deal_mail(to="mailbox", where={"contact": {"name": {"eq": "Ann"}}})

    problems = refused(store, spec, NO_CONTACTS)

    assert problems == {"where.contact": "Contact records are not readable by your role"}


def test_every_step_of_a_path_is_checked(store: RecordStore) -> None:
    hidden = frozenset({("Company", UNREADABLE)})

    problems = refused(store, deal_mail(body="From {contact.company.name}"), hidden)

    assert problems == {"body": "Company records are not readable by your role"}


def test_paths_through_readable_entities_are_accepted(store: RecordStore) -> None:
    spec = deal_mail(body="Hi {contact.name}", where={"contact": {"name": {"eq": "Ann"}}})

    checked = check_broadcast(store, spec, frozenset({("Company", UNREADABLE)}))

    assert (checked.to, checked.where) == ("contact.email", {"contact": {"name": {"eq": "Ann"}}})


def test_a_hidden_field_is_refused_without_any_unreadable_entity(store: RecordStore) -> None:
    problems = refused(store, deal_mail(body="Call {contact.phone}"), frozenset({("Contact", "phone")}))

    assert problems == {"body": "Contact.phone is not visible to you"}
