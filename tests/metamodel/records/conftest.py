"""Fixtures of the records tests: a workspace with real tables, on SQLite and PostgreSQL.

``records_meta`` creates the tables of ``RECORDS_BLUEPRINT`` in a fresh
workspace (a schema of its own on PostgreSQL); ``store`` is a RecordStore on it
with a ManualClock, so timestamps are predictable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.clock import ManualClock
from metamodel.definitions import (
    Blueprint,
    EntityDef,
    FieldDef,
    FieldType,
    PipelineDef,
    StageDef,
    StageKind,
)
from metamodel.records import Actor, RecordStore
from metamodel.storage import system_tables
from metamodel.storage.catalog import WorkspaceMeta

F = FieldType
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

SALES = PipelineDef("sales", "Sales", (
    StageDef("new", "New"),
    StageDef("negotiation", "Negotiation", probability=30),
    StageDef("won", "Paid", StageKind.WON),
    StageDef("lost", "Lost", StageKind.LOST),
))
SUPPORT = PipelineDef("support", "Support", (StageDef("open", "Open"), StageDef("closed", "Closed")))

RECORDS_BLUEPRINT = Blueprint(entities=(
    EntityDef("Company", "Company", "companies", (
        FieldDef("name", F.STRING, required=True, max_length=200),
        FieldDef("industry", F.ENUM, options=("retail", "it", "other")),
        FieldDef("website", F.URL),
    )),
    EntityDef("Contact", "Contact", "contacts", (
        FieldDef("name", F.STRING, required=True),
        FieldDef("email", F.EMAIL, unique=True),
        FieldDef("phone", F.PHONE),
        FieldDef("company", F.REFERENCE, to="Company", inverse="contacts"),
        FieldDef("tags", F.TAGS),
        FieldDef("source", F.ENUM, options=("website", "call", "referral"), default="website",
                 has_default=True),
        FieldDef("birthday", F.DATE),
        FieldDef("score", F.INTEGER, default=0, has_default=True, min=Decimal(0), max=Decimal(100)),
        FieldDef("assistant", F.USER),
        FieldDef("partners", F.MANY, to="Company"),
        FieldDef("profile", F.JSON),
    )),
    EntityDef("Deal", "Deal", "deals", (
        FieldDef("title", F.STRING, required=True, max_length=200),
        FieldDef("amount", F.MONEY, currency="RUB"),
        FieldDef("rate", F.DECIMAL),
        FieldDef("contact", F.REFERENCE, to="Contact", inverse="deals"),
        FieldDef("paid", F.BOOLEAN, default=False, has_default=True),
        FieldDef("due_on", F.DATE),
        FieldDef("closes_at", F.DATETIME),
        FieldDef("channels", F.MULTI_ENUM, options=("email", "phone", "chat")),
        FieldDef("margin", F.FORMULA, expr="amount * 0.2", returns=F.MONEY),
    ), (SALES, SUPPORT)),
    EntityDef("Car", "Car", "cars", (
        FieldDef("plate", F.STRING, required=True, unique=True),
        FieldDef("model", F.STRING),
    )),
))



def create_workspace_tables(engine: Engine, workspace: str, blueprint: Blueprint) -> WorkspaceMeta:
    """Create the tables of ``blueprint`` in ``workspace`` and return its metadata."""
    meta = WorkspaceMeta(workspace, 1, blueprint, engine.dialect.name)
    with engine.begin() as conn:
        if meta.tables.names.schema:
            conn.execute(sa.schema.CreateSchema(meta.tables.names.schema))
        meta.tables.metadata.create_all(conn)
    return meta


@pytest.fixture
def records_meta(engine: Engine, workspace: str) -> WorkspaceMeta:
    return create_workspace_tables(engine, workspace, RECORDS_BLUEPRINT)


@pytest.fixture
def clock() -> ManualClock:
    """Starts at 2026-03-02 09:00 UTC; ``clock.advance`` moves every stamp the store writes."""
    return ManualClock(START)


@pytest.fixture
def store(engine: Engine, records_meta: WorkspaceMeta, clock: ManualClock) -> RecordStore:
    return RecordStore(engine, records_meta, clock)


@pytest.fixture
def anna() -> Actor:
    return Actor(user_id=None, email="anna@acme.test")


@pytest.fixture
def add_user(engine: Engine, workspace: str) -> Callable[..., int]:
    """Insert a row of sc_users in the test's workspace; returns its id."""

    def add(email: str, *, active: bool = True, in_workspace: str | None = None) -> int:
        with engine.begin() as conn:
            result = conn.execute(system_tables.users.insert().values(
                workspace=in_workspace or workspace, email=email, name=email.split("@")[0],
                role="manager", active=active, created_at=START))
            return int(result.inserted_primary_key[0])

    return add


@pytest.fixture
def count_rows(engine: Engine, store: RecordStore) -> Callable[[str], dict[str, int]]:
    """Rows of an entity's table and of the workspace's history, stage history and outbox."""
    ws = store.meta.workspace

    def count(entity: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        with engine.connect() as conn:
            counts["records"] = conn.execute(sa.select(sa.func.count()).select_from(
                store.meta.tables.entity(entity))).scalar_one()
            for name, table in (("history", system_tables.record_history),
                                ("stages", system_tables.stage_history),
                                ("outbox", system_tables.outbox)):
                counts[name] = conn.execute(sa.select(sa.func.count()).select_from(table).where(
                    table.c.workspace == ws)).scalar_one()
        return counts

    return count
