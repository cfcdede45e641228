"""Record mutations of the generated API: create, update with expectedVersion, delete and restore."""

from __future__ import annotations

import logging
from typing import Any

import pytest


def _create(crm: Any, fields: str) -> Any:
    return crm.run(f"mutation {{ createDeal(input: {{{fields}}}) {{ id title amount version "
                   "contact { name } stage { code } } }")


def test_create_returns_the_new_record(crm: Any) -> None:
    contact = crm.store.create("Contact", {"name": "Ann"})
    result = _create(crm, f'title: "Sofa", amount: 1200, contactId: "{contact["id"]}", stage: "negotiation"')
    assert result.errors is None
    created = result.data["createDeal"]
    assert {k: created[k] for k in ("title", "amount", "version", "contact", "stage")} == {
        "title": "Sofa", "amount": "1200.00", "version": 1, "contact": {"name": "Ann"},
        "stage": {"code": "negotiation"}}
    assert crm.store.get("Deal", int(created["id"]))["title"] == "Sofa"


def test_create_refuses_bad_input_naming_every_field_in_camel_case(crm: Any) -> None:
    result = crm.run('mutation { createDeal(input: {score: 500, dueOn: "2026-01-01", contactId: "999999"}) '
                     "{ id } }")
    assert result.errors is not None
    extensions = result.errors[0].extensions or {}
    assert extensions["code"] == "VALIDATION_FAILED"
    assert {"title", "score", "contactId"} <= set(extensions["fields"])


def test_a_title_too_long_is_a_validation_error_of_that_field(crm: Any) -> None:
    result = _create(crm, f'title: "{"x" * 51}"')
    assert result.errors is not None and set((result.errors[0].extensions or {})["fields"]) == {"title"}


def test_an_unknown_stage_is_refused_with_its_code(crm: Any) -> None:
    document = 'mutation { createDeal(input: {title: "A", stage: "nowhere"}) { id } }'
    assert crm.codes(document) == ["UNKNOWN_STAGE"]


def test_update_changes_fields_and_bumps_the_version(crm: Any) -> None:
    [deal] = crm.seed_deals(1)
    data = crm.data(f'mutation {{ updateDeal(id: "{deal}", expectedVersion: 1, input: {{paid: true, '
                    'stage: "won"}) { version paid stage { code kind } } }')
    assert data["updateDeal"] == {"version": 2, "paid": True, "stage": {"code": "won", "kind": "won"}}


def test_update_with_a_stale_version_is_a_conflict_and_writes_nothing(crm: Any) -> None:
    [deal] = crm.seed_deals(1)
    crm.store.update("Deal", deal, {"title": "Changed"})
    codes = crm.codes(f'mutation {{ updateDeal(id: "{deal}", expectedVersion: 1, input: {{title: "Mine"}}) '
                      "{ id } }")
    assert codes == ["VERSION_CONFLICT"]
    assert crm.store.get("Deal", deal)["title"] == "Changed"


def test_update_can_clear_a_field_with_null_and_leaves_the_others(crm: Any) -> None:
    [deal] = crm.seed_deals(1)
    data = crm.data(f'mutation {{ updateDeal(id: "{deal}", input: {{amount: null}}) {{ title amount }} }}')
    assert data["updateDeal"] == {"title": "Deal 0", "amount": None}


def test_update_of_a_missing_record_is_not_found(crm: Any) -> None:
    assert crm.codes('mutation { updateDeal(id: "424242", input: {title: "x"}) { id } }') == ["NOT_FOUND"]


def test_delete_hides_the_record_and_restore_brings_it_back(crm: Any) -> None:
    [deal] = crm.seed_deals(1)
    crm.data(f'mutation {{ deleteDeal(id: "{deal}") {{ id }} }}')
    assert crm.data("{ deals { totalCount } }")["deals"]["totalCount"] == 0
    assert crm.codes(f'{{ deal(id: "{deal}") {{ id }} }}') == ["NOT_FOUND"]
    crm.data(f'mutation {{ restoreDeal(id: "{deal}") {{ id }} }}')
    assert crm.data("{ deals { totalCount } }")["deals"]["totalCount"] == 1


def test_a_write_with_outdated_metadata_is_refused_as_metadata_changed(crm: Any) -> None:
    crm.reapply("industry: {type: enum", "website: {type: url}\n      industry: {type: enum")
    codes = crm.codes('mutation { createCompany(input: {name: "Late"}) { id } }')
    assert codes == ["METADATA_CHANGED"]


def test_an_error_the_client_caused_is_answered_but_not_logged_as_a_crash(
        crm: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        codes = crm.codes('mutation { createDeal(input: {amount: "-5"}) { id } }')

    assert codes == ["VALIDATION_FAILED"]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
