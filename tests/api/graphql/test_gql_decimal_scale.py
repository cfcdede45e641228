"""Money formulas and rollups in GraphQL: the field's places on SQLite and PostgreSQL, and the compiled
executor answers byte for byte as strawberry does (cursors included, since they hold the values)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql import parse
from sqlalchemy.engine import Engine

from api.auth import Principal
from api.graphql import GraphQLContext, build_schema
from api.graphql.compiled import PlanCache, execute_compiled
from api.graphql.endpoint import shaped
from tests.api.graphql.conftest import CRM, Crm, apply_crm

ROLLUPS = CRM.replace("      tags: {type: tags}\n", """      tags: {type: tags}
      total: {type: rollup, of: deals, agg: sum, field: amount}
      avgamt: {type: rollup, of: deals, agg: avg, field: amount}
""")
DEALS = '{ deals(orderBy: [{margin: ASC}]) { edges { cursor node { title amount margin } } } }'
CONTACTS = '{ contacts(orderBy: [{name: ASC}]) { edges { cursor node { name total avgamt } } } }'


@pytest.fixture
def crm(engine: Engine, workspace: str) -> Crm:
    meta = apply_crm(engine, workspace, ROLLUPS)
    return Crm(engine, meta, build_schema(meta))


def _compiled_and_reference(crm: Crm, document: str) -> tuple[str | None, str]:
    principal = Principal(crm.meta.workspace, "admin", None, None, "tok")
    context = GraphQLContext(engine=crm.engine, meta=crm.meta, principal=principal)
    data = execute_compiled(PlanCache(), crm.schema, context, parse(document), document, None, None)
    result = crm.run(document)
    return (None if data is None else json.dumps({"data": data}),
            json.dumps(shaped(result.data, result.errors).body))


def _nodes(crm: Crm, document: str, connection: str) -> list[dict[str, Any]]:
    data = crm.data(document)
    return [edge["node"] for edge in data[connection]["edges"]]


def test_money_formula_shows_two_places(crm: Crm) -> None:
    for title, amount in (("small", "-5"), ("large", "123456789012.99"), ("tiny", "0.01")):
        crm.store.create("Deal", {"title": title, "amount": amount})
    margins = [(n["title"], n["margin"]) for n in _nodes(crm, DEALS, "deals")]
    assert margins == [("small", "-1.00"), ("tiny", "0.00"), ("large", "24691357802.60")]


def test_money_rollups_show_two_places(crm: Crm) -> None:
    ann = crm.store.create("Contact", {"name": "Ann"})
    crm.store.create("Contact", {"name": "Bob"})
    for amount in ("1.10", "2.25", "3"):
        crm.store.create("Deal", {"title": "d", "amount": amount, "contact": ann["id"]})
    got = [(n["name"], n["total"], n["avgamt"]) for n in _nodes(crm, CONTACTS, "contacts")]
    assert got == [("Ann", "6.35", "2.12"), ("Bob", "0.00", None)]


def test_compiled_answers_money_formulas_as_strawberry_does(crm: Crm) -> None:
    for title, amount in (("small", "-5"), ("large", "123456789012.99"), ("none", None)):
        crm.store.create("Deal", {"title": title, "amount": amount})
    compiled, reference = _compiled_and_reference(crm, DEALS)
    assert compiled == reference and '"margin": "-1.00"' in reference


def test_compiled_answers_money_rollups_as_strawberry_does(crm: Crm) -> None:
    ann = crm.store.create("Contact", {"name": "Ann"})
    crm.store.create("Contact", {"name": "Bob"})
    for amount in ("1.10", "2.25", "3"):
        crm.store.create("Deal", {"title": "d", "amount": amount, "contact": ann["id"]})
    compiled, reference = _compiled_and_reference(crm, CONTACTS)
    assert compiled == reference and '"avgamt": "2.12"' in reference


def test_paging_by_a_money_formula_continues_after_the_shown_value(crm: Crm) -> None:
    for title, amount in (("b", "0.02"), ("a", "0.01"), ("c", "-5")):
        crm.store.create("Deal", {"title": title, "amount": amount})
    page = ('{ deals(orderBy: [{margin: ASC}], first: 2%s) '
            '{ pageInfo { endCursor } edges { node { title } } } }')
    first = crm.data(page % "")["deals"]
    after = first["pageInfo"]["endCursor"]
    rest = crm.data(page % f', after: "{after}"')["deals"]
    titles = [e["node"]["title"] for e in first["edges"] + rest["edges"]]
    assert titles == ["c", "b", "a"]


def test_a_money_formula_filter_beyond_any_number_is_refused_with_a_code(crm: Crm) -> None:
    codes = crm.codes('{ deals(where: {margin: {eq: "1e999"}}) { totalCount } }')
    assert codes == ["VALIDATION_FAILED"]
