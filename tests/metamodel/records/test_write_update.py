"""Updating records: history per changed field, stage moves, optimistic locking."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.clock import ManualClock
from metamodel.errors import MetamodelError, NotFound, UnknownStage, ValidationFailed, VersionConflict
from metamodel.records import Actor, RecordStore
from metamodel.storage import system_tables

Counter = Callable[[str], dict[str, int]]


def _history(engine: Engine, store: RecordStore, record_id: int) -> list[Any]:
    h = system_tables.record_history
    with engine.connect() as conn:
        return list(conn.execute(sa.select(h.c.version, h.c.field, h.c.old, h.c.new, h.c.actor).where(
            h.c.workspace == store.meta.workspace, h.c.record_id == record_id).order_by(h.c.id)).all())


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their offset; they were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _stages(engine: Engine, store: RecordStore, record_id: int) -> list[tuple[Any, ...]]:
    """(stage, entered_at, left_at) of a record, oldest first."""
    s = system_tables.stage_history
    with engine.connect() as conn:
        rows = conn.execute(sa.select(s.c.stage, s.c.entered_at, s.c.left_at).where(
            s.c.workspace == store.meta.workspace, s.c.record_id == record_id).order_by(s.c.id)).all()
    return [(r.stage, _utc(r.entered_at), _utc(r.left_at)) for r in rows]


def _outbox(engine: Engine, store: RecordStore) -> list[Any]:
    o = system_tables.outbox
    with engine.connect() as conn:
        return list(conn.execute(sa.select(o.c.kind, o.c.payload).where(
            o.c.workspace == store.meta.workspace).order_by(o.c.id)).all())


def test_update_changes_fields_and_bumps_version(store: RecordStore, clock: ManualClock) -> None:
    deal = store.create("Deal", {"title": "Sofa", "amount": 100})
    clock.advance(timedelta(hours=1))
    updated = store.update("Deal", deal["id"], {"amount": "250.75", "paid": True})
    assert (updated["amount"], updated["paid"], updated["version"]) == (Decimal("250.75"), True, 2)
    assert updated["updated_at"] == clock.now() and updated["created_at"] == deal["created_at"]
    assert store.get("Deal", deal["id"]) == updated


def test_update_writes_history_per_changed_field_with_old_and_new(engine: Engine, store: RecordStore,
                                                                   anna: Actor) -> None:
    deal = store.create("Deal", {"title": "Sofa", "amount": 100})
    store.update("Deal", deal["id"], {"title": "Sofa", "amount": 120, "due_on": "2026-05-01"}, actor=anna)
    history = _history(engine, store, deal["id"])
    changed = [(r.field, r.old, r.new, r.actor) for r in history if r.version == 2]
    assert changed == [("amount", "100.00", "120.00", "anna@acme.test"),
                       ("due_on", None, "2026-05-01", "anna@acme.test")]


def test_update_without_changes_writes_nothing(store: RecordStore, count_rows: Counter) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    before = count_rows("Deal")
    assert store.update("Deal", deal["id"], {"title": "Sofa"})["version"] == 1
    assert count_rows("Deal") == before


def test_update_writes_one_outbox_event_with_changes(engine: Engine, store: RecordStore) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    store.update("Deal", deal["id"], {"title": "Chair"})
    kinds = [(kind, payload) for kind, payload in _outbox(engine, store)]
    assert [k for k, _ in kinds] == ["created", "updated"]
    assert kinds[1][1] == {"changes": {"title": ["Sofa", "Chair"]}, "version": 2, "actor": "system"}


def test_stage_move_closes_old_stage_and_opens_new(engine: Engine, store: RecordStore,
                                                   clock: ManualClock) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    created = clock.now()
    moved_at = clock.advance(timedelta(days=2))
    moved = store.update("Deal", deal["id"], {"stage": "negotiation"})
    assert (moved["stage"], moved["stage_entered_at"]) == ("negotiation", moved_at)
    assert _stages(engine, store, deal["id"]) == [
        ("new", created, moved_at), ("negotiation", moved_at, None)]


def test_stage_move_is_in_outbox_payload(engine: Engine, store: RecordStore) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    store.update("Deal", deal["id"], {"stage": "won"})
    payload = _outbox(engine, store)[-1].payload
    assert payload["stage"] == {"from": "new", "to": "won", "pipeline": "sales"}
    assert payload["changes"] == {"stage": ["new", "won"]}


def test_stage_move_to_unknown_stage_is_refused(store: RecordStore, count_rows: Counter) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    before = count_rows("Deal")
    with pytest.raises(UnknownStage) as info:
        store.update("Deal", deal["id"], {"stage": "open"})
    assert "valid stages: new, negotiation, won, lost" in info.value.message
    assert count_rows("Deal") == before


def test_moving_pipelines_needs_pipeline_and_stage(store: RecordStore) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    with pytest.raises(ValidationFailed) as info:
        store.update("Deal", deal["id"], {"pipeline": "support"})
    assert list(info.value.fields) == ["stage"]
    moved = store.update("Deal", deal["id"], {"pipeline": "support", "stage": "open"})
    assert (moved["pipeline"], moved["stage"]) == ("support", "open")


def test_update_replaces_many_links(engine: Engine, store: RecordStore) -> None:
    a, b, c = (store.create("Company", {"name": n})["id"] for n in "abc")
    contact = store.create("Contact", {"name": "Ivan", "partners": [a, b]})
    updated = store.update("Contact", contact["id"], {"partners": [b, c]})
    assert updated["partners"] == store.get("Contact", contact["id"])["partners"] == [b, c]
    assert [(r.old, r.new) for r in _history(engine, store, contact["id"]) if r.version == 2] == [
        ([a, b], [b, c])]


def test_update_with_stale_expected_version_conflicts(store: RecordStore, count_rows: Counter) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    store.update("Deal", deal["id"], {"title": "Chair"}, expected_version=1)
    before = count_rows("Deal")
    with pytest.raises(VersionConflict) as info:
        store.update("Deal", deal["id"], {"title": "Table"}, expected_version=1)
    assert info.value.code == "VERSION_CONFLICT"
    assert (info.value.expected, info.value.actual) == (1, 2)
    assert store.get("Deal", deal["id"])["title"] == "Chair"
    assert count_rows("Deal") == before


def test_concurrent_updates_with_same_version_one_wins(store: RecordStore) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(title: str) -> None:
        barrier.wait()
        try:
            store.update("Deal", deal["id"], {"title": title}, expected_version=1)
            outcomes.append("ok")
        except MetamodelError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=worker, args=(t,)) for t in ("Chair", "Table")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["VERSION_CONFLICT", "ok"]
    assert store.get("Deal", deal["id"])["version"] == 2


def test_update_of_missing_record_is_not_found(store: RecordStore) -> None:
    with pytest.raises(NotFound) as info:
        store.update("Deal", 999, {"title": "x"})
    assert info.value.code == "NOT_FOUND"
