"""Test data for the read half, written with raw Core inserts.

The read tests seed through plain INSERTs rather than ``RecordStore.create``
so they exercise the query code alone, and can place values (NULLs, equal
sort keys, soft-deleted rows) exactly where a case needs them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from metamodel.definitions import (
    Blueprint,
    EntityDef,
    FieldDef,
    FieldType,
    PipelineDef,
    RollupAgg,
    StageDef,
    StageKind,
)
from metamodel.storage import system_tables
from metamodel.storage.catalog import WorkspaceMeta

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_TICK = count()

SALES = PipelineDef("sales", "Sales", (
    StageDef("new", "New"), StageDef("negotiation", "Negotiation", probability=30),
    StageDef("invoice", "Invoice", probability=70), StageDef("won", "Paid", StageKind.WON),
    StageDef("lost", "Lost", StageKind.LOST)))
REPEAT = PipelineDef("repeat", "Repeat", (
    StageDef("again", "Again"), StageDef("done", "Done", StageKind.WON)))

BLUEPRINT = Blueprint(workspace="t", entities=(
    EntityDef("Company", "Company", "companies", (
        FieldDef("name", FieldType.STRING, max_length=200),
        FieldDef("industry", FieldType.ENUM, options=("retail", "it", "other")),
    )),
    EntityDef("Contact", "Contact", "contacts", (
        FieldDef("name", FieldType.STRING),
        FieldDef("email", FieldType.EMAIL),
        FieldDef("company", FieldType.REFERENCE, to="Company", inverse="contacts"),
        FieldDef("tags", FieldType.TAGS),
        FieldDef("birthday", FieldType.DATE),
        FieldDef("score", FieldType.INTEGER),
        FieldDef("won_total", FieldType.ROLLUP, of="deals", agg=RollupAgg.SUM, rollup_field="amount",
                 where="stage.kind == won"),
        FieldDef("deal_count", FieldType.ROLLUP, of="deals", agg=RollupAgg.COUNT),
        FieldDef("paid_count", FieldType.ROLLUP, of="deals", agg=RollupAgg.COUNT, where="paid == true"),
        FieldDef("odd", FieldType.ROLLUP, of="deals", agg=RollupAgg.COUNT, where="amount > 5"),
    )),
    EntityDef("Deal", "Deal", "deals", (
        FieldDef("title", FieldType.STRING),
        FieldDef("amount", FieldType.MONEY, currency="RUB", index=True),
        FieldDef("contact", FieldType.REFERENCE, to="Contact", inverse="deals"),
        FieldDef("paid", FieldType.BOOLEAN),
        FieldDef("due_on", FieldType.DATE),
        FieldDef("closed_at", FieldType.DATETIME),
        FieldDef("priority", FieldType.ENUM, options=("low", "high")),
        FieldDef("labels", FieldType.MULTI_ENUM, options=("a", "b", "c")),
        FieldDef("partners", FieldType.MANY, to="Company"),
        FieldDef("data", FieldType.JSON),
        FieldDef("reviewer", FieldType.USER),
        FieldDef("margin", FieldType.FORMULA, expr="amount * 0.2", returns=FieldType.MONEY),
    ), (SALES, REPEAT)),
))


def create_workspace(engine: Engine, workspace: str, blueprint: Blueprint = BLUEPRINT) -> WorkspaceMeta:
    """The workspace's tables, created from ``blueprint`` at version 1."""
    meta = WorkspaceMeta(workspace, 1, blueprint, engine.dialect.name)
    with engine.begin() as conn:
        schema = meta.tables.names.schema
        if schema:
            conn.execute(sa.schema.CreateSchema(schema))
        meta.tables.metadata.create_all(conn)
    return meta


def blank_row(meta: WorkspaceMeta, entity: str) -> dict[str, Any]:
    """Every column of ``entity`` with a neutral value (executemany needs the same keys in each row)."""
    table = meta.tables.entity(entity)
    row: dict[str, Any] = {c.name: None for c in table.columns if c.name != "id"}
    row["version"] = 1
    return row


def insert(conn: Connection, meta: WorkspaceMeta, entity: str, **values: Any) -> int:
    """Insert one record; builtins default to a fresh creation time, pipelines to the first one."""
    now = T0 + timedelta(seconds=next(_TICK))
    row = blank_row(meta, entity) | {"created_at": now, "updated_at": now}
    if "stage" in values and "pipeline" not in values:
        row["pipeline"] = "sales"
    row.update(values)
    table = meta.tables.entity(entity)
    return int(conn.execute(table.insert().values(**row).returning(table.c.id)).scalar_one())


def link(conn: Connection, meta: WorkspaceMeta, entity: str, field: str, left: int, *rights: int) -> None:
    junction = meta.tables.junction(entity, field)
    conn.execute(junction.insert(), [{"left_id": left, "right_id": r} for r in rights])


def add_user(conn: Connection, meta: WorkspaceMeta, email: str, name: str = "User") -> int:
    stmt = system_tables.users.insert().values(
        workspace=meta.workspace, email=email, name=name, role="manager", created_at=T0)
    return int(conn.execute(stmt.returning(system_tables.users.c.id)).scalar_one())
