"""One apply, one transaction: a failure anywhere leaves tables, data and metadata as they were."""

from __future__ import annotations

import textwrap
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.blueprint import parse_blueprint
from metamodel.definitions import Blueprint
from metamodel.migrate import apply_blueprint, execute
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.naming import workspace_names

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

V1 = """
entities:
  Deal:
    fields:
      title: {type: string}
      score: {type: string}
      amount: {type: decimal}
users:
  - {email: anna@acme.test, role: admin}
"""
V2 = """
entities:
  Deal:
    fields:
      title: {type: string, unique: true}
      score: {type: integer}
      total: {type: decimal, renamed_from: amount}
      extra: {type: string}
  Car:
    fields:
      plate: {type: string}
users:
  - {email: oleg@acme.test, role: admin}
"""


def blueprint(text: str) -> Blueprint:
    return parse_blueprint(textwrap.dedent(text))


def snapshot(engine: Engine, workspace: str) -> dict[str, Any]:
    names = workspace_names(workspace, engine.dialect.name)
    inspector = sa.inspect(engine)
    tables = sorted(t for t in inspector.get_table_names(schema=names.schema) if workspace in t
                    or names.schema)
    meta = load_workspace_meta(engine, workspace)
    deal = meta.tables.entity("Deal")
    with engine.connect() as conn:
        data = [tuple(r) for r in conn.execute(sa.select(deal).order_by(deal.c.id))]
    return {
        "tables": tables,
        "columns": {t: sorted((c["name"], str(c["type"]))
                              for c in inspector.get_columns(t, schema=names.schema)) for t in tables},
        "indexes": {t: sorted(i["name"] or "" for i in inspector.get_indexes(t, schema=names.schema))
                    for t in tables},
        "data": data,
        "version": meta.version,
    }


def test_a_failure_late_in_an_apply_rolls_everything_back(engine: Engine, workspace: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    table = load_workspace_meta(engine, workspace).tables.entity("Deal")
    with engine.begin() as conn:
        conn.execute(sa.insert(table).values(created_at=NOW, updated_at=NOW, title="a", score="7", amount=3))
    before = snapshot(engine, workspace)

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("injected failure after the DDL ran")

    monkeypatch.setattr(execute, "apply_users", explode)
    with pytest.raises(RuntimeError, match="injected"):
        apply_blueprint(engine, blueprint(V2), workspace)
    assert snapshot(engine, workspace) == before
    monkeypatch.undo()
    assert apply_blueprint(engine, blueprint(V2), workspace).version == 2


def test_concurrent_applies_of_one_workspace_run_one_after_the_other(engine: Engine, workspace: str) -> None:
    apply_blueprint(engine, blueprint(V1), workspace)
    amount = "amount: {type: decimal}"
    variants = [V1.replace(amount, f"{amount}\n      f{i}: {{type: text}}") for i in range(4)]
    errors: list[BaseException] = []

    def run(text: str) -> None:
        try:
            apply_blueprint(engine, blueprint(text), workspace)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(v,)) for v in variants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert load_workspace_meta(engine, workspace).version == 5
