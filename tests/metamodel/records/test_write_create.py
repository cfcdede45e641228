"""Creating records: defaults, initial stage, returned shape and the rows written with it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.clock import ManualClock
from metamodel.errors import NotFound, UnknownStage, ValidationFailed
from metamodel.records import Actor, RecordStore
from metamodel.storage import system_tables

Counter = Callable[[str], dict[str, int]]
NOTHING = {"records": 0, "history": 0, "stages": 0, "outbox": 0}


def test_create_fills_defaults_and_builtins(store: RecordStore, clock: ManualClock) -> None:
    contact = store.create("Contact", {"name": "Ivan"})
    assert (contact["source"], contact["score"], contact["partners"]) == ("website", 0, [])
    assert contact["version"] == 1
    assert contact["created_at"] == contact["updated_at"] == clock.now()
    assert contact["deleted_at"] is None


def test_create_returns_what_get_reads(store: RecordStore) -> None:
    deal = store.create("Deal", {"title": "Sofa", "amount": "1200.5", "rate": 0.125, "due_on": "2026-04-01",
                                 "closes_at": "2026-04-01T10:00:00+03:00", "channels": ["chat", "email"]})
    assert deal["amount"] == Decimal("1200.50")
    assert deal["due_on"] == date(2026, 4, 1)
    assert deal["closes_at"] == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)
    assert store.get("Deal", deal["id"]) == deal


def test_create_normalises_tags(store: RecordStore) -> None:
    contact = store.create("Contact", {"name": "Ivan", "tags": [" vip", "b2b", "vip ", "", "b2b"]})
    assert contact["tags"] == ["vip", "b2b"]


def test_create_stamps_actor_as_creator_and_default_owner(store: RecordStore,
                                                          add_user: Callable[..., int]) -> None:
    anna = add_user("anna@acme.test")
    contact = store.create("Contact", {"name": "Ivan"}, actor=Actor(anna, "anna@acme.test"))
    assert (contact["created_by"], contact["owner"]) == (anna, anna)


def test_create_links_many_field(store: RecordStore) -> None:
    first = store.create("Company", {"name": "A"})["id"]
    second = store.create("Company", {"name": "B"})["id"]
    contact = store.create("Contact", {"name": "Ivan", "partners": [second, first]})
    assert contact["partners"] == sorted([first, second])
    assert store.get("Contact", contact["id"])["partners"] == sorted([first, second])


def test_create_puts_record_in_initial_stage_of_first_pipeline(store: RecordStore,
                                                               clock: ManualClock) -> None:
    deal = store.create("Deal", {"title": "Sofa"})
    assert (deal["pipeline"], deal["stage"], deal["stage_entered_at"]) == ("sales", "new", clock.now())


def test_create_in_named_pipeline_and_stage(store: RecordStore) -> None:
    deal = store.create("Deal", {"title": "Help", "pipeline": "support", "stage": "closed"})
    assert (deal["pipeline"], deal["stage"]) == ("support", "closed")


def test_create_with_unknown_stage_names_valid_stages(store: RecordStore, count_rows: Counter) -> None:
    with pytest.raises(UnknownStage) as info:
        store.create("Deal", {"title": "Sofa", "stage": "paid"})
    assert info.value.code == "UNKNOWN_STAGE"
    assert "new, negotiation, won, lost" in info.value.message
    assert count_rows("Deal") == NOTHING


def test_create_with_unknown_pipeline_names_valid_pipelines(store: RecordStore) -> None:
    with pytest.raises(UnknownStage) as info:
        store.create("Deal", {"title": "Sofa", "pipeline": "rentals"})
    assert "sales, support" in info.value.message


def test_create_with_naive_datetime_is_refused(store: RecordStore) -> None:
    with pytest.raises(ValidationFailed) as info:
        store.create("Deal", {"title": "Sofa", "closes_at": "2026-04-01T10:00:00"})
    assert list(info.value.fields) == ["closes_at"]


def test_create_of_unknown_entity_is_not_found(store: RecordStore) -> None:
    with pytest.raises(NotFound) as info:
        store.create("Invoice", {"title": "x"})
    assert info.value.code == "NOT_FOUND"


def test_create_writes_history_per_set_field(engine: Engine, store: RecordStore, anna: Actor) -> None:
    deal = store.create("Deal", {"title": "Sofa", "amount": 10}, actor=anna)
    history = system_tables.record_history
    with engine.connect() as conn:
        rows = conn.execute(sa.select(history.c.field, history.c.old, history.c.new, history.c.actor,
                                      history.c.version).where(history.c.record_id == deal["id"],
                                      history.c.workspace == store.meta.workspace)).all()
    assert {r.field: (r.old, r.new) for r in rows} == {
        "title": (None, "Sofa"), "amount": (None, "10.00"), "paid": (None, False),
        "pipeline": (None, "sales"), "stage": (None, "new")}
    assert {(r.actor, r.version) for r in rows} == {("anna@acme.test", 1)}


def test_create_opens_stage_history_and_one_outbox_event(engine: Engine, store: RecordStore,
                                                          count_rows: Counter, anna: Actor) -> None:
    deal = store.create("Deal", {"title": "Sofa", "amount": 10}, actor=anna)
    assert count_rows("Deal") == {"records": 1, "history": 5, "stages": 1, "outbox": 1}
    ws = store.meta.workspace
    with engine.connect() as conn:
        event = conn.execute(sa.select(system_tables.outbox).where(
            system_tables.outbox.c.workspace == ws)).mappings().one()
        stage = conn.execute(sa.select(system_tables.stage_history).where(
            system_tables.stage_history.c.workspace == ws)).mappings().one()
    assert (event["kind"], event["record_id"]) == ("created", deal["id"])
    assert event["payload"]["changes"]["amount"] == [None, "10.00"]
    assert event["payload"]["stage"] == {"from": None, "to": "new", "pipeline": "sales"}
    assert event["payload"]["version"] == 1
    assert (stage["stage"], stage["left_at"], stage["actor"]) == ("new", None, "anna@acme.test")


def test_create_without_pipeline_has_no_stage_columns(store: RecordStore) -> None:
    car = store.create("Car", {"plate": "A123BC"})
    assert "stage" not in car and "pipeline" not in car
