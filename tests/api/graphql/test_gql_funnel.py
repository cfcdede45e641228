"""The ``funnel`` root query: numbers, the JSON ``where``, permissions, bad input and its cost."""

from __future__ import annotations

from typing import Any

import pytest

FUNNEL = """{{ funnel({args}) {{
  entity pipeline total
  stages {{ code name kind reached conversionFromPrevious conversionFromStart avgTimeInStageSeconds }}
  lost {{ code name reached avgTimeInStageSeconds }}
  bottleneck {{ code }}
}} }}"""
PERIOD = 'from: "2000-01-01", to: "2999-12-31"'


def _funnel(crm: Any, args: str = "", **kwargs: Any) -> dict[str, Any]:
    base = f'entity: "Deal", pipeline: "sales", {PERIOD}'
    query = FUNNEL.format(args=f"{base}, {args}" if args else base)
    result: dict[str, Any] = crm.data(query, **kwargs)["funnel"]
    return result


def _reached(funnel: dict[str, Any]) -> dict[str, int]:
    return {s["code"]: s["reached"] for s in funnel["stages"]}


def _move(crm: Any, deal: int, *stages: str) -> None:
    for stage in stages:
        crm.store.update("Deal", deal, {"stage": stage})


def test_funnel_reports_stages_in_order_with_conversions_and_the_bottleneck(crm: Any) -> None:
    a, b, c, _ = crm.seed_deals(4)
    _move(crm, a, "negotiation", "won")
    _move(crm, b, "negotiation", "lost")
    _move(crm, c, "negotiation")
    funnel = _funnel(crm)
    assert (funnel["entity"], funnel["pipeline"], funnel["total"]) == ("Deal", "sales", 4)
    assert [(s["code"], s["name"], s["kind"], s["reached"], s["conversionFromPrevious"],
             s["conversionFromStart"]) for s in funnel["stages"]] == [("new", "New", "open", 4, None, 1.0),
                                           ("negotiation", "Negotiation", "open", 3, 0.75, 0.75),
                                           ("won", "Paid", "won", 1, pytest.approx(1 / 3), 0.25)]
    assert [(s["code"], s["name"], s["reached"]) for s in funnel["lost"]] == [("lost", "Lost", 1)]
    assert funnel["bottleneck"] == {"code": "won"}


def test_time_in_stage_is_reported_for_stages_records_stayed_in(crm: Any) -> None:
    [deal] = crm.seed_deals(1)
    _move(crm, deal, "won")
    new, negotiation, won = _funnel(crm)["stages"]
    assert new["avgTimeInStageSeconds"] >= 0 and won["avgTimeInStageSeconds"] >= 0
    assert negotiation["avgTimeInStageSeconds"] is None  # skipped: reached, but never stayed


def test_a_period_without_records_has_null_conversions_and_no_bottleneck(crm: Any) -> None:
    crm.seed_deals(2)
    funnel = crm.data(FUNNEL.format(args='entity: "Deal", from: "2001-01-01", to: "2001-12-31"'))["funnel"]
    assert funnel["total"] == 0 and funnel["bottleneck"] is None
    rows = {(s["reached"], s["conversionFromPrevious"], s["conversionFromStart"]) for s in funnel["stages"]}
    assert rows == {(0, None, None)}


def test_pipeline_and_period_may_be_left_out(crm: Any) -> None:
    crm.seed_deals(2)
    funnel = crm.data('{ funnel(entity: "Deal") { pipeline total } }')["funnel"]
    assert funnel == {"pipeline": "sales", "total": 2}


def test_where_is_read_with_the_field_names_of_the_deal_list(crm: Any) -> None:
    a, b, _ = crm.seed_deals(3)
    _move(crm, a, "won")
    crm.store.update("Deal", b, {"due_on": "2026-05-01"})
    assert _funnel(crm, 'where: {contact: {company: {name: {eq: "Company 0"}}}}')["total"] == 1
    assert _funnel(crm, 'where: {stage: {kind: {eq: WON}}}')["total"] == 1
    assert _funnel(crm, 'where: {dueOn: {gte: "2026-01-01"}}')["total"] == 1
    assert _funnel(crm, 'where: {or: [{amount: {lt: 150}}, {amount: {gt: 250}}]}')["total"] == 2


