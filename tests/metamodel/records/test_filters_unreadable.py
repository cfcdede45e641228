"""Filters never step into an entity the caller may not read: an (entity, "*") pair in ``hidden`` refuses
a reference, inverse list or ``many`` list entering it with FORBIDDEN, on every read path, while
comparing a reference's own id and listing the columns of the filtered entity stay allowed."""

from __future__ import annotations

from typing import Any

import pytest
from seed import build_world, create_workspace
from sqlalchemy.engine import Engine

from metamodel.errors import InvalidQuery
from metamodel.records import RecordStore, funnel_query, read_funnel
from metamodel.records.filters import UNREADABLE
from metamodel.records.query import count_records, list_records
from metamodel.storage.catalog import WorkspaceMeta

NO_CONTACTS = frozenset({("Contact", UNREADABLE)})
NO_DEALS = frozenset({("Deal", UNREADABLE)})
NO_COMPANIES = frozenset({("Company", UNREADABLE)})


@pytest.fixture
def meta(engine: Engine, workspace: str) -> WorkspaceMeta:
    return create_workspace(engine, workspace)


@pytest.fixture
def ids(engine: Engine, meta: WorkspaceMeta) -> dict[str, int]:
    return build_world(engine, meta)


def titles(engine: Engine, meta: WorkspaceMeta, where: dict[str, Any], hidden: frozenset[tuple[str, str]],
           entity: str = "Deal", key: str = "title") -> set[str]:
    with engine.connect() as conn:
        page = list_records(conn, meta, entity, where=where, first=1000, hidden=hidden)
    return {r[key] for r in page.records}


def refusal(engine: Engine, meta: WorkspaceMeta, where: dict[str, Any], hidden: frozenset[tuple[str, str]],
            entity: str = "Deal") -> InvalidQuery:
    with pytest.raises(InvalidQuery) as caught, engine.connect() as conn:
        list_records(conn, meta, entity, where=where, hidden=hidden)
    return caught.value


def test_a_reference_into_an_unreadable_entity_is_forbidden(engine: Engine, meta: WorkspaceMeta,
                                                            ids: dict[str, int]) -> None:
    error = refusal(engine, meta, {"contact": {"name": {"startsWith": "An"}}}, NO_CONTACTS)

    assert error.code == "FORBIDDEN"
    assert error.place.path == "where.contact"
    assert error.message == "where.contact: Contact records are not readable by your role"


@pytest.mark.parametrize("quantifier", ["some", "none"])
def test_an_inverse_list_into_an_unreadable_entity_is_forbidden(engine: Engine, meta: WorkspaceMeta,
                                                                ids: dict[str, int], quantifier: str) -> None:
    where = {"deals": {quantifier: {"title": {"eq": "Sofa"}}}}

    error = refusal(engine, meta, where, NO_DEALS, entity="Contact")

    assert (error.code, error.place.path) == ("FORBIDDEN", "where.deals")


def test_a_many_list_into_an_unreadable_entity_is_forbidden(engine: Engine, meta: WorkspaceMeta,
                                                            ids: dict[str, int]) -> None:
    error = refusal(engine, meta, {"partners": {"some": {"name": {"eq": "Globex"}}}}, NO_COMPANIES)

    assert (error.code, error.place.path) == ("FORBIDDEN", "where.partners")


def test_an_empty_quantifier_still_may_not_enter(engine: Engine, meta: WorkspaceMeta,
                                                 ids: dict[str, int]) -> None:
    error = refusal(engine, meta, {"deals": {"some": {}}}, NO_DEALS, entity="Contact")

    assert error.code == "FORBIDDEN"


def test_a_second_step_into_an_unreadable_entity_is_forbidden(engine: Engine, meta: WorkspaceMeta,
                                                              ids: dict[str, int]) -> None:
    error = refusal(engine, meta, {"contact": {"company": {"name": {"eq": "Acme Ltd"}}}}, NO_COMPANIES)

    assert (error.code, error.place.path) == ("FORBIDDEN", "where.contact.company")


