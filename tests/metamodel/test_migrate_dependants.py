"""What uses a changed field or stage is listed in the plan; a use the change would break is refused."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.blueprint import parse_blueprint
from metamodel.definitions import Blueprint, FieldType
from metamodel.errors import BlueprintInvalid, MigrationRefused
from metamodel.migrate import (
    Dependency,
    apply_blueprint,
    find_dependants,
    plan_blueprint,
    register_dependants,
)
from metamodel.migrate.dependants import DEPENDANT_SOURCES
from metamodel.storage.naming import MAX_IDENTIFIER_BYTES, workspace_names

V1 = """
entities:
  Contact:
    fields:
      name: {type: string}
      phone: {type: phone}
      won_total: {type: rollup, of: deals, agg: sum, field: amount}
  Deal:
    fields:
      title: {type: string}
      amount: {type: decimal}
      contact: {type: reference, to: Contact, inverse: deals}
      margin: {type: formula, expr: "amount * 0.2", returns: decimal}
roles:
  analyst: {entities: {"*": [read]}, hide_fields: {Contact: [phone]}}
forms:
  website: {creates: Contact, map: {name: full_name, phone: phone}}
"""


def blueprint(text: str) -> Blueprint:
    return parse_blueprint(textwrap.dedent(text))


def test_plan_lists_every_formula_rollup_role_and_form_using_a_renamed_field(engine: Engine,
                                                                             workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    renamed = V1.replace("amount: {type: decimal}", "total: {type: decimal, renamed_from: amount}")
    renamed = renamed.replace('"amount * 0.2"', '"total * 0.2"').replace("field: amount", "field: total")
    lines = plan_blueprint(engine, blueprint(renamed), workspace).lines
    assert "    used by formula Deal.margin (Deal.amount is renamed)" in lines
    assert "    used by rollup Contact.won_total (Deal.amount is renamed)" in lines
    phone = V1.replace("phone: {type: phone}", "mobile: {type: phone, renamed_from: phone}")
    phone = phone.replace("[phone]", "[mobile]").replace("phone: phone}", "mobile: phone}")
    lines = plan_blueprint(engine, blueprint(phone), workspace).lines
    assert "    used by role analyst (hide_fields) (Contact.phone is renamed)" in lines
    assert "    used by form website (map) (Contact.phone is renamed)" in lines


def test_a_retype_that_breaks_a_rollup_sum_is_refused(engine: Engine, workspace: str) -> None:
    """The checker reports it first; the planner refuses it too for definitions built in code."""
    apply_blueprint(engine, blueprint(V1), workspace)
    bp = blueprint(V1)
    deal = bp.get_entity("Deal")
    fields = tuple(dataclasses.replace(f, type=FieldType.STRING) if f.name == "amount" else f
                   for f in deal.fields)
    retyped = dataclasses.replace(bp, entities=tuple(
        dataclasses.replace(e, fields=fields) if e.name == "Deal" else e for e in bp.entities))
    with pytest.raises(MigrationRefused) as refused:
        apply_blueprint(engine, retyped, workspace)
    assert refused.value.code == "MM.E308"
    assert "rollup Contact.won_total still uses it" in refused.value.problems[0].message


def test_dependants_of_the_new_blueprint_that_use_an_archived_field_are_refused(
        engine: Engine, workspace: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker catches most of these first; the planner refuses whatever a source reports."""
    apply_blueprint(engine, blueprint(V1), workspace)
    monkeypatch.setattr("metamodel.migrate.dependants.DEPENDANT_SOURCES",
                        [*DEPENDANT_SOURCES, lambda bp: [Dependency("automation a.craft", "Deal", "title")]])
    without_title = V1.replace("      title: {type: string}\n", "")
    with pytest.raises(MigrationRefused) as refused:
        apply_blueprint(engine, blueprint(without_title), workspace)
    assert refused.value.code == "MM.E308"
    assert "automation a.craft still uses it" in refused.value.problems[0].message


def test_more_sources_of_uses_can_be_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("metamodel.migrate.dependants.DEPENDANT_SOURCES", list(DEPENDANT_SOURCES))

    def automations(bp: Blueprint) -> list[Dependency]:
        return [Dependency("automation deals.craft", "Deal", "amount")]

    register_dependants(automations)
    assert Dependency("automation deals.craft", "Deal", "amount") in find_dependants(blueprint(V1))


def test_long_names_get_index_names_within_63_bytes(engine: Engine, workspace: str) -> None:
    """PostgreSQL silently truncates longer names; SQLite has no limit (and a workspace prefix)."""
    entity, fld = "A" + "b" * 39, "f" + "x" * 29
    bp = blueprint(f"entities:\n  {entity}:\n    fields:\n      {fld}: {{type: string, unique: true}}\n")
    apply_blueprint(engine, bp, workspace)
    names = workspace_names(workspace, engine.dialect.name)
    table = names.table("e_" + entity.lower())
    inspector = sa.inspect(engine)
    found = [i["name"] or "" for i in inspector.get_indexes(table, schema=names.schema)]
    found += [u["name"] or "" for u in inspector.get_unique_constraints(table, schema=names.schema)]
    shortened = [n.removeprefix(f"{workspace}__") for n in found]
    assert shortened and all(len(n.encode()) <= MAX_IDENTIFIER_BYTES for n in shortened)
    assert apply_blueprint(engine, bp, workspace).changed is False


def test_names_over_63_bytes_are_refused_by_the_checker() -> None:
    with pytest.raises(BlueprintInvalid) as refused:
        blueprint("entities:\n  Deal:\n    fields:\n      " + "x" * 64 + ": {type: string}\n")
    assert any(p.code == "MM.E116" for p in refused.value.problems)
