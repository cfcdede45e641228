"""Applying blueprints: creation, no-op re-apply, add / archive / restore / rename, users."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.blueprint import parse_blueprint
from metamodel.definitions import Blueprint
from metamodel.errors import MigrationRefused
from metamodel.migrate import apply_blueprint, apply_blueprint_path, plan_blueprint
from metamodel.storage import system_tables
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.naming import workspace_names

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

V1 = """
entities:
  Company:
    fields:
      name: {type: string, required: true, max_length: 200}
  Deal:
    fields:
      title:  {type: string, required: true}
      amount: {type: decimal}
      legacy: {type: string}
      company: {type: reference, to: Company, inverse: deals}
      partners: {type: many, to: Company}
    pipelines:
      sales:
        stages:
          - {code: new}
          - {code: won, kind: won}
users:
  - {email: anna@acme.test, name: Anna, role: admin}
  - {email: oleg@acme.test, name: Oleg, role: admin}
"""


def blueprint(text: str) -> Blueprint:
    return parse_blueprint(textwrap.dedent(text))


def insert(engine: Engine, workspace: str, entity: str, **values: Any) -> int:
    table = load_workspace_meta(engine, workspace).tables.entity(entity)
    with engine.begin() as conn:
        row = {"created_at": NOW, "updated_at": NOW, **values}
        return int(conn.execute(sa.insert(table).values(row)).inserted_primary_key[0])


def rows(engine: Engine, workspace: str, entity: str) -> list[dict[str, Any]]:
    table = load_workspace_meta(engine, workspace).tables.entity(entity)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.id))]


def columns(engine: Engine, workspace: str, entity: str) -> set[str]:
    names = workspace_names(workspace, engine.dialect.name)
    table = names.table("e_" + entity.lower())
    return {c["name"] for c in sa.inspect(engine).get_columns(table, schema=names.schema)}


def versions(engine: Engine, workspace: str) -> int:
    mv = system_tables.metadata_versions
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(mv.c.workspace == workspace)).scalar_one())


def test_first_apply_creates_workspace_tables_and_version_1(engine: Engine, workspace: str) -> None:
    result = apply_blueprint(engine, blueprint(V1), workspace)
    assert (result.version, result.changed) == (1, True)
    assert {"title", "amount", "company", "pipeline", "stage"} <= columns(engine, workspace, "Deal")
    assert load_workspace_meta(engine, workspace).blueprint.get_entity("Deal").find_field("amount")


def test_applying_the_same_blueprint_twice_plans_and_writes_nothing(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    assert plan_blueprint(engine, blueprint(V1), workspace).is_empty
    result = apply_blueprint(engine, blueprint(V1), workspace)
    assert (result.version, result.changed) == (1, False)
    assert versions(engine, workspace) == 1


def test_new_field_is_added_as_a_column(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    v2 = V1.replace("      legacy:", "      discount: {type: decimal}\n      legacy:")
    plan = plan_blueprint(engine, blueprint(v2), workspace)
    assert plan.lines == ["+ Deal.discount: add field (decimal)"]
    apply_blueprint(engine, blueprint(v2), workspace)
    assert "discount" in columns(engine, workspace, "Deal")


def test_new_field_with_a_default_fills_existing_records(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    insert(engine, workspace, "Deal", title="A")
    paid = "      paid: {type: boolean, default: false}\n      legacy:"
    apply_blueprint(engine, blueprint(V1.replace("      legacy:", paid)), workspace)
    assert rows(engine, workspace, "Deal")[0]["paid"] is False


def test_removed_field_is_archived_with_its_data_and_restored_when_re_added(engine: Engine,
                                                                            workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    insert(engine, workspace, "Deal", title="A", legacy="keep me")
    without = V1.replace("      legacy: {type: string}\n", "")
    plan = plan_blueprint(engine, blueprint(without), workspace)
    assert "- Deal.legacy: archive field (data kept until stagecraft purge)" in plan.lines
    apply_blueprint(engine, blueprint(without), workspace)
    meta = load_workspace_meta(engine, workspace)
    assert meta.blueprint.get_entity("Deal").find_field("legacy") is None
    assert [f.name for e, f in meta.archived_fields] == ["legacy"]
    assert "legacy" in columns(engine, workspace, "Deal")
    apply_blueprint(engine, blueprint(V1), workspace)
    assert rows(engine, workspace, "Deal")[0]["legacy"] == "keep me"
    assert load_workspace_meta(engine, workspace).archived_fields == ()


def test_renamed_field_keeps_its_data(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    insert(engine, workspace, "Deal", title="A", amount=12)
    renamed = V1.replace("amount: {type: decimal}", "total: {type: decimal, renamed_from: amount}")
    assert "~ Deal.total: rename from amount (data kept)" in plan_blueprint(
        engine, blueprint(renamed), workspace).lines
    apply_blueprint(engine, blueprint(renamed), workspace)
    assert rows(engine, workspace, "Deal")[0]["total"] == 12
    assert "amount" not in columns(engine, workspace, "Deal")
    assert apply_blueprint(engine, blueprint(renamed), workspace).changed is False


def test_renamed_entity_keeps_its_table_data(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    insert(engine, workspace, "Company", name="Acme")
    renamed = V1.replace("  Company:\n", "  Firm:\n    renamed_from: Company\n")
    renamed = renamed.replace("to: Company", "to: Firm")
    apply_blueprint(engine, blueprint(renamed), workspace)
    assert rows(engine, workspace, "Firm")[0]["name"] == "Acme"


def test_removed_entity_is_archived_with_its_table(engine: Engine, workspace: str) -> None:
    two = V1 + "  \n"
    apply_blueprint(engine, blueprint(two.replace("entities:\n", "entities:\n  Car:\n    fields:\n"
                                                                 "      plate: {type: string}\n")), workspace)
    insert(engine, workspace, "Car", plate="A123")
    plan = plan_blueprint(engine, blueprint(V1), workspace)
    assert "- Car: archive entity (table kept until stagecraft purge)" in plan.lines
    apply_blueprint(engine, blueprint(V1), workspace)
    assert [e.name for e in load_workspace_meta(engine, workspace).archived_entities] == ["Car"]
    assert "plate" in columns(engine, workspace, "Car")


def test_users_are_synced_and_removed_users_deactivated(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    without_oleg = V1.replace("  - {email: oleg@acme.test, name: Oleg, role: admin}\n", "")
    apply_blueprint(engine, blueprint(without_oleg), workspace)
    users = system_tables.users
    with engine.connect() as conn:
        active = dict(conn.execute(sa.select(users.c.email, users.c.active)
                                   .where(users.c.workspace == workspace)).all())
    assert active == {"anna@acme.test": True, "oleg@acme.test": False}


def test_an_entity_can_take_the_name_another_was_renamed_from(engine: Engine, workspace: str) -> None:
    """Index names follow a renamed table, so they cannot block a new table under the old name."""
    apply_blueprint(engine, blueprint(V1), workspace)
    renamed = V1.replace("  Company:\n", "  Firm:\n    renamed_from: Company\n")
    renamed = renamed.replace("to: Company", "to: Firm")
    apply_blueprint(engine, blueprint(renamed), workspace)
    again = renamed.replace("    renamed_from: Company\n", "").replace(
        "entities:\n", "entities:\n  Company:\n    fields:\n      name: {type: string, unique: true}\n")
    assert apply_blueprint(engine, blueprint(again), workspace).version == 3
    insert(engine, workspace, "Company", name="Acme")
    insert(engine, workspace, "Firm", name="Acme")


def test_renaming_onto_an_archived_field_is_refused(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    apply_blueprint(engine, blueprint(V1.replace("      legacy: {type: string}\n", "")), workspace)
    clash = V1.replace("      legacy: {type: string}\n", "").replace(
        "amount: {type: decimal}", "legacy: {type: decimal, renamed_from: amount}")
    with pytest.raises(MigrationRefused) as refused:
        apply_blueprint(engine, blueprint(clash), workspace)
    assert refused.value.code == "MM.E309"


def test_re_adding_an_archived_entity_restores_its_table_and_data(engine: Engine, workspace: str) -> None:
    with_car = V1.replace("entities:\n", "entities:\n  Car:\n    fields:\n      plate: {type: string}\n")
    apply_blueprint(engine, blueprint(with_car), workspace)
    insert(engine, workspace, "Car", plate="A123")
    apply_blueprint(engine, blueprint(V1), workspace)
    assert "+ Car: restore archived entity (data kept)" in plan_blueprint(
        engine, blueprint(with_car), workspace).lines
    apply_blueprint(engine, blueprint(with_car), workspace)
    assert [r["plate"] for r in rows(engine, workspace, "Car")] == ["A123"]
    assert load_workspace_meta(engine, workspace).archived_entities == ()


def test_tables_after_an_apply_are_built_for_the_new_version(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    before = load_workspace_meta(engine, workspace).tables.entity("Deal")
    apply_blueprint(engine, blueprint(V1.replace("      legacy:", "      note: {type: text}\n      legacy:")),
                    workspace)
    after = load_workspace_meta(engine, workspace).tables.entity("Deal")
    assert "note" not in before.c and "note" in after.c
    insert(engine, workspace, "Deal", title="A", note="fresh table")
    assert rows(engine, workspace, "Deal")[0]["note"] == "fresh table"


def test_plan_changes_nothing(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    changed = V1.replace("amount: {type: decimal}", "total: {type: decimal, renamed_from: amount}")
    assert not plan_blueprint(engine, blueprint(changed), workspace).is_empty
    assert "amount" in columns(engine, workspace, "Deal")
    assert versions(engine, workspace) == 1


def test_a_refusal_in_one_workspace_stops_the_roll_out_to_all(engine: Engine, workspace: str,
                                                              tmp_path: Path) -> None:
    other = workspace + "b"
    apply_blueprint(engine, blueprint(V1), workspace)
    apply_blueprint(engine, blueprint(V1), other)
    insert(engine, workspace, "Deal", title="A", legacy="not a number")
    path = tmp_path / "blueprint.yaml"
    path.write_text(textwrap.dedent(V1).replace("legacy: {type: string}", "legacy: {type: integer}"))
    with pytest.raises(MigrationRefused):
        apply_blueprint_path(engine, path, [other, workspace])
    assert versions(engine, other) == 1
