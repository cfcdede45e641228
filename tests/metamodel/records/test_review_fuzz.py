"""Whatever a caller sends, the repository answers with a typed error and leaves nothing behind.

Random nasty values — huge integers, NUL characters, extreme dates, nested
lists and objects, None, inf/nan, strings of digits — go to create, update,
get and filters on both databases.  Only the documented errors may come out
(VALIDATION_FAILED, InvalidQuery, NOT_FOUND, UNKNOWN_STAGE, VERSION_CONFLICT,
METADATA_CHANGED), and a refused write adds no rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metamodel.errors import (
    InvalidQuery,
    MetadataChanged,
    NotFound,
    UnknownStage,
    ValidationFailed,
    VersionConflict,
)
from metamodel.records import RecordStore

Counter = Callable[[str], dict[str, int]]
EXPECTED = (ValidationFailed, InvalidQuery, NotFound, UnknownStage, VersionConflict, MetadataChanged)
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=-12)), timezone(timedelta(hours=14)), None])
SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([2**63, 2**63 - 1, -(2**63), -(2**63) - 1, 0, 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.text(alphabet="a\x00@. ", max_size=6),
    st.from_regex(r"-?\d{1,30}(\.\d{1,14})?", fullmatch=True),
    st.sampled_from(["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+01:00", "2026-02-30", "1e999999",
                     "NaN", "", "email", "new", "sales", "won"]),
    st.dates().map(str),
    st.datetimes(timezones=ZONES).map(lambda d: d.isoformat()),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)
FIELDS = {
    "Deal": ["title", "amount", "rate", "contact", "paid", "due_on", "closes_at", "channels", "margin",
             "pipeline", "stage", "owner", "id", "version"],
    "Contact": ["name", "email", "phone", "company", "tags", "source", "birthday", "score", "assistant",
                "partners", "profile"],
}
OPERATORS = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "contains", "icontains", "startsWith",
             "hasAny", "hasAll", "isNull", "some", "none", "id"]


def _input(entity: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(FIELDS[entity]), VALUES, max_size=4)


def _totals(count_rows: Counter) -> tuple[dict[str, int], dict[str, int]]:
    return count_rows("Deal"), count_rows("Contact")


@FUZZ
@given(entity=st.sampled_from(["Deal", "Contact"]), data=st.data())
def test_create_answers_with_a_record_or_a_typed_error(store: RecordStore, count_rows: Counter,
                                                       entity: str, data: st.DataObject) -> None:
    values = data.draw(_input(entity) | VALUES)
    before = _totals(count_rows)
    try:
        store.create(entity, values)
    except EXPECTED:
        assert _totals(count_rows) == before


@FUZZ
@given(record_id=VALUES, values=_input("Deal") | VALUES, version=st.none() | st.integers(-5, 5))
def test_update_answers_with_a_record_or_a_typed_error(store: RecordStore, count_rows: Counter,
                                                       record_id: Any, values: Any, version: Any) -> None:
    store.create("Deal", {"title": "Sofa"})
    before = _totals(count_rows)
    try:
        store.update("Deal", record_id, values, expected_version=version)
    except EXPECTED:
        assert _totals(count_rows) == before


@FUZZ
@given(record_id=VALUES)
def test_get_delete_and_restore_answer_or_raise_not_found(store: RecordStore, record_id: Any) -> None:
    for call in (store.get, store.delete, store.restore):
        with contextlib.suppress(EXPECTED):
            call("Deal", record_id)


@FUZZ
@given(entity=st.sampled_from(["Deal", "Contact"]), data=st.data())
def test_filters_answer_or_raise_invalid_query(store: RecordStore, entity: str, data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(FIELDS[entity]))
    where = data.draw(st.one_of(
        st.dictionaries(st.sampled_from(OPERATORS), VALUES, min_size=1, max_size=2).map(lambda c: {field: c}),
        VALUES.map(lambda v: {field: v}),
    ))
    with contextlib.suppress(EXPECTED):
        store.list(entity, where=where)
        store.count(entity, where)
