"""A broadcast recipient's message, written at expansion and checked again just before it is sent.

Why twice: a large broadcast is queued in minutes and delivered over a longer while (retries wait
hours), and in between a person may unsubscribe, be deleted or change address.  Expansion writes
the Message row from the record as it stood; the delivering runner re-reads the records of its
claimed batch (one read per broadcast in the batch) and skips, with the reason, every recipient whose
record is gone, who opted out since, or whose address is no longer the one queued — the queued
message is never sent to an address the record no longer holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import dsl
from metamodel.definitions import Blueprint
from metamodel.errors import MetamodelError
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import find_workspace_meta
from metamodel.storage.system_tables import broadcasts
from workflow.broadcasts_check import craft_string, opt_out_paths
from workflow.runtime import Runtime, compiled
from workflow.views import Loader, RecordView

_b = broadcasts.c
DELETED = "the record was deleted since the broadcast was queued"
MOVED = "address changed since the broadcast was queued"


def message_for(row: Mapping[Any, Any], record: RecordView, now: datetime,
                blueprint: Blueprint) -> tuple[str | None, dict[str, Any] | None]:
    """(why the record is skipped, None) or (None, the Message row's values) for broadcast ``row``."""
    ctx = dsl.EvalContext(now=now, record=record)
    try:
        for path in opt_out_paths(blueprint, row["entity"], row["recipient_field"], row["opt_out_field"]):
            if bool(compiled(path)(ctx)):
                return f"opted out ({path})", None
        to = compiled(row["recipient_field"])(ctx)
        if to is None or not str(to).strip():
            return f"no address in {row['recipient_field']}", None
        subject = compiled(craft_string(row["subject"]))(ctx) if row["subject"] is not None else None
        body = compiled(craft_string(row["body"]))(ctx)
    except dsl.CraftRuntimeError as exc:
        return f"the message could not be written: {exc}", None
    return None, {"channel": row["channel"], "recipient": str(to).strip()[:500],
                  "subject": None if subject is None else str(subject)[:500], "body": str(body)}


def recheck(conn: Connection, runtime: Runtime, claimed: Sequence[Any],
            addresses: Mapping[int, str]) -> dict[int, str]:
    """Recipient id -> why it must not be sent now, for claimed recipient rows (``id``,
    ``broadcast_id``, ``record_id``); ``addresses`` holds the queued address of each by recipient id.

    A broadcast whose records can no longer be read (an apply removed its entity) skips them all:
    without the record there is no knowing whether the person opted out."""
    groups: dict[int, list[Any]] = {}
    for recipient in claimed:
        groups.setdefault(recipient.broadcast_id, []).append(recipient)
    rows = conn.execute(sa.select(broadcasts).where(_b.id.in_(list(groups)))).mappings()
    skipped: dict[int, str] = {}
    for row in rows:
        group = groups[row["id"]]
        try:
            skipped.update(_recheck_one(conn, runtime, row, group, addresses))
        except (MetamodelError, dsl.CraftErrors) as exc:
            why = f"the records can no longer be read: {getattr(exc, 'message', exc)}"
            skipped.update({recipient.id: why for recipient in group})
    return skipped


def _recheck_one(conn: Connection, runtime: Runtime, row: Mapping[Any, Any], group: Sequence[Any],
                 addresses: Mapping[int, str]) -> dict[int, str]:
    meta = find_workspace_meta(conn, row["workspace"])
    if meta is None or meta.blueprint.find_entity(row["entity"]) is None:
        raise MetamodelError(f'the entity {row["entity"]} no longer exists')
    store = RecordStore(runtime.engine, meta, runtime.clock)
    ids = [int(recipient.record_id) for recipient in group]
    page = store.list(row["entity"], where={"id": {"in": ids}}, first=len(ids), conn=conn)
    found = {int(record["id"]): record for record in page.records}
    loader, now = Loader(conn, store), runtime.clock.now()
    skipped: dict[int, str] = {}
    for recipient in group:
        record = found.get(int(recipient.record_id))
        if record is None:
            skipped[recipient.id] = DELETED
            continue
        reason, message = message_for(row, RecordView(loader, row["entity"], record), now, meta.blueprint)
        if reason is not None:
            skipped[recipient.id] = reason
        elif message is not None and message["recipient"] != addresses.get(recipient.id,
                                                                           message["recipient"]):
            skipped[recipient.id] = MOVED
    return skipped