def test_the_example_of_the_spec_filters_by_the_owners_email(crm: Any) -> None:
    crm.seed_deals(2, actor=crm.actor("anna@acme.test"))
    crm.seed_deals(1, actor=crm.actor("oleg@acme.test"))
    funnel = _funnel(crm, 'where: {owner: {email: {eq: "anna@acme.test"}}}')
    assert (funnel["total"], funnel["stages"][0]["reached"]) == (2, 2)


def test_where_may_come_as_a_variable(crm: Any) -> None:
    crm.seed_deals(3)
    query = 'query($w: JSON) { funnel(entity: "Deal", where: $w) { total } }'
    funnel = crm.data(query, variables={"w": {"amount": {"gte": "200"}}})["funnel"]
    assert funnel == {"total": 2}


def test_an_own_records_role_counts_only_its_own_records(crm: Any) -> None:
    crm.seed_deals(2, actor=crm.actor("anna@acme.test"))
    crm.seed_deals(1, actor=crm.actor("oleg@acme.test"))
    assert _funnel(crm, role="manager", email="anna@acme.test")["total"] == 2
    assert _funnel(crm, role="manager", email="oleg@acme.test")["total"] == 1


def test_a_role_that_may_not_read_the_entity_is_forbidden(crm: Any) -> None:
    query = FUNNEL.format(args=f'entity: "Deal", {PERIOD}')
    assert crm.codes(query, role="clerk") == ["FORBIDDEN"]


def test_a_field_hidden_from_the_role_cannot_filter_the_funnel(crm: Any) -> None:
    query = FUNNEL.format(args=f'entity: "Deal", where: {{contact: {{phone: {{eq: "1"}}}}}}, {PERIOD}')
    assert crm.codes(query, role="analyst") == ["FORBIDDEN"]
    visible = FUNNEL.format(args=f'entity: "Deal", where: {{contact: {{name: {{eq: "x"}}}}}}, {PERIOD}')
    assert crm.codes(visible, role="analyst") == []


@pytest.mark.parametrize(("args", "field"), [
    ('entity: "Nope"', "entity"),
    ('entity: "Contact"', "entity"),
    ('entity: "Deal", pipeline: "support"', "pipeline"),
    ('entity: "Deal", from: "2026-13-01"', "from"),
    ('entity: "Deal", to: "last week"', "to"),
    ('entity: "Deal", from: "2026-02-01", to: "2026-01-31"', "to"),
    ('entity: "Deal", where: {bogus: {eq: 1}}', "where.bogus"),
    ('entity: "Deal", where: {stage: {kind: {eq: NOPE}}}', "where.stage.kind.eq"),
    ('entity: "Deal", where: {amount: {gte: "lots"}}', "where.amount.gte"),
    ('entity: "Deal", where: [1]', "where"),
])
def test_bad_arguments_are_validation_failed_naming_the_argument(crm: Any, args: str, field: str) -> None:
    result = crm.run(FUNNEL.format(args=args), role="analyst")
    [error] = result.errors
    assert error.extensions["code"] == "VALIDATION_FAILED"
    assert list(error.extensions["fields"]) == [field]


def test_the_funnel_costs_the_same_statements_for_few_and_many_records(crm: Any) -> None:
    where = '{contact: {name: {icontains: "contact"}}}'
    query = FUNNEL.format(args=f'entity: "Deal", where: {where}, {PERIOD}')
    crm.seed_deals(2)
    with crm.statements() as few:
        crm.data(query)
    for deal in crm.seed_deals(12):
        _move(crm, deal, "negotiation", "won")
    with crm.statements() as many:
        crm.data(query)
    assert few.count == many.count
    assert len([s for s in many.seen if not s.startswith("BEGIN")]) == 2
