"""Forged cursors are judged after decoding, and datetimes come back in one time zone.

The checksum of a cursor is no signature: anyone can build one with valid
bytes.  What it holds must still be a well-typed position — a 64-bit id,
numbers within range, aware datetimes — or the page is an InvalidQuery.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC
from typing import Any

import pytest

from metamodel.errors import InvalidQuery
from metamodel.records import RecordStore
from metamodel.records.cursor import encode_cursor


def _forged(cursor: str, values: list[Any] | None = None, record_id: Any = None) -> str:
    """The cursor with its sort values and/or id replaced, under a valid checksum."""
    body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))[8:])
    made_for, old_values, old_id = body
    return encode_cursor(made_for, old_values if values is None else values,
                         old_id if record_id is None else record_id)


def _first_cursor(store: RecordStore, order: str) -> str:
    for k in range(3):
        store.create("Deal", {"title": f"D{k}", "amount": k, "closes_at": f"2026-03-0{k + 1}T10:00:00Z"})
    cursor = store.list("Deal", order_by=[(order, "asc")], first=1).end_cursor
    assert cursor is not None
    return cursor


def test_genuine_cursor_continues(store: RecordStore) -> None:
    cursor = _first_cursor(store, "amount")
    assert [r["title"] for r in store.list("Deal", order_by=[("amount", "asc")], after=cursor).records] == [
        "D1", "D2"]


@pytest.mark.parametrize("record_id", [10**30, -(10**30), True, "1", 1.5])
def test_forged_cursor_id_is_refused(store: RecordStore, record_id: Any) -> None:
    forged = _forged(_first_cursor(store, "amount"), record_id=record_id)
    with pytest.raises(InvalidQuery) as info:
        store.list("Deal", order_by=[("amount", "asc")], after=forged)
    assert info.value.place.path == "after"


@pytest.mark.parametrize("value", ["1e999999", "1e-999999", "NaN", "Infinity", True, [1]])
def test_forged_cursor_number_is_refused(store: RecordStore, value: Any) -> None:
    forged = _forged(_first_cursor(store, "amount"), values=[value])
    with pytest.raises(InvalidQuery) as info:
        store.list("Deal", order_by=[("amount", "asc")], after=forged)
    assert info.value.place.path == "after"


@pytest.mark.parametrize("value", ["2026-03-01T10:00:00", "0001-01-01T00:00:00+01:00", 5, "a\x00"])
def test_forged_cursor_datetime_is_refused(store: RecordStore, value: Any) -> None:
    forged = _forged(_first_cursor(store, "closes_at"), values=[value])
    with pytest.raises(InvalidQuery) as info:
        store.list("Deal", order_by=[("closes_at", "asc")], after=forged)
    assert info.value.place.path == "after"


def test_forged_cursor_text_with_nul_is_refused(store: RecordStore) -> None:
    forged = _forged(_first_cursor(store, "title"), values=["D\x00"])
    with pytest.raises(InvalidQuery):
        store.list("Deal", order_by=[("title", "asc")], after=forged)


def _zones(record: dict[str, Any]) -> set[Any]:
    return {v.tzinfo for k, v in record.items() if k.endswith("_at") and v is not None}


def test_datetimes_are_in_timezone_utc_everywhere(store: RecordStore) -> None:
    created = store.create("Deal", {"title": "Sofa", "closes_at": "2026-03-01T10:00:00+03:00"})
    assert _zones(created) == {UTC}
    assert _zones(store.get("Deal", created["id"])) == {UTC}
    assert _zones(store.list("Deal").records[0]) == {UTC}
    assert _zones(store.update("Deal", created["id"], {"title": "Bed"})) == {UTC}
    assert store.aggregate("Deal", aggregates={"max": ["closes_at"]})["max"]["closes_at"].tzinfo is UTC
    group = store.group_by("Deal", ["closes_at"])[0]
    assert group["key"]["closes_at"].tzinfo is UTC
