"""``messages`` for a role that reads some entities: one statement, same rows as one read per entity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from metamodel.storage import system_tables
from workflow import list_messages

BODIES = "{ messages(first: %d) { body entity } }"


def _message(crm: Any, entity: str | None, body: str) -> None:
    with crm.engine.begin() as conn:
        conn.execute(sa.insert(system_tables.messages).values(
            workspace=crm.meta.workspace, channel="email", recipient="client@shop.test", body=body,
            status="sent", entity=entity, record_id=1 if entity else None,
            created_at=dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.UTC)))


def test_a_role_gets_the_newest_messages_across_its_readable_entities(crm: Any) -> None:
    for i, entity in enumerate(["Deal", "Contact", None, "Deal", "Company", "Contact"]):
        _message(crm, entity, f"m{i}")
    shown = crm.data(BODIES % 4, role="analyst")["messages"]  # reads Company, Contact, Deal
    assert [m["body"] for m in shown] == ["m5", "m4", "m3", "m1"]
    clerk = crm.data(BODIES % 50, role="clerk")["messages"]  # reads Contact only
    assert [m["body"] for m in clerk] == ["m5", "m1"]


def test_list_messages_keeps_only_the_entities_asked_for(crm: Any) -> None:
    for i, entity in enumerate(["Deal", "Contact", None, "Company"]):
        _message(crm, entity, f"m{i}")
    ws = crm.meta.workspace
    assert [m["body"] for m in list_messages(crm.engine, ws, entities=["Deal", "Company"])] == ["m3", "m0"]
    assert [m["body"] for m in list_messages(crm.engine, ws, entities=[])] == []
    assert [m["body"] for m in list_messages(crm.engine, ws)] == ["m3", "m2", "m1", "m0"]