def test_logical_operators_do_not_hide_the_step(engine: Engine, meta: WorkspaceMeta,
                                                ids: dict[str, int]) -> None:
    where = {"or": [{"title": {"eq": "Lamp"}}, {"not": {"contact": {"name": {"eq": "Ann"}}}}]}

    error = refusal(engine, meta, where, NO_CONTACTS)

    assert (error.code, error.place.path) == ("FORBIDDEN", "where.or[1].not.contact")


def test_comparing_the_reference_id_enters_nothing(engine: Engine, meta: WorkspaceMeta,
                                                   ids: dict[str, int]) -> None:
    ann = ids["ann"]
    for condition in ({"eq": ann}, {"in": [ann]}, {"id": {"eq": ann}}):
        assert titles(engine, meta, {"contact": condition}, NO_CONTACTS) == {"Sofa"}, condition


def test_an_empty_reference_test_enters_nothing(engine: Engine, meta: WorkspaceMeta,
                                                ids: dict[str, int]) -> None:
    assert titles(engine, meta, {"contact": {"isNull": True}}, NO_CONTACTS) == {"Lamp"}


def test_readable_entities_still_filter_through_references(engine: Engine, meta: WorkspaceMeta,
                                                           ids: dict[str, int]) -> None:
    assert titles(engine, meta, {"contact": {"name": {"eq": "Ann"}}}, NO_COMPANIES) == {"Sofa"}


def test_an_unreadable_entity_hides_no_column(engine: Engine, meta: WorkspaceMeta,
                                              ids: dict[str, int]) -> None:
    with engine.connect() as conn:
        page = list_records(conn, meta, "Deal", where={"title": {"eq": "Sofa"}}, hidden=NO_CONTACTS)

    [sofa] = page.records
    assert sofa["contact"] == ids["ann"]
    assert sofa["partners"] == [ids["globex"]]


def test_the_filtered_entity_itself_is_left_to_the_caller(engine: Engine, meta: WorkspaceMeta,
                                                          ids: dict[str, int]) -> None:
    assert titles(engine, meta, {"title": {"eq": "Sofa"}}, NO_DEALS) == {"Sofa"}


def test_counting_refuses_the_step(engine: Engine, meta: WorkspaceMeta, ids: dict[str, int]) -> None:
    with pytest.raises(InvalidQuery) as caught, engine.connect() as conn:
        count_records(conn, meta, "Deal", {"contact": {"name": {"eq": "Ann"}}}, hidden=NO_CONTACTS)

    assert caught.value.code == "FORBIDDEN"


def test_aggregates_refuse_the_step(engine: Engine, meta: WorkspaceMeta, ids: dict[str, int]) -> None:
    store = RecordStore(engine, meta)

    with pytest.raises(InvalidQuery) as caught:
        store.aggregate("Deal", {"contact": {"name": {"eq": "Ann"}}}, {"sum": ["amount"]}, hidden=NO_CONTACTS)

    assert caught.value.code == "FORBIDDEN"


def test_group_by_refuses_the_step(engine: Engine, meta: WorkspaceMeta, ids: dict[str, int]) -> None:
    store = RecordStore(engine, meta)

    with pytest.raises(InvalidQuery) as caught:
        store.group_by("Deal", ["paid"], {"contact": {"name": {"eq": "Ann"}}}, hidden=NO_CONTACTS)

    assert caught.value.code == "FORBIDDEN"


def test_the_funnel_refuses_the_step(engine: Engine, meta: WorkspaceMeta, ids: dict[str, int]) -> None:
    store = RecordStore(engine, meta)
    query = funnel_query(meta, "Deal", "sales", None, None, {"contact": {"name": {"eq": "Ann"}}}, NO_CONTACTS)

    with pytest.raises(InvalidQuery) as caught, engine.connect() as conn:
        read_funnel(conn, meta, query, store.clock.now())

    assert caught.value.code == "FORBIDDEN"
