"""Money and decimals are never rounded silently; an empty enum is not a missing one."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from metamodel.definitions import Blueprint, EntityDef, FieldDef, FieldType
from metamodel.errors import ValidationFailed
from metamodel.records import RecordStore
from tests.metamodel.records.conftest import create_workspace_tables

Counter = Callable[[str], dict[str, int]]


def _reason(store: RecordStore, entity: str, values: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        store.create(entity, values)
    return info.value.fields


@pytest.mark.parametrize("amount", ["0.005", 0.005, Decimal("1.001"), "-3.141"])
def test_money_with_more_than_2_decimal_places_is_refused(store: RecordStore, count_rows: Counter,
                                                          amount: Any) -> None:
    fields = _reason(store, "Deal", {"title": "Sofa", "amount": amount})
    assert fields == {"amount": "must have at most 2 decimal places"}
    assert count_rows("Deal")["records"] == 0


@pytest.mark.parametrize(("amount", "stored"), [
    ("0.01", Decimal("0.01")), ("1.500", Decimal("1.50")), (12, Decimal("12.00")), (0.1, Decimal("0.10")),
])
def test_money_with_2_decimal_places_or_fewer_is_stored(store: RecordStore, amount: Any,
                                                       stored: Decimal) -> None:
    assert store.create("Deal", {"title": "Sofa", "amount": amount})["amount"] == stored


def test_decimal_with_more_than_10_decimal_places_is_refused(store: RecordStore) -> None:
    fields = _reason(store, "Deal", {"title": "Sofa", "rate": "0.12345678901"})
    assert fields == {"rate": "must have at most 10 decimal places"}


def test_decimal_with_10_decimal_places_is_stored(store: RecordStore) -> None:
    assert store.create("Deal", {"title": "Sofa", "rate": "0.1234567890"})["rate"] == Decimal("0.123456789")


def test_update_refuses_extra_decimal_places_too(store: RecordStore) -> None:
    deal = store.create("Deal", {"title": "Sofa", "amount": "1.00"})
    with pytest.raises(ValidationFailed) as info:
        store.update("Deal", deal["id"], {"amount": "1.005"})
    assert list(info.value.fields) == ["amount"]
    assert store.get("Deal", deal["id"])["amount"] == Decimal("1.00")


def test_empty_text_for_an_enum_is_refused(store: RecordStore, count_rows: Counter) -> None:
    assert list(_reason(store, "Company", {"name": "Acme", "industry": ""})) == ["industry"]
    assert count_rows("Company")["records"] == 0


def test_none_for_an_optional_enum_clears_it(store: RecordStore) -> None:
    company = store.create("Company", {"name": "Acme", "industry": "it"})
    assert store.update("Company", company["id"], {"industry": None})["industry"] is None


def test_empty_text_is_stored_where_it_is_an_option(engine: Engine, workspace: str) -> None:
    blueprint = Blueprint(entities=(EntityDef("Box", "Box", "boxes", (
        FieldDef("size", FieldType.ENUM, options=("", "big")),)),))
    store = RecordStore(engine, create_workspace_tables(engine, workspace, blueprint))
    assert store.create("Box", {"size": ""})["size"] == ""
    assert store.create("Box", {"size": None})["size"] is None
