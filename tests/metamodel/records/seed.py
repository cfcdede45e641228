"""Test data for the read half, written with raw Core inserts.

The read tests seed through plain INSERTs rather than ``RecordStore.create``
so they exercise the query code alone, and can place values (NULLs, equal
sort keys, soft-deleted rows) exactly where a case needs them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
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


def build_world(engine: Engine, meta: WorkspaceMeta) -> dict[str, int]:
    """A small, hand-checked data set for filter tests; returns ids by name.

    Deals: Sofa (won, 1200, Ann, paid, labels a+b, partner Globex, owner anna),
    Table (negotiation, 500, Bob, unpaid, label b, partners Acme + 100%_Real,
    owner oleg), chair (new, no amount/paid/labels, Cid), Lamp (lost, 50, no
    contact, label c, low), Bed (invoice, 3000, Ann, soft-deleted) and Desk
    (repeat/done, 800, contact Dan who is soft-deleted, owner anna).
    """
    ids: dict[str, int] = {}
    with engine.begin() as c:
        ids["anna"] = add_user(c, meta, "anna@acme.test", "Anna")
        ids["oleg"] = add_user(c, meta, "oleg@acme.test", "Oleg")
        ids["acme"] = insert(c, meta, "Company", name="Acme Ltd", industry="retail")
        ids["globex"] = insert(c, meta, "Company", name="Globex", industry="it")
        ids["real"] = insert(c, meta, "Company", name="100%_Real", industry="other")
        ids["ann"] = insert(c, meta, "Contact", name="Ann", email="ann@x.io", company=ids["acme"],
                            tags=["vip", "hot"], birthday=date(1990, 5, 1), score=10)
        ids["bob"] = insert(c, meta, "Contact", name="Bob", company=ids["globex"], tags=["cold"], score=3)
        ids["cid"] = insert(c, meta, "Contact", name="Cid")
        ids["dan"] = insert(c, meta, "Contact", name="Dan", company=ids["acme"], deleted_at=T0)
        ids["sofa"] = insert(c, meta, "Deal", title="Sofa", amount=Decimal("1200"), contact=ids["ann"],
                             paid=True, due_on=date(2026, 3, 1), priority="high", labels=["a", "b"],
                             closed_at=datetime(2026, 2, 1, 10, tzinfo=UTC), stage="won",
                             owner=ids["anna"], data={"k": 1})
        ids["table"] = insert(c, meta, "Deal", title="Table", amount=Decimal("500.50"), contact=ids["bob"],
                              paid=False, due_on=date(2026, 4, 1), labels=["b"], stage="negotiation",
                              owner=ids["oleg"], reviewer=ids["anna"])
        ids["chair"] = insert(c, meta, "Deal", title="chair", contact=ids["cid"], stage="new")
        ids["lamp"] = insert(c, meta, "Deal", title="Lamp", amount=Decimal("50"), labels=["c"],
                             priority="low", stage="lost")
        ids["bed"] = insert(c, meta, "Deal", title="Bed", amount=Decimal("3000"), contact=ids["ann"],
                            stage="invoice", deleted_at=T0)
        ids["desk"] = insert(c, meta, "Deal", title="Desk", amount=Decimal("800"), contact=ids["dan"],
                             pipeline="repeat", stage="done", owner=ids["anna"])
        link(c, meta, "Deal", "partners", ids["sofa"], ids["globex"])
        link(c, meta, "Deal", "partners", ids["table"], ids["acme"], ids["real"])
    return ids
