"""The read half through ``RecordStore``, on records written by the write half."""

from __future__ import annotations

from decimal import Decimal

import pytest

from metamodel.errors import InvalidQuery
from metamodel.records import RecordStore


@pytest.fixture
def filled(store: RecordStore) -> RecordStore:
    acme = store.create("Company", {"name": "Acme", "industry": "retail"})
    anna = store.create("Contact", {"name": "Anna", "company": acme["id"], "tags": ["vip"],
                                    "partners": [acme["id"]], "birthday": "1990-01-02"})
    store.create("Deal", {"title": "Sofa", "amount": "1200.50", "contact": anna["id"],
                          "closes_at": "2026-05-01T10:00:00Z", "channels": ["chat"]})
    store.create("Deal", {"title": "Lamp", "amount": 40, "stage": "won"})
    return store


def test_list_returns_what_get_returns(filled: RecordStore) -> None:
    for entity in ("Company", "Contact", "Deal"):
        for record in filled.list(entity).records:
            assert record == filled.get(entity, record["id"])


def test_list_filters_and_sorts_written_records(filled: RecordStore) -> None:
    page = filled.list("Deal", where={"contact": {"tags": {"hasAny": ["vip"]}}},
                       order_by=[("amount", "desc")])
    assert [r["title"] for r in page.records] == ["Sofa"]
    assert filled.count("Deal", {"stage": {"kind": {"eq": "won"}}}) == 1


def test_aggregate_and_group_by_through_the_store(filled: RecordStore) -> None:
    assert filled.aggregate("Deal", None, {"sum": ["amount"]}) == {
        "count": 2, "sum": {"amount": Decimal("1240.50")}}
    groups = filled.group_by("Deal", ["stage"], None, {"max": ["amount"]})
    assert [(g["key"]["stage"], g["count"]) for g in groups] == [("new", 1), ("won", 1)]


def test_deleted_records_leave_lists_and_come_back(filled: RecordStore) -> None:
    lamp = filled.list("Deal", where={"title": {"eq": "Lamp"}}).records[0]
    filled.delete("Deal", lamp["id"])
    assert filled.count("Deal") == 1
    assert filled.count("Deal", include_deleted=True) == 2
    filled.restore("Deal", lamp["id"])
    assert filled.count("Deal") == 2


def test_hidden_fields_are_left_out_and_cannot_be_sorted(filled: RecordStore) -> None:
    hidden = frozenset({("Contact", "tags")})
    assert all("tags" not in r for r in filled.list("Contact", hidden=hidden).records)
    with pytest.raises(InvalidQuery) as info:
        filled.list("Contact", order_by=[("tags", "asc")], hidden=hidden)
    assert info.value.code == "FORBIDDEN"
