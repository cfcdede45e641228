"""Bad input that used to reach the database and come back INTERNAL: ids past 64 bits, the last
date of the calendar as a funnel's end, and NUL in the text of notes and broadcasts."""

from __future__ import annotations

from typing import Any

import pytest

from metamodel.records.coerce import NUL_REASON

HUGE = "99999999999999999999"  # 20 digits: more than a 64-bit integer holds
NOTE = 'mutation($text: String!) {{ addNote(entity: "Deal", recordId: "{id}", text: $text) {{ id }} }}'
SEND = """mutation($subject: String, $body: String!, $where: JSON) {
  broadcast(entity: "Contact", channel: "email", subject: $subject, body: $body, where: $where) { id } }"""


def _error(crm: Any, document: str, **kwargs: Any) -> dict[str, Any]:
    """The only error of a run, as its message and extensions."""
    result = crm.run(document, **kwargs)
    assert result.errors is not None and len(result.errors) == 1, result.errors
    return {"message": result.errors[0].message, **(result.errors[0].extensions or {})}


@pytest.mark.parametrize("document", [
    f'{{ messages(entity: "Deal", recordId: "{HUGE}") {{ id }} }}',
    f'{{ notes(entity: "Deal", recordId: "{HUGE}") {{ id }} }}',
    f'{{ deal(id: "{HUGE}") {{ id }} }}',
])
def test_an_id_past_64_bits_is_not_found(crm: Any, document: str) -> None:
    assert _error(crm, document)["code"] == "NOT_FOUND"


def test_broadcasts_of_an_id_past_64_bits_are_none(crm: Any) -> None:
    """As for any unknown id: the ``broadcasts`` list is filtered, not a lookup."""
    assert crm.data(f'{{ broadcasts(id: "{HUGE}") {{ id }} }}') == {"broadcasts": []}


def test_messages_of_an_id_that_fits_but_names_no_record_are_none(crm: Any) -> None:
    assert crm.data('{ messages(entity: "Deal", recordId: "9223372036854775807") { id } }') == {
        "messages": []}


def test_a_funnel_to_the_last_day_of_the_calendar_counts_every_record(crm: Any) -> None:
    crm.seed_deals(2)

    data = crm.data('{ funnel(entity: "Deal", from: "0001-01-01", to: "9999-12-31") { total } }')

    assert data == {"funnel": {"total": 2}}


def test_a_funnel_to_a_day_that_is_no_date_is_validation_failed(crm: Any) -> None:
    error = _error(crm, '{ funnel(entity: "Deal", to: "10000-01-01") { total } }')

    assert (error["code"], list(error["fields"])) == ("VALIDATION_FAILED", ["to"])


def test_a_note_holding_nul_is_validation_failed_on_text(crm: Any) -> None:
    [deal] = crm.seed_deals(1)

    error = _error(crm, NOTE.format(id=deal), variables={"text": "x\u0000y"})

    assert (error["code"], error["fields"]) == ("VALIDATION_FAILED", {"text": NUL_REASON})
    assert crm.data(f'{{ notes(entity: "Deal", recordId: "{deal}") {{ id }} }}') == {"notes": []}


@pytest.mark.parametrize(("variables", "place"), [
    ({"subject": "s\u0000", "body": "b"}, "subject"),
    ({"subject": "s", "body": "b\u0000"}, "body"),
    ({"subject": "s", "body": "b", "where": {"name": {"eq": "a\u0000"}}}, "where"),
])
def test_a_broadcast_holding_nul_is_validation_failed_on_its_place(crm: Any, variables: dict[str, Any],
                                                                  place: str) -> None:
    error = _error(crm, SEND, variables=variables)

    assert (error["code"], list(error["fields"])) == ("VALIDATION_FAILED", [place])
    assert crm.data("{ broadcasts { id } }") == {"broadcasts": []}


def test_tasks_of_an_assignee_holding_nul_is_validation_failed(crm: Any) -> None:
    error = _error(crm, '{ tasks(where: {assigneeEmail: "a\\u0000"}) { id } }')

    assert (error["code"], error["fields"]) == ("VALIDATION_FAILED", {"where.assigneeEmail": NUL_REASON})


def test_tasks_of_an_assignee_without_tasks_are_none(crm: Any) -> None:
    assert crm.data('{ tasks(where: {assigneeEmail: "nobody@acme.test"}) { id } }') == {"tasks": []}
