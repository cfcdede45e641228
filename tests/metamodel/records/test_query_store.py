"""The read half through ``RecordStore``, on records written by the write half."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from metamodel.blueprint import load_blueprint
from metamodel.errors import InvalidQuery
from metamodel.records import RecordStore
from tests.metamodel.records.conftest import create_workspace_tables

ONLINE_STORE = Path(__file__).resolve().parents[3] / "examples" / "online-store"


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


def test_get_and_writes_return_rollup_values_as_list_does(engine: Engine, workspace: str) -> None:
    meta = create_workspace_tables(engine, workspace, load_blueprint(ONLINE_STORE))
    store = RecordStore(engine, meta)
    ann = store.create("Customer", {"name": "Ann"})
    assert (ann["orders_total"], ann["orders_count"]) == (0, 0)
    store.create("Order", {"title": "Sofa", "amount": "1200.00", "customer": ann["id"]})
    store.create("Order", {"title": "Lamp", "amount": "40.50", "customer": ann["id"]})
    got = store.get("Customer", ann["id"])
    assert (got["orders_total"], got["orders_count"]) == (Decimal("1240.50"), 2)
    assert store.list("Customer").records == [got]
    assert store.update("Customer", ann["id"], {"city": "Oslo"})["orders_count"] == 2


def test_get_leaves_out_soft_deleted_many_members_as_list_does(filled: RecordStore) -> None:
    anna = filled.list("Contact").records[0]
    extra = filled.create("Company", {"name": "Extra"})
    both = filled.update("Contact", anna["id"], {"partners": [*anna["partners"], extra["id"]]})
    filled.delete("Company", extra["id"])
    got = filled.get("Contact", anna["id"])
    assert got["partners"] == anna["partners"] != both["partners"]
    assert filled.list("Contact").records == [got]
    filled.update("Contact", anna["id"], {"partners": got["partners"], "name": "Anna K."})  # as read
