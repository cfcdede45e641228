"""Money and decimal formulas and rollups come out rounded to the field's places, the same on SQLite and
PostgreSQL: in records, filters, sorts, cursors and CSV exports (every test runs on both databases).

Values are compared as text: ``Decimal("-1.00") == Decimal("-1.000")``, but a user sees the digits."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from metamodel.clock import ManualClock
from metamodel.definitions import Blueprint, EntityDef, FieldDef, FieldType, RollupAgg
from metamodel.imports import export_records
from metamodel.records import RecordStore
from metamodel.records.aggregates import aggregate
from tests.metamodel.records.conftest import create_workspace_tables

F = FieldType

BLUEPRINT = Blueprint(entities=(
    EntityDef("Contact", "Contact", "contacts", (
        FieldDef("name", F.STRING, required=True),
        FieldDef("total", F.ROLLUP, of="deals", agg=RollupAgg.SUM, rollup_field="amount"),
        FieldDef("average", F.ROLLUP, of="deals", agg=RollupAgg.AVG, rollup_field="amount"),
        FieldDef("rate_sum", F.ROLLUP, of="deals", agg=RollupAgg.SUM, rollup_field="rate"),
        FieldDef("rate_avg", F.ROLLUP, of="deals", agg=RollupAgg.AVG, rollup_field="rate"),
        FieldDef("qty_avg", F.ROLLUP, of="deals", agg=RollupAgg.AVG, rollup_field="qty"),
        FieldDef("qty_sum", F.ROLLUP, of="deals", agg=RollupAgg.SUM, rollup_field="qty"),
    )),
    EntityDef("Deal", "Deal", "deals", (
        FieldDef("title", F.STRING, required=True),
        FieldDef("amount", F.MONEY),
        FieldDef("rate", F.DECIMAL),
        FieldDef("qty", F.INTEGER),
        FieldDef("contact", F.REFERENCE, to="Contact", inverse="deals"),
        FieldDef("margin", F.FORMULA, expr="amount * 0.2", returns=F.MONEY),
        FieldDef("third", F.FORMULA, expr="qty / 3", returns=F.DECIMAL),
        FieldDef("scaled_rate", F.FORMULA, expr="rate * 1.5", returns=F.DECIMAL),
    )),
))


@pytest.fixture
def store(engine: Engine, workspace: str, clock: ManualClock) -> RecordStore:
    return RecordStore(engine, create_workspace_tables(engine, workspace, BLUEPRINT), clock)


def _deal(store: RecordStore, title: str, **values: Any) -> dict[str, Any]:
    return store.create("Deal", {"title": title, **values})


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def test_money_formula_has_two_places(store: RecordStore) -> None:
    small = _deal(store, "small", amount="-5")
    large = _deal(store, "large", amount="123456789012.99")
    assert _text(store.get("Deal", small["id"])["margin"]) == "-1.00"
    assert _text(store.get("Deal", large["id"])["margin"]) == "24691357802.60"


def test_money_formula_in_what_a_write_returns_has_two_places(store: RecordStore) -> None:
    assert _text(_deal(store, "d", amount="100.50")["margin"]) == "20.10"


def test_decimal_formula_has_the_decimal_places(store: RecordStore) -> None:
    deal = _deal(store, "d", qty=100, rate="0.5")
    got = store.get("Deal", deal["id"])
    assert (_text(got["third"]), _text(got["scaled_rate"])) == ("33.3333333333", "0.7500000000")


def test_sum_rollup_over_no_rows_is_zero_with_the_places(store: RecordStore) -> None:
    contact = store.create("Contact", {"name": "Nobody"})
    got = store.get("Contact", contact["id"])
    assert (_text(got["total"]), got["qty_sum"]) == ("0.00", 0)
    assert got["rate_sum"] == 0 and got["rate_sum"].as_tuple().exponent == -10


def test_sum_rollup_of_money_has_two_places(store: RecordStore) -> None:
    contact = store.create("Contact", {"name": "Ann"})
    for amount in ("1.10", "2.25", "3"):
        _deal(store, "d", amount=amount, contact=contact["id"])
    assert _text(store.get("Contact", contact["id"])["total"]) == "6.35"


def test_avg_rollup_of_money_is_rounded_to_cents(store: RecordStore) -> None:
    contact = store.create("Contact", {"name": "Ann"})
    for amount in ("1.10", "2.25", "3"):
        _deal(store, "d", amount=amount, contact=contact["id"])
    assert _text(store.get("Contact", contact["id"])["average"]) == "2.12"


def test_avg_rollups_of_decimals_and_integers_have_ten_places(store: RecordStore) -> None:
    contact = store.create("Contact", {"name": "Ann"})
    for rate, qty in (("1", 1), ("2", 2), ("2", 2)):
        _deal(store, "d", rate=rate, qty=qty, contact=contact["id"])
    got = store.get("Contact", contact["id"])
    assert (_text(got["rate_avg"]), _text(got["qty_avg"])) == ("1.6666666667", "1.6666666667")


def test_avg_rollup_over_no_rows_is_null(store: RecordStore) -> None:
    contact = store.create("Contact", {"name": "Nobody"})
    assert store.get("Contact", contact["id"])["average"] is None


def test_filter_on_a_money_formula_compares_the_shown_value(store: RecordStore) -> None:
    _deal(store, "tenth of a cent", amount="0.01")
    _deal(store, "two cents", amount="0.10")
    found = store.list("Deal", where={"margin": {"eq": 0}}).records
    assert [(r["title"], _text(r["margin"])) for r in found] == [("tenth of a cent", "0.00")]


def test_sort_by_a_money_formula_pages_through_the_shown_values(store: RecordStore) -> None:
    for title, amount in (("b", "0.02"), ("a", "0.01"), ("c", "-5")):
        _deal(store, title, amount=amount)
    first = store.list("Deal", order_by=[("margin", "asc")], first=2)
    rest = store.list("Deal", order_by=[("margin", "asc")], first=2, after=first.end_cursor)
    assert [(r["title"], _text(r["margin"])) for r in first.records + rest.records] == [
        ("c", "-1.00"), ("b", "0.00"), ("a", "0.00")]


def test_sort_by_a_money_formula_ties_rounded_values_by_id(store: RecordStore) -> None:
    for title, amount in (("b", "0.02"), ("a", "0.01"), ("c", "-5")):
        _deal(store, title, amount=amount)
    titles = [r["title"] for r in store.list("Deal", order_by=[("margin", "asc")]).records]
    assert titles == ["c", "b", "a"]


def test_a_cursor_holds_the_money_formula_as_shown(store: RecordStore) -> None:
    for amount in ("-5", "0.01"):
        _deal(store, "d", amount=amount)
    page = store.list("Deal", order_by=[("margin", "asc")], first=1)
    assert _cursor_values(page.end_cursor) == ["-1.00"]


def test_export_csv_shows_money_formulas_and_rollups_with_two_places(store: RecordStore) -> None:
    contact = store.create("Contact", {"name": "Ann"})
    _deal(store, "d", amount="100.50", contact=contact["id"])
    deals, contacts = io.BytesIO(), io.BytesIO()
    export_records(store, "Deal", deals, "csv")
    export_records(store, "Contact", contacts, "csv")
    assert _csv_column(deals, "margin") == ["20.10"]
    assert (_csv_column(contacts, "total"), _csv_column(contacts, "average")) == (["100.50"], ["100.50"])


def _cursor_values(token: str | None) -> list[Any]:
    """The sort values a cursor holds (its JSON body after the 8-byte checksum)."""
    assert token is not None
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    values: list[Any] = json.loads(raw[8:])[1]
    return values


def _csv_column(out: io.BytesIO, name: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    index = rows[0].index(name)
    return [row[index] for row in rows[1:]]


def test_aggregate_sum_over_no_rows_is_zero_with_the_places(store: RecordStore) -> None:
    with store.engine.connect() as conn:
        got = aggregate(conn, store.meta, "Deal", None, {"sum": ["amount", "margin", "qty"]})
    assert {name: _text(value) for name, value in got["sum"].items()} == {
        "amount": "0.00", "margin": "0.00", "qty": "0"}


def test_aggregate_sum_of_a_money_formula_has_two_places(store: RecordStore) -> None:
    for amount in ("1.10", "2.25", "3"):
        _deal(store, "d", amount=amount)
    with store.engine.connect() as conn:
        got = aggregate(conn, store.meta, "Deal", None, {"sum": ["margin"]})
    assert _text(got["sum"]["margin"]) == "1.27"
