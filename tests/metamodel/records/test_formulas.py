"""Formula fields computed in SQL: in records, filters, sorts, keyset pages, aggregates and group-by;
rollup conditions written in the .craft language.  Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from metamodel.blueprint import load_blueprint, parse_blueprint
from metamodel.clock import ManualClock
from metamodel.definitions import Blueprint, EntityDef, FieldDef, FieldType, RollupAgg
from metamodel.errors import BlueprintInvalid, InvalidQuery
from metamodel.records import RecordStore
from tests.metamodel.records.conftest import SALES, START, create_workspace_tables

F = FieldType


def _formula(name: str, expr: str, returns: FieldType) -> FieldDef:
    return FieldDef(name, F.FORMULA, expr=expr, returns=returns)


BLUEPRINT = Blueprint(entities=(
    EntityDef("Company", "Company", "companies", (
        FieldDef("name", F.STRING, required=True),
        FieldDef("discount", F.DECIMAL),
    )),
    EntityDef("Contact", "Contact", "contacts", (
        FieldDef("name", F.STRING, required=True),
        FieldDef("company", F.REFERENCE, to="Company", inverse="contacts"),
        FieldDef("won_total", F.ROLLUP, of="deals", agg=RollupAgg.SUM, rollup_field="amount",
                 where="stage.kind == won"),
        FieldDef("big_open", F.ROLLUP, of="deals", agg=RollupAgg.COUNT,
                 where="stage.kind == open and amount >= 500"),
        _formula("greeting", '"Dear {name}"', F.STRING),
    )),
    EntityDef("Deal", "Deal", "deals", (
        FieldDef("title", F.STRING, required=True),
        FieldDef("amount", F.MONEY),
        FieldDef("contact", F.REFERENCE, to="Contact", inverse="deals"),
        FieldDef("due_on", F.DATE),
        FieldDef("tags", F.TAGS),
        _formula("margin", "amount * 0.2", F.MONEY),
        _formula("net", "margin - coalesce(contact.company.discount, 0)", F.MONEY),
        _formula("overdue", "due_on < today and stage.kind == open", F.BOOLEAN),
        _formula("follow_up", "due_on + 7 days", F.DATE),
        _formula("label", 'upper(title) + " / " + coalesce(contact.name, "-")', F.STRING),
        _formula("hot", 'tags contains "hot"', F.BOOLEAN),
        _formula("days_left", "days_between(today, due_on)", F.INTEGER),
    ), (SALES,)),
))


@pytest.fixture
def store(engine: Engine, workspace: str, clock: ManualClock) -> RecordStore:
    return RecordStore(engine, create_workspace_tables(engine, workspace, BLUEPRINT), clock)


@pytest.fixture
def world(store: RecordStore) -> dict[str, int]:
    """Acme (discount 10) employs Ann; Ann has a won Sofa and an open Table; Lamp has no contact."""
    acme = store.create("Company", {"name": "Acme", "discount": Decimal(10)})["id"]
    ann = store.create("Contact", {"name": "Ann", "company": acme})["id"]
    bob = store.create("Contact", {"name": "Bob"})["id"]
    sofa = store.create("Deal", {"title": "Sofa", "amount": Decimal(1200), "contact": ann, "stage": "won",
                                 "due_on": date(2026, 3, 1), "tags": ["hot"]})["id"]
    table = store.create("Deal", {"title": "Table", "amount": Decimal("500.50"), "contact": ann,
                                  "due_on": date(2026, 3, 10)})["id"]
    lamp = store.create("Deal", {"title": "Lamp", "amount": Decimal(50), "stage": "lost"})["id"]
    chair = store.create("Deal", {"title": "Chair", "due_on": date(2026, 2, 1)})["id"]
    return {"acme": acme, "ann": ann, "bob": bob, "sofa": sofa, "table": table, "lamp": lamp, "chair": chair}


def test_the_spec_example_margin_and_won_total_work_end_to_end(engine: Engine, workspace: str,
                                                                clock: ManualClock) -> None:
    spec = load_blueprint(Path(__file__).parents[1] / "fixtures" / "spec_example")
    store = RecordStore(engine, create_workspace_tables(engine, workspace, spec), clock)
    ann = store.create("Contact", {"name": "Ann"})["id"]
    sofa = store.create("Deal", {"title": "Sofa", "amount": Decimal(1200), "contact": ann, "stage": "won"})
    store.create("Deal", {"title": "Table", "amount": Decimal(300), "contact": ann})
    assert sofa["margin"] == Decimal("240.00")
    assert store.list("Contact", where={"won_total": {"eq": 1200}}).records[0]["won_total"] == Decimal(1200)
    deals = store.list("Deal", order_by=[("margin", "desc")]).records
    assert [d["title"] for d in deals] == ["Sofa", "Table"]


def _titles(store: RecordStore, **kwargs: Any) -> list[str]:
    return [r["title"] for r in store.list("Deal", first=100, **kwargs).records]


def test_the_spec_margin_formula_is_in_listed_records(store: RecordStore, world: dict[str, int]) -> None:
    margins = {r["title"]: r["margin"] for r in store.list("Deal").records}
    assert margins == {"Sofa": Decimal("240.00"), "Table": Decimal("100.10"), "Lamp": Decimal("10.00"),
                       "Chair": None}


def test_formulas_are_in_get_and_in_what_writes_return(store: RecordStore, world: dict[str, int]) -> None:
    updated = store.update("Deal", world["table"], {"amount": Decimal(1000)})
    assert updated["margin"] == Decimal("200.00")
    assert store.get("Deal", world["table"]) == updated


def test_formula_paths_follow_references(store: RecordStore, world: dict[str, int]) -> None:
    got = {r["title"]: (r["net"], r["label"]) for r in store.list("Deal").records}
    assert got["Sofa"] == (Decimal("230.00"), "SOFA / Ann")
    assert got["Lamp"] == (Decimal("10.00"), "LAMP / -")


def test_now_and_today_read_the_store_clock(store: RecordStore, world: dict[str, int],
                                            clock: ManualClock) -> None:
    assert START.date() == date(2026, 3, 2)
    assert _titles(store, where={"overdue": {"eq": True}}) == ["Chair"]
    assert store.get("Deal", world["table"])["days_left"] == 8
    clock.advance(timedelta(days=10))
    assert _titles(store, where={"overdue": {"eq": True}}) == ["Table", "Chair"]
    assert store.get("Deal", world["table"])["days_left"] == -2


def test_formulas_of_every_type_are_filterable(store: RecordStore, world: dict[str, int]) -> None:
    assert _titles(store, where={"margin": {"gte": 100}}) == ["Sofa", "Table"]
    assert _titles(store, where={"margin": {"isNull": True}}) == ["Chair"]
    assert _titles(store, where={"label": {"startsWith": "LAMP"}}) == ["Lamp"]
    assert _titles(store, where={"hot": {"eq": True}}) == ["Sofa"]
    assert _titles(store, where={"follow_up": {"lt": "2026-03-10"}}) == ["Sofa", "Chair"]


def test_formulas_sort_across_keyset_pages(store: RecordStore, world: dict[str, int]) -> None:
    order = [("margin", "desc")]
    first = store.list("Deal", order_by=order, first=2)
    rest = store.list("Deal", order_by=order, first=2, after=first.end_cursor)
    titles = [r["title"] for r in first.records + rest.records]
    assert titles == _titles(store, order_by=order)
    assert titles[:3] == ["Sofa", "Table", "Lamp"]


def test_formulas_aggregate_and_group(store: RecordStore, world: dict[str, int]) -> None:
    assert store.aggregate("Deal", None, {"sum": ["margin"]})["sum"]["margin"] == Decimal("350.10")
    groups = store.group_by("Deal", ["hot"], None, {"sum": ["margin"]})
    assert {g["key"]["hot"]: g["sum"]["margin"] for g in groups} == {
        False: Decimal("110.10"), True: Decimal("240.00")}


def test_rollup_where_is_a_craft_condition_on_the_source_rows(store: RecordStore,
                                                                world: dict[str, int]) -> None:
    contacts = {r["name"]: (r["won_total"], r["big_open"], r["greeting"])
                for r in store.list("Contact").records}
    assert contacts == {"Ann": (Decimal("1200.00"), 1, "Dear Ann"), "Bob": (0, 0, "Dear Bob")}


def test_a_formula_that_does_not_parse_is_left_out_and_refused_in_queries(engine: Engine, workspace: str,
                                                                          clock: ManualClock) -> None:
    broken = Blueprint(entities=(EntityDef("Car", "Car", "cars", (
        FieldDef("plate", F.STRING), _formula("bad", "plate +", F.STRING),
        _formula("before", "old.plate", F.STRING), _formula("typo", "plte", F.STRING))),))
    store = RecordStore(engine, create_workspace_tables(engine, workspace, broken), clock)
    car = store.create("Car", {"plate": "A1"})
    listed = store.list("Car").records[0]
    assert [name for name in ("bad", "before", "typo") if name in car or name in listed] == []
    with pytest.raises(InvalidQuery) as info:
        store.list("Car", where={"bad": {"eq": "x"}})
    assert info.value.code == "E_UNEXPECTED_END"



# --- formulas in blueprints ------------------------------------------------------------------------

def _blueprint(formula: str) -> str:
    """``Deal`` with amount and title; the formula is on line 6, a plain ``expr`` value starts at col 37."""
    return ("entities:\n  Deal:\n    fields:\n      amount: {type: money}\n      title: {type: string}\n"
            f"      margin: {{type: formula, {formula}}}\n")


@pytest.mark.parametrize(("formula", "expected"), [
    ('expr: "amount * 0.2", returns: money', []),
    ("expr: ammount * 0.2, returns: money", [("E_UNKNOWN_FIELD", 6, 37)]),
    ("expr: amount *, returns: money", [("E_UNEXPECTED_END", 6, 45)]),
    ("expr: title + 1, returns: string", [("E_TYPE_MISMATCH", 6, 37)]),
    ("expr: upper(title), returns: money", [("E_TYPE_MISMATCH", 6, 37)]),
    ("expr: old.amount, returns: money", [("E_OLD_OUTSIDE_UPDATE", 6, 37)]),
    ("expr: amount + nope, returns: money", [("E_UNKNOWN_FIELD", 6, 46)]),
])
def test_blueprint_formulas_are_checked_by_the_language_at_their_place(
        formula: str, expected: list[tuple[str, int, int]]) -> None:
    try:
        parse_blueprint(_blueprint(formula))
        problems: list[tuple[str, int, int]] = []
    except BlueprintInvalid as exc:
        problems = [(p.code, p.place.line, p.place.col) for p in exc.problems]
    assert problems == expected


def _rollup(where: str) -> str:
    """``Contact`` with a rollup over ``deals`` on line 4; a plain ``where`` value starts at col 59."""
    return ("entities:\n  Contact:\n    fields:\n"
            f"      total: {{type: rollup, of: deals, agg: count, where: {where}}}\n"
            "  Deal:\n    fields:\n      amount: {type: money}\n"
            "      contact: {type: reference, to: Contact, inverse: deals}\n"
            "    pipelines:\n      sales:\n        stages: [{code: new}, {code: won, kind: won}]\n")


@pytest.mark.parametrize(("where", "expected"), [
    ('"stage.kind == won"', []),
    ("amount > 5 and stage == won", []),
    ("amount >", [("E_UNEXPECTED_END", 4, 67)]),
    ("amont > 5", [("E_UNKNOWN_FIELD", 4, 59)]),
    ("amount + 1", [("E_TYPE_MISMATCH", 4, 59)]),
    ("old.amount > 1", [("MM.E129", 4, 59)]),
])
def test_blueprint_rollup_conditions_are_checked_at_their_place(
        where: str, expected: list[tuple[str, int, int]]) -> None:
    try:
        parse_blueprint(_rollup(where))
        problems: list[tuple[str, int, int]] = []
    except BlueprintInvalid as exc:
        problems = [(p.code, p.place.line, p.place.col) for p in exc.problems]
    assert problems == expected
