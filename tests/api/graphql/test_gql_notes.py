"""The built-in ``Note``: ``notes`` and ``addNote``, who may read and add them, and bad input."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.records import MAX_NOTE_LENGTH

ADD = 'mutation($id: ID!, $text: String!) {{ addNote(entity: "{entity}", recordId: $id, text: $text) ' \
      "{{ id entity recordId text author createdAt }} }}"
NOTES = '{{ notes(entity: "{entity}", recordId: "{id}"{more}) {{ id text author }} }}'
ANNA = "anna@acme.test"


def _add(crm: Any, record_id: int, text: str, entity: str = "Deal", **kwargs: Any) -> Any:
    return crm.run(ADD.format(entity=entity), variables={"id": str(record_id), "text": text}, **kwargs)


def _texts(crm: Any, record_id: int, more: str = "", entity: str = "Deal", **kwargs: Any) -> list[str]:
    notes = crm.data(NOTES.format(entity=entity, id=record_id, more=more), **kwargs)["notes"]
    return [n["text"] for n in notes]


def _deal(crm: Any, owner: str | None = None) -> int:
    actor = crm.actor(owner) if owner else None
    return int(crm.store.create("Deal", {"title": "Sofa"}, actor=actor)["id"])


def test_add_note_returns_the_note_signed_by_its_author(crm: Any) -> None:
    deal = _deal(crm, ANNA)
    result = _add(crm, deal, "  Called, call back on Monday  ", role="manager", email=ANNA)
    assert result.errors is None
    note = result.data["addNote"]
    assert {k: note[k] for k in ("entity", "recordId", "text", "author")} == {
        "entity": "Deal", "recordId": str(deal), "text": "Called, call back on Monday", "author": ANNA}
    assert note["createdAt"]


def test_notes_are_listed_newest_first_and_first_bounds_them(crm: Any) -> None:
    deal = _deal(crm)
    for text in ("one", "two", "three"):
        _add(crm, deal, text)
    assert _texts(crm, deal) == ["three", "two", "one"]
    assert _texts(crm, deal, more=", first: 2") == ["three", "two"]


def test_notes_are_those_of_the_record_asked_for(crm: Any) -> None:
    deal, other = _deal(crm), _deal(crm)
    contact = int(crm.store.create("Contact", {"name": "Ivan"})["id"])
    _add(crm, deal, "about the deal")
    _add(crm, other, "about the other deal")
    _add(crm, contact, "about the contact", entity="Contact")
    assert _texts(crm, deal) == ["about the deal"]
    assert _texts(crm, contact, entity="Contact") == ["about the contact"]


@pytest.mark.parametrize("text", ["", "   \n ", "x" * (MAX_NOTE_LENGTH + 1)])
def test_empty_or_oversized_text_is_validation_failed_on_text(crm: Any, text: str) -> None:
    deal = _deal(crm)
    [error] = _add(crm, deal, text).errors
    assert error.extensions["code"] == "VALIDATION_FAILED"
    assert list(error.extensions["fields"]) == ["text"]
    assert _texts(crm, deal) == []


def test_a_note_of_the_longest_length_is_accepted(crm: Any) -> None:
    deal = _deal(crm)
    assert _add(crm, deal, "x" * MAX_NOTE_LENGTH).errors is None


def test_adding_a_note_needs_update_permission_reading_them_does_not(crm: Any) -> None:
    deal = _deal(crm)
    _add(crm, deal, "by the admin")
    [error] = _add(crm, deal, "by the analyst", role="analyst").errors
    assert error.extensions["code"] == "FORBIDDEN"
    assert _texts(crm, deal, role="analyst") == ["by the admin"]


def test_a_role_that_may_not_read_the_entity_may_not_read_its_notes(crm: Any) -> None:
    deal = _deal(crm)
    assert crm.codes(NOTES.format(entity="Deal", id=deal, more=""), role="clerk") == ["FORBIDDEN"]


def test_an_own_records_role_sees_and_adds_notes_only_on_its_own_records(crm: Any) -> None:
    mine, theirs = _deal(crm, ANNA), _deal(crm, "oleg@acme.test")
    _add(crm, theirs, "secret")
    query = NOTES.format(entity="Deal", id=theirs, more="")
    assert crm.codes(query, role="manager", email=ANNA) == ["NOT_FOUND"]
    [error] = _add(crm, theirs, "sneaky", role="manager", email=ANNA).errors
    assert error.extensions["code"] == "NOT_FOUND"
    assert _add(crm, mine, "fine", role="manager", email=ANNA).errors is None
    assert _texts(crm, theirs) == ["secret"]


@pytest.mark.parametrize(("entity", "record", "more", "code"), [
    ("Nope", "1", "", "VALIDATION_FAILED"),
    ("Deal", "999999", "", "NOT_FOUND"),
    ("Deal", "abc", "", "NOT_FOUND"),
    ("Deal", "{deal}", ", first: 0", "VALIDATION_FAILED"),
    ("Deal", "{deal}", ", first: 100000", "VALIDATION_FAILED"),
])
def test_bad_notes_arguments_are_refused(crm: Any, entity: str, record: str, more: str, code: str) -> None:
    deal = _deal(crm)
    query = NOTES.format(entity=entity, id=record.format(deal=deal), more=more)
    assert crm.codes(query) == [code]


def test_adding_a_note_to_a_missing_record_is_not_found(crm: Any) -> None:
    [error] = _add(crm, 999999, "hello").errors
    assert error.extensions["code"] == "NOT_FOUND"


def test_notes_of_a_deleted_record_are_not_found(crm: Any) -> None:
    deal = _deal(crm)
    _add(crm, deal, "before")
    crm.store.delete("Deal", deal)
    assert crm.codes(NOTES.format(entity="Deal", id=deal, more="")) == ["NOT_FOUND"]
