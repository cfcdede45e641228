"""Aggregates, group-by and rollup fields, checked against values computed in Python."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from seed import T0, add_user, blank_row, build_world, create_workspace
from sqlalchemy.engine import Engine

from metamodel.errors import InvalidQuery
from metamodel.records.aggregates import MAX_GROUPS, aggregate, group_by
from metamodel.records.query import list_records
from metamodel.storage.catalog import WorkspaceMeta

STAGES = ["new", "negotiation", "invoice", "won", "lost"]


@pytest.fixture
def meta(engine: Engine, workspace: str) -> WorkspaceMeta:
    return create_workspace(engine, workspace)


@pytest.fixture
def rows(engine: Engine, meta: WorkspaceMeta) -> list[dict[str, Any]]:
    """150 deals with random amounts, dates, owners and stages; returns the live ones."""
    rng = random.Random(11)
    with engine.begin() as conn:
        owners = [add_user(conn, meta, f"u{i}@acme.test") for i in range(3)]
    data = []
    for i in range(150):
        data.append(blank_row(meta, "Deal") | {
            "title": f"d{i}", "created_at": T0, "updated_at": T0, "pipeline": "sales",
            "amount": rng.choice([None, Decimal(rng.randrange(0, 100_000)) / 100]),
            "due_on": rng.choice([None, date(2026, 1, 1) + timedelta(days=rng.randrange(365))]),
            "owner": rng.choice([None, *owners]), "stage": rng.choice(STAGES),
            "paid": rng.choice([True, False]), "deleted_at": T0 if i % 10 == 0 else None})
    with engine.begin() as conn:
        conn.execute(meta.tables.entity("Deal").insert(), data)
    return [r for r in data if r["deleted_at"] is None]


def _stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    amounts = [r["amount"] for r in rows if r["amount"] is not None]
    return {"count": len(rows), "sum": sum(amounts, Decimal(0)),
            "avg": sum(amounts, Decimal(0)) / len(amounts) if amounts else None,
            "min": min(amounts, default=None), "max": max(amounts, default=None)}


def _close(a: Decimal | None, b: Decimal | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < Decimal("0.0001"))


def test_aggregate_matches_python(engine: Engine, meta: WorkspaceMeta, rows: list[dict[str, Any]]) -> None:
    with engine.connect() as conn:
        got = aggregate(conn, meta, "Deal", None, {"sum": ["amount"], "avg": ["amount"],
                                                    "min": ["amount", "due_on"], "max": ["amount", "due_on"]})
    want = _stats(rows)
    assert got["count"] == want["count"]
    assert got["sum"]["amount"] == want["sum"]
    assert _close(got["avg"]["amount"], want["avg"])
    assert (got["min"]["amount"], got["max"]["amount"]) == (want["min"], want["max"])
    dues = [r["due_on"] for r in rows if r["due_on"] is not None]
    assert (got["min"]["due_on"], got["max"]["due_on"]) == (min(dues), max(dues))


def test_aggregate_with_filter(engine: Engine, meta: WorkspaceMeta, rows: list[dict[str, Any]]) -> None:
    where = {"stage": {"kind": {"eq": "won"}}, "paid": {"eq": True}}
    with engine.connect() as conn:
        got = aggregate(conn, meta, "Deal", where, {"sum": ["amount"]})
    chosen = [r for r in rows if r["stage"] == "won" and r["paid"]]
    assert got == {"count": len(chosen), "sum": {"amount": _stats(chosen)["sum"]}}


def test_aggregate_of_nothing(engine: Engine, meta: WorkspaceMeta) -> None:
    with engine.connect() as conn:
        got = aggregate(conn, meta, "Deal", None, {"sum": ["amount"], "avg": ["amount"], "max": ["due_on"]})
    assert got == {"count": 0, "sum": {"amount": 0}, "avg": {"amount": None}, "max": {"due_on": None}}


def test_group_by_stage_in_pipeline_order(engine: Engine, meta: WorkspaceMeta,
                                          rows: list[dict[str, Any]]) -> None:
    with engine.connect() as conn:
        groups = group_by(conn, meta, "Deal", ["stage"], None, {"sum": ["amount"], "avg": ["amount"]})
    present = [s for s in STAGES if any(r["stage"] == s for r in rows)]
    assert [g["key"]["stage"] for g in groups] == present
    for g in groups:
        want = _stats([r for r in rows if r["stage"] == g["key"]["stage"]])
        assert g["count"] == want["count"]
        assert g["sum"]["amount"] == want["sum"]
        assert _close(g["avg"]["amount"], want["avg"])


def test_group_by_owner_with_empty_key_last(engine: Engine, meta: WorkspaceMeta,
                                            rows: list[dict[str, Any]]) -> None:
    with engine.connect() as conn:
        groups = group_by(conn, meta, "Deal", ["owner"], {"amount": {"gte": 100}}, {"max": ["amount"]})
    chosen = [r for r in rows if r["amount"] is not None and r["amount"] >= 100]
    owners = sorted({r["owner"] for r in chosen if r["owner"] is not None})
    assert [g["key"]["owner"] for g in groups] == [*owners, None]
    for g in groups:
        mine = [r for r in chosen if r["owner"] == g["key"]["owner"]]
        assert (g["count"], g["max"]["amount"]) == (len(mine), _stats(mine)["max"])


def test_group_by_two_fields(engine: Engine, meta: WorkspaceMeta, rows: list[dict[str, Any]]) -> None:
    with engine.connect() as conn:
        groups = group_by(conn, meta, "Deal", ["paid", "stage"])
    got = {(g["key"]["paid"], g["key"]["stage"]): g["count"] for g in groups}
    want: dict[tuple[bool, str], int] = {}
    for r in rows:
        want[(r["paid"], r["stage"])] = want.get((r["paid"], r["stage"]), 0) + 1
    assert got == want


def test_too_many_groups_are_refused(engine: Engine, meta: WorkspaceMeta) -> None:
    data = [blank_row(meta, "Deal") | {"title": f"t{i}", "created_at": T0, "updated_at": T0}
            for i in range(MAX_GROUPS + 1)]
    with engine.begin() as conn:
        conn.execute(meta.tables.entity("Deal").insert(), data)
    with engine.connect() as conn, pytest.raises(InvalidQuery, match="more than 1000 groups"):
        group_by(conn, meta, "Deal", ["title"])


@pytest.mark.parametrize(("aggregates", "path"), [
    ({"sum": ["title"]}, "aggregates.sum.title"),
    ({"avg": ["due_on"]}, "aggregates.avg.due_on"),
    ({"min": ["paid"]}, "aggregates.min.paid"),
    ({"median": ["amount"]}, "aggregates.median"),
    ({"sum": ["amunt"]}, "aggregates.sum.amunt"),
    ({"sum": "amount"}, "aggregates.sum"),
])
def test_bad_aggregates_are_refused(engine: Engine, meta: WorkspaceMeta, aggregates: Any, path: str) -> None:
    with engine.connect() as conn, pytest.raises(InvalidQuery) as info:
        aggregate(conn, meta, "Deal", None, aggregates)
    assert info.value.place.path == path


@pytest.mark.parametrize("by", [["labels"], ["partners"], ["data"], []])
def test_bad_group_keys_are_refused(engine: Engine, meta: WorkspaceMeta, by: list[str]) -> None:
    with engine.connect() as conn, pytest.raises(InvalidQuery):
        group_by(conn, meta, "Deal", by)


def test_hidden_fields_are_forbidden_in_aggregates(engine: Engine, meta: WorkspaceMeta) -> None:
    with engine.connect() as conn, pytest.raises(InvalidQuery) as info:
        aggregate(conn, meta, "Deal", None, {"sum": ["amount"]}, hidden=frozenset({("Deal", "amount")}))
    assert info.value.code == "FORBIDDEN"


# --- rollups -------------------------------------------------------------------------------------

def _contacts(engine: Engine, meta: WorkspaceMeta, **kwargs: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return list_records(conn, meta, "Contact", **kwargs).records


def test_rollup_values_ignore_soft_deleted_sources(engine: Engine, meta: WorkspaceMeta) -> None:
    build_world(engine, meta)
    got = {c["name"]: (c["won_total"], c["deal_count"], c["paid_count"]) for c in _contacts(engine, meta)}
    assert got == {"Ann": (Decimal("1200.00"), 1, 1), "Bob": (0, 1, 0), "Cid": (0, 1, 0)}


def test_rollup_filter(engine: Engine, meta: WorkspaceMeta) -> None:
    build_world(engine, meta)
    assert [c["name"] for c in _contacts(engine, meta, where={"won_total": {"gt": 0}})] == ["Ann"]
    assert len(_contacts(engine, meta, where={"deal_count": {"eq": 1}})) == 3


def test_rollup_sort_and_paging(engine: Engine, meta: WorkspaceMeta) -> None:
    build_world(engine, meta)
    order = [("won_total", "desc"), ("name", "desc")]
    assert [c["name"] for c in _contacts(engine, meta, order_by=order)] == ["Ann", "Cid", "Bob"]
    with engine.connect() as conn:
        first = list_records(conn, meta, "Contact", order_by=order, first=2)
        rest = list_records(conn, meta, "Contact", order_by=order, first=2, after=first.end_cursor)
    assert [c["name"] for c in rest.records] == ["Bob"]


def test_rollup_aggregate_and_group_by(engine: Engine, meta: WorkspaceMeta) -> None:
    build_world(engine, meta)
    with engine.connect() as conn:
        total = aggregate(conn, meta, "Contact", None, {"sum": ["won_total", "deal_count"]})
        groups = group_by(conn, meta, "Contact", ["won_total"])
    assert total["sum"] == {"won_total": Decimal("1200.00"), "deal_count": 3}
    assert [(g["key"]["won_total"], g["count"]) for g in groups] == [(0, 2), (Decimal("1200.00"), 1)]


def test_rollup_condition_is_any_craft_condition(engine: Engine, meta: WorkspaceMeta) -> None:
    build_world(engine, meta)
    assert {c["name"]: c["odd"] for c in _contacts(engine, meta)} == {"Ann": 1, "Bob": 1, "Cid": 0}


def test_average_has_the_same_digits_on_every_database(engine: Engine, meta: WorkspaceMeta) -> None:
    """580 on SQLite (a float) and on PostgreSQL (16 places) alike: 10 places, no trailing zeros."""
    amounts = [Decimal("500.00"), Decimal("660.00"), Decimal("100.00"), Decimal("100.01"), Decimal("100.00")]
    fixed = {"created_at": T0, "updated_at": T0, "pipeline": "sales"}
    data = [blank_row(meta, "Deal") | fixed | {"title": f"a{i}", "stage": stage, "amount": amount}
            for i, (stage, amount) in enumerate(zip(["new"] * 2 + ["won"] * 3, amounts, strict=True))]
    with engine.begin() as conn:
        conn.execute(meta.tables.entity("Deal").insert(), data)
        groups = group_by(conn, meta, "Deal", ["stage"], None, {"avg": ["amount"]})
    assert [str(g["avg"]["amount"]) for g in groups] == ["580", "100.0033333333"]
