"""Bad input: VALIDATION_FAILED naming every wrong field at once, and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from metamodel.errors import ValidationFailed
from metamodel.records import RecordStore

Counter = Callable[[str], dict[str, int]]
NOTHING = {"records": 0, "history": 0, "stages": 0, "outbox": 0}


def _refused(store: RecordStore, entity: str, values: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        store.create(entity, values)
    assert info.value.code == "VALIDATION_FAILED"
    return info.value.fields


@pytest.mark.parametrize(("field", "value"), [
    ("amount", "lots"), ("amount", True), ("amount", "1e30"), ("amount", 1e30), ("rate", float("inf")),
    ("paid", "yes"), ("due_on", "31.03.2026"), ("closes_at", "tomorrow"), ("channels", "email"),
    ("channels", ["email", "fax"]), ("channels", ["email", "email"]), ("contact", "abc"),
    ("contact", 0), ("title", 42), ("title", ["Sofa"]),
])
def test_wrong_type_is_refused_on_its_field(store: RecordStore, count_rows: Counter, field: str,
                                            value: Any) -> None:
    assert list(_refused(store, "Deal", {"title": "Sofa", field: value})) == [field]
    assert count_rows("Deal") == NOTHING


@pytest.mark.parametrize(("field", "value"), [
    ("score", "12.5"), ("score", 12.5), ("score", 101), ("score", -1), ("email", "ivan-at-acme"),
    ("phone", "call me"), ("tags", "vip"), ("tags", [1, 2]), ("profile", {"x": float("nan")}),
    ("partners", 5), ("partners", ["x"]), ("birthday", "2026-02-30"),
])
def test_contact_field_rules(store: RecordStore, count_rows: Counter, field: str, value: Any) -> None:
    assert list(_refused(store, "Contact", {"name": "Ivan", field: value})) == [field]
    assert count_rows("Contact") == NOTHING


def test_bounds_are_named_in_reason(store: RecordStore) -> None:
    assert _refused(store, "Contact", {"name": "Ivan", "score": 101}) == {"score": "must be at most 100"}


def test_url_must_be_web_address(store: RecordStore) -> None:
    fields = _refused(store, "Company", {"name": "Acme", "website": "acme.test"})
    assert fields == {"website": "must be a web address starting with http:// or https://"}


def test_bad_enum_names_options(store: RecordStore, count_rows: Counter) -> None:
    assert _refused(store, "Company", {"name": "Acme", "industry": "banking"}) == {
        "industry": "must be one of: retail, it, other"}
    assert count_rows("Company") == NOTHING


def test_missing_required_is_refused(store: RecordStore, count_rows: Counter) -> None:
    assert _refused(store, "Deal", {"amount": 5}) == {"title": "is required"}
    assert _refused(store, "Deal", {"title": ""}) == {"title": "is required"}
    assert count_rows("Deal") == NOTHING


def test_required_cannot_be_emptied_on_update(store: RecordStore, count_rows: Counter) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    before = count_rows("Deal")
    with pytest.raises(ValidationFailed) as info:
        store.update("Deal", deal["id"], {"title": None})
    assert info.value.fields == {"title": "is required"}
    assert count_rows("Deal") == before


def test_too_long_is_refused(store: RecordStore, count_rows: Counter) -> None:
    assert _refused(store, "Deal", {"title": "x" * 201}) == {"title": "must be at most 200 characters"}
    assert count_rows("Deal") == NOTHING


def test_unknown_field_is_refused_with_suggestion(store: RecordStore, count_rows: Counter) -> None:
    assert _refused(store, "Deal", {"title": "Sofa", "amout": 5}) == {
        "amout": 'is not a field of Deal (did you mean "amount"?)'}
    assert count_rows("Deal") == NOTHING


def test_platform_columns_cannot_be_written(store: RecordStore) -> None:
    fields = _refused(store, "Deal", {"title": "Sofa", "version": 7, "created_at": "2026-01-01"})
    assert set(fields) == {"version", "created_at"}


def test_computed_field_cannot_be_written(store: RecordStore, count_rows: Counter) -> None:
    assert list(_refused(store, "Deal", {"title": "Sofa", "margin": 5})) == ["margin"]
    assert count_rows("Deal") == NOTHING


def test_every_problem_is_reported_at_once(store: RecordStore) -> None:
    fields = _refused(store, "Deal", {"amount": "x", "paid": 3, "contact": 999, "bogus": 1})
    assert set(fields) == {"title", "amount", "paid", "contact", "bogus"}


def test_reference_to_missing_record_is_refused(store: RecordStore, count_rows: Counter) -> None:
    assert _refused(store, "Deal", {"title": "Sofa", "contact": 42}) == {"contact": "no Contact with id 42"}
    assert count_rows("Deal") == NOTHING


def test_reference_to_deleted_record_is_refused(store: RecordStore, count_rows: Counter) -> None:
    contact = store.create("Contact", {"name": "Ivan"})
    store.delete("Contact", contact["id"])
    before = count_rows("Deal")
    assert _refused(store, "Deal", {"title": "Sofa", "contact": contact["id"]}) == {
        "contact": f"no Contact with id {contact['id']}"}
    assert count_rows("Deal") == before  # PostgreSQL checks inside the INSERT: the row is rolled back


def test_refused_reference_in_a_callers_transaction_leaves_it_usable(store: RecordStore,
                                                                     count_rows: Counter) -> None:
    contact = store.create("Contact", {"name": "Ivan"})
    store.delete("Contact", contact["id"])
    with store.engine.begin() as conn:
        for target in (contact["id"], 424242):
            with pytest.raises(ValidationFailed):
                store.create("Deal", {"title": "Sofa", "contact": target}, conn=conn)
        store.create("Deal", {"title": "Lamp"}, conn=conn)
    assert count_rows("Deal")["records"] == 1


def test_reference_to_live_record_is_accepted(store: RecordStore) -> None:
    contact = store.create("Contact", {"name": "Ivan"})
    assert store.create("Deal", {"title": "Sofa", "contact": str(contact["id"])})["contact"] == contact["id"]


def test_many_with_missing_ids_names_them(store: RecordStore, count_rows: Counter) -> None:
    company = store.create("Company", {"name": "Acme"})["id"]
    before = count_rows("Contact")
    fields = _refused(store, "Contact", {"name": "Ivan", "partners": [company, 9998, 9999]})
    assert fields == {"partners": "no Company with id 9998, 9999"}
    assert count_rows("Contact") == before


def test_user_field_needs_active_user_of_workspace(store: RecordStore, add_user: Callable[..., int]) -> None:
    gone = add_user("gone@acme.test", active=False)
    other = add_user("x@other.test", in_workspace="elsewhere")
    fields = _refused(store, "Contact", {"name": "Ivan", "assistant": gone, "owner": other})
    assert fields == {"assistant": f"no active user with id {gone}",
                      "owner": f"no active user with id {other}"}
    active = add_user("oleg@acme.test")
    assert store.create("Contact", {"name": "Ivan", "assistant": active})["assistant"] == active


def test_user_may_be_named_by_email(store: RecordStore, add_user: Callable[..., int]) -> None:
    oleg = add_user("Oleg@acme.test")
    contact = store.create("Contact", {"name": "Ivan", "assistant": "oleg@ACME.test", "owner": oleg})
    assert (contact["assistant"], contact["owner"]) == (oleg, oleg)
    assert _refused(store, "Contact", {"name": "Ivan", "assistant": "nobody@acme.test"}) == {
        "assistant": "no active user with email nobody@acme.test"}


def test_unique_violation_is_refused_on_field(store: RecordStore, count_rows: Counter) -> None:
    store.create("Car", {"plate": "A123BC"})
    before = count_rows("Car")
    assert _refused(store, "Car", {"plate": "A123BC"}) == {
        "plate": "must be unique: another Car already has this value"}
    assert count_rows("Car") == before


def test_unique_violation_on_update_is_refused(store: RecordStore, count_rows: Counter) -> None:
    store.create("Contact", {"name": "Ivan", "email": "ivan@acme.test"})
    other = store.create("Contact", {"name": "Oleg", "email": "oleg@acme.test"})
    before = count_rows("Contact")
    with pytest.raises(ValidationFailed) as info:
        store.update("Contact", other["id"], {"email": "ivan@acme.test"})
    assert info.value.fields == {"email": "must be unique: another Contact already has this value"}
    assert count_rows("Contact") == before
    assert store.get("Contact", other["id"])["version"] == 1
