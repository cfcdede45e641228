"""Nasty input ends in VALIDATION_FAILED, InvalidQuery or NOT_FOUND: never a raw database error.

Most of these used to pass on SQLite and fail on PostgreSQL (NUL characters,
64-bit overflow, parameter limits), so every test runs on both databases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from metamodel.errors import InvalidQuery, NotFound, ValidationFailed
from metamodel.records import RecordStore

Counter = Callable[[str], dict[str, int]]
NOTHING = {"records": 0, "history": 0, "stages": 0, "outbox": 0}
NUL = "must not contain the NUL character"


def _refused(store: RecordStore, entity: str, values: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        store.create(entity, values)
    assert info.value.code == "VALIDATION_FAILED"
    return info.value.fields


@pytest.mark.parametrize(("entity", "values", "field"), [
    ("Company", {"name": "a\x00b"}, "name"),
    ("Contact", {"name": "Ivan", "tags": ["vip", "a\x00"]}, "tags"),
    ("Contact", {"name": "Ivan", "profile": {"note": "a\x00b"}}, "profile"),
    ("Contact", {"name": "Ivan", "profile": {"a\x00": 1}}, "profile"),
    ("Contact", {"name": "Ivan", "assistant": "a\x00@acme.test"}, "assistant"),
])
def test_nul_character_is_refused(store: RecordStore, count_rows: Counter, entity: str,
                                  values: dict[str, Any], field: str) -> None:
    assert _refused(store, entity, values)[field] == NUL
    assert count_rows(entity) == NOTHING


def test_text_without_nul_is_stored(store: RecordStore) -> None:
    assert store.create("Company", {"name": "a\tb"})["name"] == "a\tb"


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00"])
def test_datetime_beyond_utc_range_is_refused(store: RecordStore, count_rows: Counter, value: str) -> None:
    assert list(_refused(store, "Deal", {"title": "Sofa", "closes_at": value})) == ["closes_at"]
    assert count_rows("Deal") == NOTHING


@pytest.mark.parametrize("values", [None, ["x"], "title", 5])
def test_input_that_is_not_an_object_is_refused_on_create(store: RecordStore, values: Any) -> None:
    assert _refused(store, "Deal", values)


@pytest.mark.parametrize("values", [None, ["x"], "title"])
def test_input_that_is_not_an_object_is_refused_on_update(store: RecordStore, values: Any) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    with pytest.raises(ValidationFailed):
        store.update("Deal", deal["id"], values)


@pytest.mark.parametrize("record_id", [10**30, -(10**30), 0, -1, "abc", "1.5", 1.5, None, True, [1]])
def test_impossible_id_is_not_found(store: RecordStore, record_id: Any) -> None:
    store.create("Deal", {"title": "Sofa"})
    for call in (lambda: store.get("Deal", record_id), lambda: store.update("Deal", record_id, {}),
                 lambda: store.delete("Deal", record_id), lambda: store.restore("Deal", record_id)):
        with pytest.raises(NotFound):
            call()


def test_id_given_as_digits_finds_the_record(store: RecordStore) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    assert store.get("Deal", str(deal["id"]))["id"] == deal["id"]
    assert store.update("Deal", str(deal["id"]), {"title": "Bed"})["title"] == "Bed"


@pytest.mark.parametrize(("entity", "where", "path"), [
    ("Deal", {"id": {"eq": 10**30}}, "where.id.eq"),
    ("Contact", {"score": {"gt": 10**30}}, "where.score.gt"),
    ("Contact", {"score": {"lt": -(10**19)}}, "where.score.lt"),
    ("Contact", {"company": {"id": {"eq": 10**20}}}, "where.company.id.eq"),
    ("Contact", {"score": {"eq": float("inf")}}, "where.score.eq"),
    ("Deal", {"amount": {"gt": "1e999999"}}, "where.amount.gt"),
    ("Deal", {"title": {"eq": "a\x00b"}}, "where.title.eq"),
    ("Deal", {"title": {"contains": "\x00"}}, "where.title.contains"),
    ("Contact", {"tags": {"hasAny": ["\x00"]}}, "where.tags.hasAny[0]"),
    ("Deal", {"closes_at": {"gt": "9999-12-31T23:59:59-12:00"}}, "where.closes_at.gt"),
    ("Deal", {"closes_at": {"lt": "0001-01-01T00:00:00+01:00"}}, "where.closes_at.lt"),
    ("Contact", {"score": {"in": list(range(70000))}}, "where.score.in"),
    ("Contact", {"tags": {"hasAll": [str(i) for i in range(5000)]}}, "where.tags.hasAll"),
])
def test_filter_operand_out_of_range_is_an_invalid_query(store: RecordStore, entity: str,
                                                         where: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        store.list(entity, where=where)
    assert info.value.code == "VALIDATION_FAILED"
    assert info.value.place.path == path


def test_in_list_of_a_thousand_is_accepted(store: RecordStore) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    found = store.list("Deal", where={"id": {"in": list(range(1, 1001))}})
    assert [r["id"] for r in found.records] == [deal["id"]]


def test_largest_64_bit_operand_is_accepted(store: RecordStore) -> None:
    assert store.list("Deal", where={"id": {"lt": 2**63 - 1}}).records == []
