"""``read_funnel``: reached counts, conversions, time in stage and bottleneck, computed in SQL.

Every expected number is worked out by hand from the moves each test makes with the manual clock
(the store's clock starts at 2026-03-02 09:00 UTC).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.clock import ManualClock
from metamodel.errors import InvalidQuery, ValidationFailed
from metamodel.records import Funnel, RecordStore, funnel_query, read_funnel
from metamodel.storage.catalog import WorkspaceMeta

HOUR = timedelta(hours=1)
MARCH = ("2026-03-01", "2026-03-31")


def _funnel(store: RecordStore, clock: ManualClock, *, pipeline: str | None = "sales",
            period: tuple[str | None, str | None] = MARCH, where: Any = None,
            hidden: frozenset[tuple[str, str]] = frozenset()) -> Funnel:
    query = funnel_query(store.meta, "Deal", pipeline, period[0], period[1], where, hidden)
    with store.reading() as conn:
        return read_funnel(conn, store.meta, query, clock.now())


def _reached(funnel: Funnel) -> dict[str, int]:
    return {s.code: s.reached for s in funnel.stages}


def _deal(store: RecordStore, *moves: str, **values: Any) -> int:
    """A deal created (in ``stage`` if given) and moved through ``moves`` at the current time."""
    record_id = int(store.create("Deal", {"title": "Sofa", **values})["id"])
    for stage in moves:
        store.update("Deal", record_id, {"stage": stage})
    return record_id


def test_reached_counts_every_record_that_entered_a_stage_or_a_later_one(
        store: RecordStore, clock: ManualClock) -> None:
    _deal(store, "negotiation", "won")
    _deal(store, "negotiation", "lost")
    _deal(store)
    _deal(store, "lost")
    funnel = _funnel(store, clock)
    assert funnel.total == 4
    assert _reached(funnel) == {"new": 4, "negotiation": 2, "won": 1}
    assert [(s.code, s.reached) for s in funnel.lost] == [("lost", 2)]


def test_conversions_are_fractions_of_the_previous_and_the_first_stage(
        store: RecordStore, clock: ManualClock) -> None:
    _deal(store, "negotiation", "won")
    _deal(store, "negotiation", "lost")
    _deal(store)
    _deal(store)
    new, negotiation, won = _funnel(store, clock).stages
    assert (new.conversion_from_previous, new.conversion_from_start) == (None, 1.0)
    assert (negotiation.conversion_from_previous, negotiation.conversion_from_start) == (0.5, 0.5)
    assert (won.conversion_from_previous, won.conversion_from_start) == (0.5, 0.25)


def test_the_bottleneck_is_the_lowest_conversion_from_the_previous_stage(
        store: RecordStore, clock: ManualClock) -> None:
    _deal(store, "negotiation", "won")
    _deal(store, "negotiation", "won")
    _deal(store, "negotiation")
    _deal(store)
    funnel = _funnel(store, clock)  # negotiation 3/4, won 2/3
    assert funnel.bottleneck is not None and funnel.bottleneck.code == "won"


def test_on_a_tie_the_bottleneck_is_the_earlier_stage(store: RecordStore, clock: ManualClock) -> None:
    _deal(store, "negotiation", "won")
    _deal(store, "negotiation")
    _deal(store)
    _deal(store)  # negotiation 2/4, won 1/2
    bottleneck = _funnel(store, clock).bottleneck
    assert bottleneck is not None and bottleneck.code == "negotiation"


def test_a_record_created_in_a_later_stage_has_passed_the_earlier_ones(
        store: RecordStore, clock: ManualClock) -> None:
    _deal(store, stage="won")
    assert _reached(_funnel(store, clock)) == {"new": 1, "negotiation": 1, "won": 1}


def test_a_lost_record_counts_up_to_the_furthest_open_stage_it_entered(
        store: RecordStore, clock: ManualClock) -> None:
    _deal(store, "negotiation", "new", "lost")
    funnel = _funnel(store, clock)
    assert _reached(funnel) == {"new": 1, "negotiation": 1, "won": 0}
    assert funnel.lost[0].reached == 1


def test_a_record_created_as_lost_reaches_no_stage_of_the_funnel(
        store: RecordStore, clock: ManualClock) -> None:
    _deal(store, stage="lost")
    funnel = _funnel(store, clock)
    assert (funnel.total, funnel.lost[0].reached) == (1, 1)
    assert _reached(funnel) == {"new": 0, "negotiation": 0, "won": 0}


def test_an_empty_period_has_zero_counts_and_no_conversions(store: RecordStore, clock: ManualClock) -> None:
    _deal(store, "negotiation")
    funnel = _funnel(store, clock, period=("2025-01-01", "2025-12-31"))
    assert funnel.total == 0
    assert [(s.reached, s.conversion_from_previous, s.conversion_from_start, s.avg_time_in_stage_seconds)
            for s in funnel.stages] == [(0, None, None, None)] * 3
    assert funnel.bottleneck is None


def test_the_period_is_whole_utc_days_with_both_ends_included(store: RecordStore, clock: ManualClock) -> None:
    _deal(store)  # created 2026-03-02 09:00
    assert _funnel(store, clock, period=("2026-03-02", "2026-03-02")).total == 1
    assert _funnel(store, clock, period=("2026-03-03", None)).total == 0
    assert _funnel(store, clock, period=(None, "2026-03-01")).total == 0
    assert _funnel(store, clock, period=(None, None)).total == 1


def test_time_in_stage_adds_each_records_stays_and_counts_open_stays_to_now(
        store: RecordStore, clock: ManualClock) -> None:
    first = _deal(store)
    second = _deal(store)
    clock.advance(2 * HOUR)
    store.update("Deal", first, {"stage": "negotiation"})
    clock.advance(HOUR)
    store.update("Deal", first, {"stage": "new"})
    store.update("Deal", second, {"stage": "negotiation"})
    clock.advance(3 * HOUR)
    new, negotiation, won = _funnel(store, clock).stages
    assert new.avg_time_in_stage_seconds == (5 + 3) / 2 * 3600  # first: 2h + 3h (open), second: 3h
    assert negotiation.avg_time_in_stage_seconds == (1 + 3) / 2 * 3600  # first: 1h, second: 3h (open)
    assert won.avg_time_in_stage_seconds is None


def test_only_records_of_the_asked_pipeline_are_counted(store: RecordStore, clock: ManualClock) -> None:
    _deal(store)
    _deal(store, pipeline="support", stage="closed")
    funnel = _funnel(store, clock, pipeline="support")
    assert (funnel.total, _reached(funnel)) == (1, {"open": 1, "closed": 1})
    assert funnel.lost == ()


def test_a_record_moved_to_another_pipeline_counts_in_the_one_it_is_in(
        store: RecordStore, clock: ManualClock) -> None:
    deal = _deal(store, "negotiation")
    store.update("Deal", deal, {"pipeline": "support", "stage": "open"})
    assert _funnel(store, clock).total == 0
    assert _reached(_funnel(store, clock, pipeline="support")) == {"open": 1, "closed": 0}


def test_without_a_pipeline_the_first_one_is_used(store: RecordStore, clock: ManualClock) -> None:
    _deal(store)
    assert _funnel(store, clock, pipeline=None).pipeline == "sales"


def test_soft_deleted_records_are_not_counted(store: RecordStore, clock: ManualClock) -> None:
    _deal(store)
    store.delete("Deal", _deal(store, "negotiation"))
    assert _reached(_funnel(store, clock)) == {"new": 1, "negotiation": 0, "won": 0}


def test_where_chooses_the_records_counted(store: RecordStore, clock: ManualClock) -> None:
    _deal(store, "negotiation", amount="500")
    _deal(store, amount="50")
    funnel = _funnel(store, clock, where={"amount": {"gte": 100}})
    assert (funnel.total, _reached(funnel)) == (1, {"new": 1, "negotiation": 1, "won": 0})


def test_a_hidden_field_cannot_filter_the_funnel(store: RecordStore, clock: ManualClock) -> None:
    with pytest.raises(InvalidQuery) as refused:
        _funnel(store, clock, where={"amount": {"gte": 100}}, hidden=frozenset({("Deal", "amount")}))
    assert refused.value.code == "FORBIDDEN"


@pytest.mark.parametrize(("entity", "pipeline", "period", "field"), [
    ("Nope", "sales", MARCH, "entity"),
    ("Car", None, MARCH, "entity"),
    ("Deal", "nope", MARCH, "pipeline"),
    ("Deal", "sales", ("2026-02-30", None), "from"),
    ("Deal", "sales", (None, "soon"), "to"),
    ("Deal", "sales", ("2026-04-01", "2026-03-31"), "to"),
])
def test_bad_arguments_are_refused_naming_the_argument(
        records_meta: WorkspaceMeta, entity: str, pipeline: str | None,
        period: tuple[str | None, str | None], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        funnel_query(records_meta, entity, pipeline, *period)
    assert list(refused.value.fields) == [field]


def _statements(engine: Engine, store: RecordStore, clock: ManualClock) -> int:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's transaction start is not a query
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        _funnel(store, clock, where={"title": {"eq": "Sofa"}})
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_funnel_costs_two_statements_whatever_the_number_of_records(
        engine: Engine, store: RecordStore, clock: ManualClock) -> None:
    _deal(store, "negotiation")
    few = _statements(engine, store, clock)
    for _ in range(15):
        _deal(store, "negotiation", "won")
    assert (few, _statements(engine, store, clock)) == (2, 2)
