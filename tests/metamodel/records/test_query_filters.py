"""Filters: every operator per type, through references, lists, stages and users, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from seed import T0, build_world, create_workspace
from sqlalchemy.engine import Engine

from metamodel.errors import InvalidQuery
from metamodel.records.query import count_records, list_records
from metamodel.storage.catalog import WorkspaceMeta


@pytest.fixture
def meta(engine: Engine, workspace: str) -> WorkspaceMeta:
    return create_workspace(engine, workspace)


@pytest.fixture
def ids(engine: Engine, meta: WorkspaceMeta) -> dict[str, int]:
    return build_world(engine, meta)


@pytest.fixture
def deals(engine: Engine, meta: WorkspaceMeta, ids: dict[str, int]) -> Any:
    """``deals(where)`` -> set of titles of the matching live deals."""

    def run(where: dict[str, Any], entity: str = "Deal", key: str = "title") -> set[str]:
        with engine.connect() as conn:
            page = list_records(conn, meta, entity, where=where, first=1000)
        return {r[key] for r in page.records}

    return run


LIVE = {"Sofa", "Table", "chair", "Lamp", "Desk"}


@pytest.mark.parametrize(("where", "expected"), [
    ({"amount": {"eq": 1200}}, {"Sofa"}),
    ({"amount": {"neq": 1200}}, {"Table", "chair", "Lamp", "Desk"}),
    ({"amount": {"gt": "500.50"}}, {"Sofa", "Desk"}),
    ({"amount": {"gte": 500.5}}, {"Sofa", "Table", "Desk"}),
    ({"amount": {"lt": 500.5}}, {"Lamp"}),
    ({"amount": {"lte": 500.5}}, {"Table", "Lamp"}),
    ({"amount": {"in": [50, 800]}}, {"Lamp", "Desk"}),
    ({"amount": {"nin": [50, 800]}}, {"Sofa", "Table", "chair"}),
    ({"amount": {"isNull": True}}, {"chair"}),
    ({"amount": {"isNull": False}}, {"Sofa", "Table", "Lamp", "Desk"}),
    ({"amount": {"gte": 100, "lt": 1000}}, {"Table", "Desk"}),
])
def test_money_operators(deals: Any, where: dict[str, Any], expected: set[str]) -> None:
    assert deals(where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ({"title": {"eq": "Sofa"}}, {"Sofa"}),
    ({"title": {"contains": "a"}}, {"Sofa", "Table", "chair", "Lamp"}),
    ({"title": {"contains": "S"}}, {"Sofa"}),
    ({"title": {"icontains": "CHA"}}, {"chair"}),
    ({"title": {"startsWith": "c"}}, {"chair"}),
    ({"title": {"startsWith": "C"}}, set()),
    ({"title": {"gt": "Lamp"}}, {"Sofa", "Table", "chair"}),
    ({"title": {"in": ["Lamp", "Bed"]}}, {"Lamp"}),
])
def test_string_operators(deals: Any, where: dict[str, Any], expected: set[str]) -> None:
    assert deals(where) == expected


def test_like_wildcards_are_literal(deals: Any) -> None:
    assert deals({"name": {"contains": "%_"}}, entity="Company", key="name") == {"100%_Real"}
    assert deals({"name": {"startsWith": "_"}}, entity="Company", key="name") == set()
    assert deals({"name": {"icontains": "0%_r"}}, entity="Company", key="name") == {"100%_Real"}


@pytest.mark.parametrize(("where", "expected"), [
    ({"paid": {"eq": True}}, {"Sofa"}),
    ({"paid": {"neq": True}}, {"Table", "chair", "Lamp", "Desk"}),
    ({"paid": {"isNull": True}}, {"chair", "Lamp", "Desk"}),
])
def test_boolean_operators(deals: Any, where: dict[str, Any], expected: set[str]) -> None:
    assert deals(where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ({"due_on": {"eq": "2026-03-01"}}, {"Sofa"}),
    ({"due_on": {"gt": "2026-03-01"}}, {"Table"}),
    ({"due_on": {"lte": "2026-04-01"}}, {"Sofa", "Table"}),
    ({"due_on": {"isNull": True}}, {"chair", "Lamp", "Desk"}),
    ({"closed_at": {"gte": "2026-02-01T10:00:00Z"}}, {"Sofa"}),
    ({"closed_at": {"gt": "2026-02-01T12:00:00+03:00"}}, {"Sofa"}),
    ({"closed_at": {"lt": "2026-02-01T10:00:00"}}, set()),
])
def test_date_and_datetime_operators(deals: Any, where: dict[str, Any], expected: set[str]) -> None:
    assert deals(where) == expected


@pytest.mark.parametrize(("where", "expected"), [
    ({"priority": {"eq": "high"}}, {"Sofa"}),
    ({"priority": {"neq": "high"}}, {"Table", "chair", "Lamp", "Desk"}),
    ({"priority": {"nin": ["low"]}}, {"Sofa", "Table", "chair", "Desk"}),
])
def test_enum_operators(deals: Any, where: dict[str, Any], expected: set[str]) -> None:
    assert deals(where) == expected


def test_integer_and_builtin_operators(deals: Any, ids: dict[str, int]) -> None:
    assert deals({"score": {"gte": 3}}, entity="Contact", key="name") == {"Ann", "Bob"}
    assert deals({"id": {"in": [ids["sofa"], ids["lamp"]]}}) == {"Sofa", "Lamp"}
    assert deals({"version": {"eq": 1}}) == LIVE
    assert deals({"pipeline": {"eq": "repeat"}}) == {"Desk"}
    assert deals({"created_at": {"isNull": False}}) == LIVE


@pytest.mark.parametrize(("where", "expected"), [
    ({"labels": {"hasAny": ["a", "c"]}}, {"Sofa", "Lamp"}),
    ({"labels": {"hasAll": ["a", "b"]}}, {"Sofa"}),
    ({"labels": {"hasAll": ["b"]}}, {"Sofa", "Table"}),
    ({"labels": {"hasAny": []}}, set()),
    ({"labels": {"isNull": True}}, {"chair", "Desk"}),
])
def test_multi_enum_operators(deals: Any, where: dict[str, Any], expected: set[str]) -> None:
    assert deals(where) == expected


def test_tags_has_any_and_has_all(deals: Any) -> None:
    assert deals({"tags": {"hasAny": ["vip", "cold"]}}, entity="Contact", key="name") == {"Ann", "Bob"}
    assert deals({"tags": {"hasAll": ["vip", "hot"]}}, entity="Contact", key="name") == {"Ann"}
    assert deals({"tags": {"hasAll": ["vip", "cold"]}}, entity="Contact", key="name") == set()


def test_json_field_accepts_only_is_null(deals: Any) -> None:
    assert deals({"data": {"isNull": False}}) == {"Sofa"}
    with pytest.raises(InvalidQuery, match=r"where\.data\.eq"):
        deals({"data": {"eq": 1}})


def test_reference_by_id(deals: Any, ids: dict[str, int]) -> None:
    assert deals({"contact": {"eq": ids["ann"]}}) == {"Sofa"}
    assert deals({"contact": {"id": {"in": [ids["bob"], ids["cid"]]}}}) == {"Table", "chair"}
    assert deals({"contact": {"isNull": True}}) == {"Lamp"}


def test_reference_nested_two_levels(deals: Any) -> None:
    assert deals({"contact": {"company": {"name": {"icontains": "acme"}}}}) == {"Sofa"}
    assert deals({"contact": {"company": {"industry": {"in": ["it", "other"]}}}}) == {"Table"}


def test_reference_to_soft_deleted_record_does_not_match(deals: Any) -> None:
    assert deals({"contact": {"name": {"eq": "Dan"}}}) == set()


def test_inverse_list_some_and_none(deals: Any) -> None:
    assert deals({"deals": {"some": {"amount": {"gt": 1000}}}}, entity="Contact", key="name") == {"Ann"}
    assert deals({"deals": {"none": {"paid": {"eq": True}}}}, entity="Contact", key="name") == {"Bob", "Cid"}


def test_inverse_list_ignores_soft_deleted_members(deals: Any) -> None:
    assert deals({"deals": {"some": {"title": {"eq": "Bed"}}}}, entity="Contact", key="name") == set()


def test_inverse_list_through_two_levels(deals: Any) -> None:
    where = {"contacts": {"some": {"deals": {"some": {"stage": {"eq": "negotiation"}}}}}}
    assert deals(where, entity="Company", key="name") == {"Globex"}


def test_many_some(deals: Any) -> None:
    assert deals({"partners": {"some": {"name": {"startsWith": "100"}}}}) == {"Table"}
    assert deals({"partners": {"some": {"industry": {"eq": "it"}}}}) == {"Sofa"}
    assert deals({"partners": {"none": {}}}) == {"chair", "Lamp", "Desk"}


@pytest.mark.parametrize(("where", "expected"), [
    ({"stage": {"eq": "won"}}, {"Sofa"}),
    ({"stage": {"in": ["negotiation", "new"]}}, {"Table", "chair"}),
    ({"stage": {"kind": {"eq": "won"}}}, {"Sofa", "Desk"}),
    ({"stage": {"kind": {"in": ["lost", "won"]}}}, {"Sofa", "Desk", "Lamp"}),
    ({"stage": {"kind": {"neq": "open"}}}, {"Sofa", "Desk", "Lamp"}),
    ({"stage": {"kind": {"eq": "open"}, "neq": "new"}}, {"Table"}),
])
def test_stage_by_code_and_kind(deals: Any, where: dict[str, Any], expected: set[str]) -> None:
    assert deals(where) == expected


def test_unknown_stage_code_is_refused_with_suggestion(deals: Any) -> None:
    with pytest.raises(InvalidQuery, match='did you mean "negotiation"'):
        deals({"stage": {"eq": "negotiaton"}})


def test_owner_by_email_and_by_id(deals: Any, ids: dict[str, int]) -> None:
    assert deals({"owner": {"email": {"eq": "anna@acme.test"}}}) == {"Sofa", "Desk"}
    assert deals({"owner": {"id": {"eq": ids["oleg"]}}}) == {"Table"}
    assert deals({"reviewer": {"name": {"icontains": "ANN"}}}) == {"Table"}
    assert deals({"owner": {"isNull": True}}) == {"chair", "Lamp"}


def test_and_or_not(deals: Any) -> None:
    assert deals({"or": [{"amount": {"lt": 100}}, {"paid": {"eq": True}}]}) == {"Sofa", "Lamp"}
    assert deals({"and": [{"amount": {"gt": 100}}, {"amount": {"lt": 1000}}]}) == {"Table", "Desk"}
    assert deals({"not": {"amount": {"gt": 100}}}) == {"chair", "Lamp"}
    assert deals({"not": {"or": [{"paid": {"eq": True}}, {"contact": {"name": {"eq": "Bob"}}}]}}) == \
        {"chair", "Lamp", "Desk"}


def test_soft_deleted_records_never_match_unless_asked(engine: Engine, meta: WorkspaceMeta,
                                                       deals: Any) -> None:
    assert "Bed" not in deals({"amount": {"gt": 0}})
    with engine.connect() as conn:
        page = list_records(conn, meta, "Deal", where={"amount": {"gt": 2000}}, include_deleted=True)
        assert [r["title"] for r in page.records] == ["Bed"]
        assert count_records(conn, meta, "Deal") == len(LIVE)


def test_unknown_field_names_the_path_and_suggests(deals: Any) -> None:
    with pytest.raises(InvalidQuery) as info:
        deals({"contact": {"company": {"nmae": {"eq": "x"}}}})
    assert info.value.message == (
        'where.contact.company.nmae: Company has no field "nmae" — did you mean "name"?')
    assert info.value.place.path == "where.contact.company.nmae"


@pytest.mark.parametrize(("where", "path"), [
    ({"amount": {"contains": "1"}}, "where.amount.contains"),
    ({"title": {"hasAny": ["x"]}}, "where.title.hasAny"),
    ({"paid": {"gt": True}}, "where.paid.gt"),
    ({"labels": {"eq": "a"}}, "where.labels.eq"),
    ({"amount": {"eq": "lots"}}, "where.amount.eq"),
    ({"due_on": {"gt": "tomorrow"}}, "where.due_on.gt"),
    ({"priority": {"eq": "urgent"}}, "where.priority.eq"),
    ({"labels": {"hasAny": ["z"]}}, "where.labels.hasAny[0]"),
    ({"amount": {"in": 5}}, "where.amount.in"),
    ({"amount": {"isNull": "yes"}}, "where.amount.isNull"),
    ({"amount": {"eq": None}}, "where.amount.eq"),
    ({"partners": {"any": {}}}, "where.partners.any"),
    ({"or": {"amount": {"eq": 1}}}, "where.or"),
    ({"stage": {"kind": {"eq": "closed"}}}, "where.stage.kind.eq"),
    ({"owner": {"mail": {"eq": "x"}}}, "where.owner.mail"),
    ({"amount": 5}, "where.amount"),
])
def test_operator_that_does_not_fit_is_refused(deals: Any, where: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        deals(where)
    assert info.value.place.path == path
    assert info.value.message.startswith(path + ":")


def test_formula_fields_are_filtered_in_sql(deals: Any) -> None:
    assert deals({"margin": {"gt": 100}}) == deals({"amount": {"gt": 500}})


def test_hidden_fields_are_forbidden_in_filters(engine: Engine, meta: WorkspaceMeta,
                                                ids: dict[str, int]) -> None:
    hidden = frozenset({("Company", "name")})
    with engine.connect() as conn, pytest.raises(InvalidQuery) as info:
        list_records(conn, meta, "Deal", where={"contact": {"company": {"name": {"eq": "x"}}}},
                     hidden=hidden)
    assert info.value.code == "FORBIDDEN"


def test_same_filter_shape_with_new_values_is_not_stale(deals: Any) -> None:
    """The statement cached for a filter shape is run with each request's own values."""
    assert deals({"amount": {"gte": 1000}, "stage": {"in": ["won"]}}) == {"Sofa"}
    assert deals({"amount": {"gte": 10}, "stage": {"in": ["lost", "negotiation"]}}) == {"Table", "Lamp"}
    assert deals({"title": {"contains": "a"}}) == {"Sofa", "Table", "chair", "Lamp"}
    assert deals({"title": {"contains": "%"}}) == set()


