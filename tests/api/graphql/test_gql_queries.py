"""Lists, single records, filters, sorts, pages, references and inverse lists of the generated API."""

from __future__ import annotations

from typing import Any

NODES = "edges { cursor node { id title amount } }"


def _titles(data: dict[str, Any], name: str = "deals") -> list[str]:
    return [e["node"]["title"] for e in data[name]["edges"]]


def test_a_list_is_a_connection_with_total_count_and_page_info(crm: Any) -> None:
    crm.seed_deals(3)
    data = crm.data("{ deals(first: 2) { totalCount pageInfo { hasNextPage endCursor } " + NODES + " } }")
    assert data["deals"]["totalCount"] == 3
    assert data["deals"]["pageInfo"]["hasNextPage"] is True
    assert _titles(data) == ["Deal 0", "Deal 1"]
    assert data["deals"]["pageInfo"]["endCursor"] == data["deals"]["edges"][-1]["cursor"]


def test_after_continues_where_the_previous_page_ended(crm: Any) -> None:
    crm.seed_deals(3)
    first = crm.data("{ deals(first: 2) { pageInfo { endCursor } } }")
    cursor = first["deals"]["pageInfo"]["endCursor"]
    document = "query($c: String) { deals(first: 2, after: $c) { pageInfo { hasNextPage } " + NODES + " } }"
    rest = crm.data(document, variables={"c": cursor})
    assert _titles(rest) == ["Deal 2"]
    assert rest["deals"]["pageInfo"]["hasNextPage"] is False


def test_money_keeps_two_decimal_places(crm: Any) -> None:
    crm.seed_deals(1)
    data = crm.data("{ deals { edges { node { amount margin } } } }")
    assert data["deals"]["edges"][0]["node"]["amount"] == "100.50"


def test_where_filters_with_comparison_and_string_operators(crm: Any) -> None:
    crm.seed_deals(4)
    data = crm.data('{ deals(where: {amount: {gte: 200}, title: {startsWith: "Deal"}, '
                    'not: {title: {eq: "Deal 3"}}}) { totalCount ' + NODES + " } }")
    assert _titles(data) == ["Deal 1", "Deal 2"]
    assert data["deals"]["totalCount"] == 2


def test_where_with_or_and_in(crm: Any) -> None:
    crm.seed_deals(4)
    data = crm.data('{ deals(where: {or: [{title: {in: ["Deal 0", "Deal 2"]}}, {amount: {gt: 400}}]}) { '
                    + NODES + " } }")
    assert _titles(data) == ["Deal 0", "Deal 2", "Deal 3"]


def test_where_follows_references(crm: Any) -> None:
    crm.seed_deals(3)
    data = crm.data('{ deals(where: {contact: {company: {name: {icontains: "company 1"}}}}) { '
                    + NODES + " } }")
    assert _titles(data) == ["Deal 1"]


def test_where_on_the_stage_by_code_and_by_kind(crm: Any) -> None:
    ids = crm.seed_deals(3)
    crm.store.update("Deal", ids[1], {"stage": "won"})
    by_kind = crm.data("{ deals(where: {stage: {kind: {eq: WON}}}) { " + NODES + " } }")
    by_code = crm.data('{ deals(where: {stage: {in: ["new"]}}) { ' + NODES + " } }")
    assert _titles(by_kind) == ["Deal 1"]
    assert _titles(by_code) == ["Deal 0", "Deal 2"]


def test_where_on_lists_of_tags(crm: Any) -> None:
    crm.store.create("Contact", {"name": "Tagged", "tags": ["vip", "new"]})
    crm.store.create("Contact", {"name": "Plain", "tags": ["new"]})
    data = crm.data('{ contacts(where: {tags: {hasAll: ["vip", "new"]}}) { edges { node { name tags } } } }')
    assert data["contacts"]["edges"] == [{"node": {"name": "Tagged", "tags": ["vip", "new"]}}]


def test_an_unknown_operand_type_is_a_validation_error_not_a_traceback(crm: Any) -> None:
    result = crm.run('{ deals(where: {dueOn: {eq: "not a date"}}) { totalCount } }')
    assert result.errors is not None and "Traceback" not in result.errors[0].message


def test_order_by_several_fields(crm: Any) -> None:
    crm.seed_deals(3)
    data = crm.data("{ deals(orderBy: [{amount: DESC}, {createdAt: ASC}]) { " + NODES + " } }")
    assert _titles(data) == ["Deal 2", "Deal 1", "Deal 0"]


