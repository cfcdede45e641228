"""The compiled validator only ever accepts what the full jsonschema validator accepts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import fastjsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from metamodel.blueprint import load_blueprint
from metamodel.blueprint.entity_schema import _CACHE, _as_json
from metamodel.definitions import EntityDef

ROOT = Path(__file__).resolve().parents[2]
ENTITIES: list[EntityDef] = [
    *load_blueprint(ROOT / "examples" / "online-store").entities,
    *load_blueprint(Path(__file__).parent / "fixtures" / "spec_example").entities,
]

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False), st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=12), st.sampled_from(["", "2026-02-31", "2026-03-02", "12.50", "-1", "a@b.test",
                                          "https://x.test", "+10000000001", "retail", "won", "new"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3),
                   st.dictionaries(st.text(max_size=3), SCALARS, max_size=2))


def fast_accepts(entity: EntityDef, data: dict[str, Any], partial: bool) -> bool:
    try:
        _CACHE.get(entity, partial).accepts({k: _as_json(v) for k, v in data.items()})
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def full_accepts(entity: EntityDef, data: dict[str, Any], partial: bool) -> bool:
    plain = {k: _as_json(v) for k, v in data.items()}
    return not list(_CACHE.get(entity, partial).full.iter_errors(plain))


@st.composite
def inputs(draw: st.DrawFn) -> tuple[EntityDef, dict[str, Any], bool]:
    entity = draw(st.sampled_from(ENTITIES))
    names = [f.name for f in entity.fields] + ["owner", "stage", "pipeline", "nope"]
    data = draw(st.dictionaries(st.sampled_from(names), VALUES, max_size=6))
    return entity, data, draw(st.booleans())


@settings(max_examples=600, deadline=None)
@given(inputs())
def test_the_fast_validator_never_accepts_what_the_full_one_refuses(
        case: tuple[EntityDef, dict[str, Any], bool]) -> None:
    entity, data, partial = case
    if fast_accepts(entity, data, partial):
        assert full_accepts(entity, data, partial), data


def test_an_impossible_date_is_refused_by_both_validators() -> None:
    order = next(e for e in ENTITIES if e.name == "Order")
    data = {"title": "x", "paid_on": "2026-02-31"}
    assert not fast_accepts(order, data, False)
    assert not full_accepts(order, data, False)


def test_a_decimal_amount_is_accepted_on_the_fast_path() -> None:
    order = next(e for e in ENTITIES if e.name == "Order")
    assert fast_accepts(order, {"title": "x", "amount": Decimal("12.50")}, False)
