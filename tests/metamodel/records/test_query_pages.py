"""Sorting and keyset pages: NULLs last, mixed directions, cursors, page limits, many lists."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from seed import T0, blank_row, build_world, create_workspace
from sqlalchemy.engine import Engine

from metamodel.errors import InvalidQuery
from metamodel.records.query import OrderBy, Page, list_records
from metamodel.storage.catalog import WorkspaceMeta


@pytest.fixture
def meta(engine: Engine, workspace: str) -> WorkspaceMeta:
    return create_workspace(engine, workspace)


def page(engine: Engine, meta: WorkspaceMeta, entity: str = "Deal", **kwargs: Any) -> Page:
    with engine.connect() as conn:
        return list_records(conn, meta, entity, **kwargs)


def titles(engine: Engine, meta: WorkspaceMeta, order_by: OrderBy) -> list[str]:
    return [r["title"] for r in page(engine, meta, order_by=order_by).records]


def test_nulls_sort_last_ascending_and_descending(engine: Engine, meta: WorkspaceMeta) -> None:
    build_world(engine, meta)
    assert titles(engine, meta, [("amount", "asc")]) == ["Lamp", "Table", "Desk", "Sofa", "chair"]
    assert titles(engine, meta, [("amount", "desc")]) == ["Sofa", "Desk", "Table", "Lamp", "chair"]


def test_mixed_directions(engine: Engine, meta: WorkspaceMeta) -> None:
    build_world(engine, meta)
    order = [("priority", "asc"), ("amount", "DESC")]
    assert titles(engine, meta, order) == ["Sofa", "Lamp", "Desk", "Table", "chair"]


def test_stage_sorts_in_pipeline_order(engine: Engine, meta: WorkspaceMeta) -> None:
    build_world(engine, meta)
    assert titles(engine, meta, [("stage", "asc")]) == ["chair", "Table", "Sofa", "Lamp", "Desk"]
    assert titles(engine, meta, [("stage", "desc")]) == ["Desk", "Lamp", "Sofa", "Table", "chair"]


def test_id_is_the_final_tiebreaker(engine: Engine, meta: WorkspaceMeta) -> None:
    build_world(engine, meta)
    records = page(engine, meta, order_by=[("version", "asc")]).records
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)


def _seed_many(engine: Engine, meta: WorkspaceMeta, n: int) -> None:
    """``n`` deals with repeated and missing amounts, priorities and stages (deterministic)."""
    rng = random.Random(7)
    rows = []
    for i in range(n):
        stamp = T0 + timedelta(minutes=rng.randrange(60))  # many equal creation times
        rows.append(blank_row(meta, "Deal") | {
            "title": f"deal {i:03d}", "created_at": stamp, "updated_at": stamp,
            "amount": rng.choice([None, *[Decimal(v) for v in range(0, 2000, 100)]]),
            "priority": rng.choice([None, "low", "high"]), "pipeline": "sales",
            "stage": rng.choice(["new", "negotiation", "won", "lost"]),
            "deleted_at": T0 if i % 40 == 0 else None})
    with engine.begin() as conn:
        conn.execute(meta.tables.entity("Deal").insert(), rows)


def _walk(engine: Engine, meta: WorkspaceMeta, order_by: OrderBy, size: int) -> Iterator[Page]:
    after = None
    while True:
        current = page(engine, meta, order_by=order_by, first=size, after=after)
        yield current
        if not current.has_next_page:
            return
        after = current.end_cursor


@pytest.mark.parametrize("order_by", [
    [("amount", "desc"), ("created_at", "asc")],
    [("priority", "asc"), ("stage", "desc"), ("amount", "asc"), ("title", "desc")],
])
def test_paging_returns_every_row_once_in_order(engine: Engine, meta: WorkspaceMeta,
                                                order_by: OrderBy) -> None:
    _seed_many(engine, meta, 237 + 7)  # 7 of them soft-deleted: 237 live rows
    everything = [r["id"] for r in page(engine, meta, order_by=order_by, first=1000).records]
    pages = list(_walk(engine, meta, order_by, 50))
    assert [len(p.records) for p in pages] == [50, 50, 50, 50, 37]
    assert [r["id"] for p in pages for r in p.records] == everything
    assert len(set(everything)) == 237


def test_page_order_matches_python_sort(engine: Engine, meta: WorkspaceMeta) -> None:
    _seed_many(engine, meta, 120)
    records = page(engine, meta, order_by=[("amount", "desc"), ("created_at", "asc")], first=1000).records

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        return (r["amount"] is None, -(r["amount"] or 0), r["created_at"], r["id"])

    assert records == sorted(records, key=key)


def test_edge_cursor_continues_after_that_record(engine: Engine, meta: WorkspaceMeta) -> None:
    _seed_many(engine, meta, 30)
    order: OrderBy = [("amount", "asc")]
    first = page(engine, meta, order_by=order, first=10)
    rest = page(engine, meta, order_by=order, first=10, after=first.cursor_at(4))
    whole = page(engine, meta, order_by=order, first=30)
    assert [r["id"] for r in rest.records] == [r["id"] for r in whole.records[5:15]]


def test_empty_page_has_no_cursor(engine: Engine, meta: WorkspaceMeta) -> None:
    result = page(engine, meta, where={"amount": {"gt": 10**6}})
    assert (result.records, result.end_cursor, result.has_next_page) == ([], None, False)


def test_total_count_only_when_asked(engine: Engine, meta: WorkspaceMeta) -> None:
    _seed_many(engine, meta, 60)
    assert page(engine, meta, first=5).total_count is None
    assert page(engine, meta, first=5, with_total=True).total_count == 58


def test_tampered_cursor_is_refused(engine: Engine, meta: WorkspaceMeta) -> None:
    _seed_many(engine, meta, 30)
    cursor = page(engine, meta, order_by=[("amount", "asc")], first=5).end_cursor
    assert cursor is not None
    tampered = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    for bad in (tampered, cursor[:10], "not a cursor!", ""):
        if not bad:
            continue
        with pytest.raises(InvalidQuery, match="after: this cursor is not valid"):
            page(engine, meta, order_by=[("amount", "asc")], after=bad)


def test_cursor_from_another_sort_is_refused(engine: Engine, meta: WorkspaceMeta) -> None:
    _seed_many(engine, meta, 30)
    cursor = page(engine, meta, order_by=[("amount", "asc")], first=5).end_cursor
    with pytest.raises(InvalidQuery, match="different sort"):
        page(engine, meta, order_by=[("amount", "desc")], after=cursor)


@pytest.mark.parametrize("first", [1001, -1, "50"])
def test_page_size_is_limited(engine: Engine, meta: WorkspaceMeta, first: Any) -> None:
    with pytest.raises(InvalidQuery) as info:
        page(engine, meta, first=first)
    assert info.value.place.path == "first"


def test_page_of_exactly_1000_is_allowed(engine: Engine, meta: WorkspaceMeta) -> None:
    assert page(engine, meta, first=1000).records == []


@pytest.mark.parametrize(("order_by", "message"), [
    ([("amont", "asc")], 'did you mean "amount"'),
    ([("labels", "asc")], "cannot sort by labels"),
    ([("partners", "asc")], "cannot sort by partners"),
    ([("amount", "up")], 'direction must be "asc" or "desc"'),
])
def test_bad_sort_is_refused(engine: Engine, meta: WorkspaceMeta, order_by: Any, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        page(engine, meta, order_by=order_by)


def test_records_have_builtins_fields_and_aware_datetimes(engine: Engine, meta: WorkspaceMeta) -> None:
    ids = build_world(engine, meta)
    sofa = page(engine, meta, where={"id": {"eq": ids["sofa"]}}).records[0]
    assert sofa["amount"] == Decimal("1200.00")
    assert sofa["stage"] == "won" and sofa["pipeline"] == "sales"
    assert sofa["closed_at"].utcoffset() == timedelta(0)
    assert sofa["created_at"].tzinfo is not None
    assert sofa["labels"] == ["a", "b"]
    assert sofa["margin"] == Decimal("240.00")


def test_many_lists_load_in_one_extra_statement(engine: Engine, meta: WorkspaceMeta) -> None:
    ids = build_world(engine, meta)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", seen)
    records = {r["title"]: r for r in page(engine, meta).records}
    sa.event.remove(engine, "before_cursor_execute", seen)
    assert records["Table"]["partners"] == sorted([ids["acme"], ids["real"]])
    assert records["Sofa"]["partners"] == [ids["globex"]]
    assert records["Lamp"]["partners"] == []
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2


def test_filter_that_excludes_nulls_keeps_the_order(engine: Engine, meta: WorkspaceMeta) -> None:
    _seed_many(engine, meta, 80)
    order: OrderBy = [("amount", "desc"), ("priority", "asc")]
    where = {"amount": {"gte": 500}}
    filtered = [r["id"] for r in page(engine, meta, where=where, order_by=order, first=1000).records]
    everything = page(engine, meta, order_by=order, first=1000).records
    assert filtered == [r["id"] for r in everything if r["amount"] is not None and r["amount"] >= 500]
    pages = list(_walk_where(engine, meta, order, where, 7))
    assert [r["id"] for p in pages for r in p.records] == filtered


def _walk_where(engine: Engine, meta: WorkspaceMeta, order_by: OrderBy, where: dict[str, Any],
                size: int) -> Iterator[Page]:
    after = None
    while True:
        current = page(engine, meta, where=where, order_by=order_by, first=size, after=after)
        yield current
        if not current.has_next_page:
            return
        after = current.end_cursor
