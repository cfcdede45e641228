"""The ``metadata`` root query: entities, fields and pipelines as the caller's role may see them."""

from __future__ import annotations

from typing import Any

METADATA = ("{ metadata { version entities { name plural fields { name type required } "
            "pipelines { code stages { code name kind } } } } }")


def _entities(crm: Any, **kwargs: Any) -> dict[str, Any]:
    return {e["name"]: e for e in crm.data(METADATA, **kwargs)["metadata"]["entities"]}


def _fields(crm: Any, entity: str, **kwargs: Any) -> dict[str, Any]:
    return {f["name"]: f for f in _entities(crm, **kwargs)[entity]["fields"]}


def test_metadata_reports_the_metadata_version_of_the_schema(crm: Any) -> None:
    assert crm.data("{ metadata { version } }")["metadata"]["version"] == crm.meta.version


def test_metadata_lists_every_entity_with_its_list_query_name(crm: Any) -> None:
    plurals = {name: e["plural"] for name, e in _entities(crm).items()}
    assert plurals == {"Company": "companies", "Contact": "contacts", "Deal": "deals"}


def test_metadata_fields_carry_their_graphql_name_type_and_required(crm: Any) -> None:
    fields = _fields(crm, "Deal")
    assert fields["title"] == {"name": "title", "type": "string", "required": True}
    assert fields["dueOn"] == {"name": "dueOn", "type": "date", "required": False}
    assert fields["contact"]["type"] == "reference"


def test_metadata_pipelines_list_their_stages_in_order_with_name_and_kind(crm: Any) -> None:
    [sales] = _entities(crm)["Deal"]["pipelines"]
    assert sales["code"] == "sales"
    assert [(s["code"], s["name"], s["kind"]) for s in sales["stages"]] == [
        ("new", "New", "open"), ("negotiation", "Negotiation", "open"), ("won", "Paid", "won"),
        ("lost", "Lost", "lost")]


def test_an_entity_without_a_pipeline_has_no_pipelines(crm: Any) -> None:
    assert _entities(crm)["Company"]["pipelines"] == []


def test_metadata_leaves_out_entities_the_role_may_not_read(crm: Any) -> None:
    assert set(_entities(crm, role="dealer")) == {"Deal"}


def test_metadata_leaves_out_fields_hidden_from_the_role(crm: Any) -> None:
    assert set(_fields(crm, "Contact", role="analyst")) == {"name", "company", "tags"}


def test_a_role_the_blueprint_does_not_declare_sees_no_entities(crm: Any) -> None:
    assert _entities(crm, role="stranger") == {}


def test_metadata_runs_no_sql(crm: Any) -> None:
    with crm.statements() as seen:
        crm.data(METADATA)
    assert seen.count == 0
