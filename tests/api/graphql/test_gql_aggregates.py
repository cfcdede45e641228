"""Aggregates of the generated API: dealsAggregate and dealsGroupBy, computed in SQL."""

from __future__ import annotations

from typing import Any

import pytest

from api.graphql import build_schema
from metamodel import load_workspace_meta

AGGREGATE = ("{{ dealsAggregate({args}) {{ count sum {{ amount score margin }} avg {{ amount score }} "
             "min {{ amount score }} max {{ amount score }} }} }}")
GROUP_BY = "{{ dealsGroupBy({args}) {{ key {{ stage }} count sum {{ amount }} }} }}"


@pytest.fixture
def deals(crm: Any) -> Any:
    """Three deals: 100 (score 10) and 300 (score 30) in negotiation, 200 (score 20) won."""
    for title, amount, score, stage in (("A", 100, 10, "negotiation"), ("B", 300, 30, "negotiation"),
                                        ("C", 200, 20, "won")):
        crm.store.create("Deal", {"title": title, "amount": amount, "score": score, "stage": stage})
    return crm


def _hiding_score(crm: Any) -> Any:
    """The same workspace, re-applied with the analyst's Deal.score hidden."""
    crm.reapply("hide_fields: {Contact: [phone, email]}",
                "hide_fields: {Contact: [phone, email], Deal: [score]}")
    meta = load_workspace_meta(crm.engine, crm.meta.workspace)
    return type(crm)(crm.engine, meta, build_schema(meta))


def test_aggregate_counts_sums_averages_and_extremes(deals: Any) -> None:
    found = deals.data(AGGREGATE.format(args="where: {}"))["dealsAggregate"]
    assert found["count"] == 3
    sums = found["sum"]
    assert (float(sums["amount"]), sums["score"], float(sums["margin"])) == (600, 60, 120)
    assert float(found["avg"]["score"]) == 20
    assert float(found["avg"]["amount"]) == 200
    assert (found["min"]["score"], found["max"]["score"]) == (10, 30)
    assert (float(found["min"]["amount"]), float(found["max"]["amount"])) == (100, 300)


def test_aggregate_counts_only_the_records_matching_where(deals: Any) -> None:
    found = deals.data(AGGREGATE.format(args='where: {stage: {eq: "negotiation"}}'))["dealsAggregate"]
    assert (found["count"], found["sum"]["score"]) == (2, 40)


def test_aggregate_of_no_records_sums_to_zero_and_averages_to_null(crm: Any) -> None:
    found = crm.data(AGGREGATE.format(args="where: {}"))["dealsAggregate"]
    assert (found["count"], found["sum"]["score"], found["avg"]["score"], found["max"]["amount"]) == (
        0, 0, None, None)


def test_group_by_stage_in_pipeline_order(deals: Any) -> None:
    groups = deals.data(GROUP_BY.format(args="by: [STAGE]"))["dealsGroupBy"]
    assert [(g["key"]["stage"], g["count"], float(g["sum"]["amount"])) for g in groups] == [
        ("negotiation", 2, 400.0), ("won", 1, 200.0)]


def test_group_by_respects_where(deals: Any) -> None:
    groups = deals.data(GROUP_BY.format(args='by: [STAGE], where: {amount: {gte: 200}}'))["dealsGroupBy"]
    assert [(g["key"]["stage"], g["count"]) for g in groups] == [("negotiation", 1), ("won", 1)]


def test_group_by_several_fields(deals: Any) -> None:
    document = "{ dealsGroupBy(by: [STAGE, SCORE]) { key { stage score } count } }"
    keys = [(g["key"]["stage"], g["key"]["score"]) for g in deals.data(document)["dealsGroupBy"]]
    assert keys == [("negotiation", 10), ("negotiation", 30), ("won", 20)]


def test_aggregating_a_hidden_field_is_forbidden(deals: Any) -> None:
    hiding = _hiding_score(deals)
    assert hiding.codes("{ dealsAggregate { sum { score } } }", role="analyst") == ["FORBIDDEN"]


def test_visible_fields_still_aggregate_for_a_role_with_hidden_ones(deals: Any) -> None:
    hiding = _hiding_score(deals)
    found = hiding.data("{ dealsAggregate { count sum { amount } } }", role="analyst")["dealsAggregate"]
    assert (found["count"], float(found["sum"]["amount"])) == (3, 600)


def test_grouping_by_a_hidden_field_is_forbidden(deals: Any) -> None:
    hiding = _hiding_score(deals)
    assert hiding.codes("{ dealsGroupBy(by: [SCORE]) { count } }", role="analyst") == ["FORBIDDEN"]


def test_aggregate_needs_read_on_the_entity(deals: Any) -> None:
    assert deals.codes("{ dealsAggregate { count } }", role="clerk") == ["FORBIDDEN"]


def test_an_own_records_role_aggregates_only_its_own_records(crm: Any) -> None:
    anna = crm.actor("anna@acme.test")
    crm.store.create("Deal", {"title": "Mine", "amount": 50, "owner": anna.user_id}, actor=anna)
    crm.store.create("Deal", {"title": "Theirs", "amount": 70})
    found = crm.data("{ dealsAggregate { count sum { amount } } }", role="manager",
                     email="anna@acme.test")["dealsAggregate"]
    assert (found["count"], float(found["sum"]["amount"])) == (1, 50)


def _selects(counter: Any) -> list[str]:
    return [s for s in counter.seen if s.lstrip().upper().startswith("SELECT")]


def test_an_aggregate_is_one_statement(deals: Any) -> None:
    with deals.statements() as counter:
        deals.data(AGGREGATE.format(args='where: {amount: {gte: 0}}'))
    assert len(_selects(counter)) == 1


def test_a_group_by_is_one_statement(deals: Any) -> None:
    with deals.statements() as counter:
        deals.data(GROUP_BY.format(args="by: [STAGE]"))
    assert len(_selects(counter)) == 1
