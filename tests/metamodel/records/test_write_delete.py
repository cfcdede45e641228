"""Soft delete and restore, get of deleted records, and writes composed in a caller's transaction."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.clock import ManualClock
from metamodel.db import write_transaction
from metamodel.errors import NotFound, ValidationFailed, VersionConflict
from metamodel.records import RecordStore
from metamodel.storage import system_tables

Counter = Callable[[str], dict[str, int]]


def _kinds(engine: Engine, store: RecordStore) -> list[str]:
    o = system_tables.outbox
    with engine.connect() as conn:
        return list(conn.execute(sa.select(o.c.kind).where(o.c.workspace == store.meta.workspace)
                                 .order_by(o.c.id)).scalars())


def test_delete_stamps_deleted_at_and_keeps_row(store: RecordStore, clock: ManualClock,
                                                count_rows: Counter) -> None:
    car = store.create("Car", {"plate": "A1"})
    deleted = store.delete("Car", car["id"])
    assert (deleted["deleted_at"], deleted["version"]) == (clock.now(), 2)
    assert count_rows("Car")["records"] == 1


def test_get_of_deleted_record_is_not_found(store: RecordStore) -> None:
    car = store.create("Car", {"plate": "A1"})
    store.delete("Car", car["id"])
    with pytest.raises(NotFound) as info:
        store.get("Car", car["id"])
    assert info.value.code == "NOT_FOUND"
    assert store.get("Car", car["id"], include_deleted=True)["plate"] == "A1"


def test_get_of_missing_record_is_not_found(store: RecordStore) -> None:
    with pytest.raises(NotFound):
        store.get("Car", 12345)


def test_delete_of_deleted_record_is_not_found(store: RecordStore) -> None:
    car = store.create("Car", {"plate": "A1"})
    store.delete("Car", car["id"])
    with pytest.raises(NotFound):
        store.delete("Car", car["id"])


def test_update_of_deleted_record_is_not_found(store: RecordStore) -> None:
    car = store.create("Car", {"plate": "A1"})
    store.delete("Car", car["id"])
    with pytest.raises(NotFound):
        store.update("Car", car["id"], {"model": "Lada"})


def test_restore_brings_record_back(store: RecordStore) -> None:
    car = store.create("Car", {"plate": "A1"})
    store.delete("Car", car["id"])
    restored = store.restore("Car", car["id"])
    assert (restored["deleted_at"], restored["version"]) == (None, 3)
    assert store.get("Car", car["id"]) == restored


def test_restore_of_live_record_changes_nothing(store: RecordStore, count_rows: Counter) -> None:
    car = store.create("Car", {"plate": "A1"})
    before = count_rows("Car")
    assert store.restore("Car", car["id"]) == car
    assert count_rows("Car") == before


def test_restore_of_missing_record_is_not_found(store: RecordStore) -> None:
    with pytest.raises(NotFound):
        store.restore("Car", 4242)


def test_delete_with_stale_version_conflicts(store: RecordStore) -> None:
    car = store.create("Car", {"plate": "A1"})
    store.update("Car", car["id"], {"model": "Lada"})
    with pytest.raises(VersionConflict):
        store.delete("Car", car["id"], expected_version=1)
    assert store.get("Car", car["id"])["deleted_at"] is None


def test_every_write_emits_exactly_one_outbox_event(engine: Engine, store: RecordStore) -> None:
    car = store.create("Car", {"plate": "A1"})
    store.update("Car", car["id"], {"model": "Lada", "plate": "B2"})
    store.delete("Car", car["id"])
    store.restore("Car", car["id"])
    assert _kinds(engine, store) == ["created", "updated", "deleted", "restored"]


def test_delete_history_records_deleted_at(engine: Engine, store: RecordStore) -> None:
    car = store.create("Car", {"plate": "A1"})
    store.delete("Car", car["id"])
    h = system_tables.record_history
    with engine.connect() as conn:
        rows = conn.execute(sa.select(h.c.field, h.c.old, h.c.version).where(
            h.c.workspace == store.meta.workspace, h.c.version == 2)).all()
    assert [(r.field, r.old, r.version) for r in rows] == [("deleted_at", None, 2)]


def test_writes_compose_in_caller_transaction(engine: Engine, store: RecordStore) -> None:
    with write_transaction(engine) as conn:
        contact = store.create("Contact", {"name": "Ivan"}, conn=conn)
        deal = store.create("Deal", {"title": "Sofa", "contact": contact["id"]}, conn=conn)
    assert store.get("Deal", deal["id"])["contact"] == contact["id"]


def test_refused_write_leaves_caller_transaction_usable(engine: Engine, store: RecordStore,
                                                        count_rows: Counter) -> None:
    with write_transaction(engine) as conn:
        store.create("Car", {"plate": "A1"}, conn=conn)
        with pytest.raises(ValidationFailed):
            store.create("Car", {"plate": "A1"}, conn=conn)
        store.create("Car", {"plate": "B2"}, conn=conn)
    assert count_rows("Car") == {"records": 2, "history": 2, "stages": 0, "outbox": 2}


def test_caller_rollback_undoes_record_and_events(engine: Engine, store: RecordStore,
                                                  count_rows: Counter) -> None:
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        store.create("Car", {"plate": "A1"}, conn=conn)
        raise RuntimeError("the workflow step failed")
    assert count_rows("Car") == {"records": 0, "history": 0, "stages": 0, "outbox": 0}