def test_a_single_record_by_id(crm: Any) -> None:
    [deal] = crm.seed_deals(1)
    data = crm.data(f'{{ deal(id: "{deal}") {{ id title version stage {{ code name kind }} '
                    "pipeline { code } } }")
    assert data["deal"] == {"id": str(deal), "title": "Deal 0", "version": 1, "pipeline": {"code": "sales"},
                            "stage": {"code": "new", "name": "New", "kind": "open"}}


def test_a_missing_record_is_not_found(crm: Any) -> None:
    assert crm.codes('{ deal(id: "999999") { id } }') == ["NOT_FOUND"]
    assert crm.codes('{ deal(id: "nope") { id } }') == ["NOT_FOUND"]


def test_references_and_owner_resolve_to_objects(crm: Any) -> None:
    crm.seed_deals(1, actor=crm.actor("anna@acme.test"))
    data = crm.data("{ deals { edges { node { owner { name email } contact { name company { name } } } } } }")
    node = data["deals"]["edges"][0]["node"]
    assert node == {"owner": {"name": "Anna", "email": "anna@acme.test"},
                    "contact": {"name": "Contact 0", "company": {"name": "Company 0"}}}


REFERENCES = ("{ deals(first: 100) { totalCount edges { node { title owner { name } stage { code } "
              "contact { name company { name contacts { totalCount } } } } } } }")


def test_loading_references_costs_the_same_statements_for_50_rows_as_for_5(crm: Any) -> None:
    owner = crm.actor("anna@acme.test")
    crm.seed_deals(5, actor=owner)
    with crm.statements() as few:
        small = crm.data(REFERENCES)
    crm.seed_deals(45, actor=owner)
    with crm.statements() as many:
        large = crm.data(REFERENCES)
    assert small["deals"]["totalCount"] == 5 and large["deals"]["totalCount"] == 50
    assert all(e["node"]["contact"]["company"]["name"] for e in large["deals"]["edges"])
    assert many.count == few.count, (few.count, many.count)
    selects = [s for s in few.seen if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 6  # deals, their count, users, contacts, companies, contacts of the companies


def test_inverse_lists_show_the_records_that_point_here(crm: Any) -> None:
    company = crm.store.create("Company", {"name": "Acme"})
    contact = crm.store.create("Contact", {"name": "Ann", "company": company["id"]})
    for title in ("One", "Two", "Three"):
        crm.store.create("Deal", {"title": title, "contact": contact["id"]})
    data = crm.data(f'{{ contact(id: "{contact["id"]}") {{ deals(first: 2, orderBy: [{{title: ASC}}]) '
                    "{ totalCount pageInfo { hasNextPage } edges { node { title } } } } }")
    assert data["contact"]["deals"] == {"totalCount": 3, "pageInfo": {"hasNextPage": True},
                                        "edges": [{"node": {"title": "One"}}, {"node": {"title": "Three"}}]}


def test_inverse_lists_of_a_whole_page_are_grouped_per_parent(crm: Any) -> None:
    for name, count in (("A", 2), ("B", 0), ("C", 3)):
        contact = crm.store.create("Contact", {"name": name})
        for i in range(count):
            crm.store.create("Deal", {"title": f"{name}{i}", "contact": contact["id"]})
    data = crm.data("{ contacts(orderBy: [{name: ASC}]) { edges { node { name deals(first: 2) { "
                    "totalCount pageInfo { hasNextPage } edges { node { title } } } } } } }")
    got = {e["node"]["name"]: e["node"]["deals"] for e in data["contacts"]["edges"]}
    assert [n["node"]["title"] for n in got["C"]["edges"]] == ["C0", "C1"]
    assert got["C"]["totalCount"] == 3 and got["C"]["pageInfo"]["hasNextPage"] is True
    assert got["A"]["totalCount"] == 2 and got["A"]["pageInfo"]["hasNextPage"] is False
    assert got["B"] == {"totalCount": 0, "pageInfo": {"hasNextPage": False}, "edges": []}


def test_soft_deleted_records_are_not_listed(crm: Any) -> None:
    ids = crm.seed_deals(2)
    crm.store.delete("Deal", ids[0])
    assert _titles(crm.data("{ deals { " + NODES + " } }")) == ["Deal 1"]


def test_where_on_a_reference_by_id_and_by_emptiness(crm: Any) -> None:
    ids = crm.seed_deals(2)
    crm.store.create("Deal", {"title": "Alone"})
    contact = crm.store.get("Deal", ids[1])["contact"]
    by_id = crm.data(f'{{ deals(where: {{contact: {{id: {{eq: "{contact}"}}}}}}) {{ {NODES} }} }}')
    empty = crm.data("{ deals(where: {contact: {id: {isNull: true}}}) { " + NODES + " } }")
    assert _titles(by_id) == ["Deal 1"]
    assert _titles(empty) == ["Alone"]