def test_bad_value_in_a_cached_shape_is_still_refused(deals: Any) -> None:
    assert deals({"due_on": {"gt": "2026-03-01"}}) == {"Table"}
    with pytest.raises(InvalidQuery) as info:
        deals({"due_on": {"gt": "soon"}})
    assert info.value.place.path == "where.due_on.gt"
    with pytest.raises(InvalidQuery, match="use isNull"):
        deals({"due_on": {"gt": None}})


@pytest.mark.parametrize(("where", "expected"), [
    ({"email": {"neq": "ann@x.io"}}, {"Bob", "Cid"}),
    ({"email": {"isNull": True}}, {"Bob", "Cid"}),
    ({"email": {"contains": "x"}}, {"Ann"}),
    ({"score": {"neq": 10}}, {"Bob", "Cid"}),
    ({"score": {"nin": [3]}}, {"Ann", "Cid"}),
    ({"score": {"lt": 100}}, {"Ann", "Bob"}),
    ({"birthday": {"neq": "1990-05-01"}}, {"Bob", "Cid"}),
    ({"company": {"neq": 1}}, {"Bob", "Cid"}),
])
def test_empty_values_match_only_negative_operators(deals: Any, where: dict[str, Any],
                                                     expected: set[str]) -> None:
    assert deals(where, entity="Contact", key="name") == expected


def test_many_lists_ignore_soft_deleted_members(engine: Engine, meta: WorkspaceMeta, ids: dict[str, int],
                                                deals: Any) -> None:
    with engine.begin() as conn:
        company = meta.tables.entity("Company")
        conn.execute(company.update().where(company.c.id == ids["globex"]).values(deleted_at=T0))
    assert deals({"partners": {"some": {"industry": {"eq": "it"}}}}) == set()
    with engine.connect() as conn:
        sofa = list_records(conn, meta, "Deal", where={"id": {"eq": ids["sofa"]}}).records[0]
    assert sofa["partners"] == []
