"""Broadcasts: one message per record of a segment, sent by the runners, durably and once per record.

A broadcast is a row (``sc_broadcasts``); creating one only checks it and writes that row, so a
client never waits for ten thousand mails.  The runners then expand it into recipients in batches
and deliver their messages (:mod:`workflow.broadcasts_run`): every recipient's Message row carries
the key ``broadcast:<id>:<record id>``, unique in the workspace, so a crash, a retry or two runners
never send a record its message twice.  Records opted out (``unsubscribed``) or without an address
are skipped, counted and kept with their reason.

Statuses: ``queued`` (nothing expanded yet), ``expanding``, ``sending`` (every recipient known,
messages going out), ``done``; ``failed`` when the segment can no longer be read (its entity or a
field was removed by a later apply) — a failed broadcast stops: its queued recipients are skipped.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from metamodel.db import write_transaction
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import broadcast_recipients, broadcasts
from workflow.broadcasts_check import (
    BroadcastForbidden,
    BroadcastInvalid,
    BroadcastSpec,
    Hidden,
    check_broadcast,
)
from workflow.errors import WorkflowError
from workflow.instances import write_log
from workflow.runtime import Runtime

__all__ = ["BroadcastForbidden", "BroadcastInvalid", "BroadcastNotFound", "BroadcastRow", "BroadcastSpec",
           "RecipientRow", "create_broadcast", "get_broadcast", "list_broadcasts", "list_recipients",
           "recorded_count"]

QUEUED, EXPANDING, SENDING, DONE, FAILED = "queued", "expanding", "sending", "done", "failed"
_b = broadcasts.c


class BroadcastNotFound(WorkflowError):
    code = "WF_BROADCAST_NOT_FOUND"


@dataclass(frozen=True, slots=True)
class BroadcastRow:
    """A broadcast as the surfaces show it; ``sent`` counts messages handed over (or recorded when
    the channel has no provider), ``skipped`` opted-out records and records without an address."""

    id: int
    workspace: str
    entity: str
    where: Mapping[str, Any] | None
    channel: str
    to: str
    opt_out: str | None
    subject: str | None
    body: str
    status: str
    recipients: int
    sent: int
    skipped: int
    failed: int
    error: str | None
    created_by: str | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def queued(self) -> int:
        """Recipients whose message is not handed over yet."""
        return self.recipients - self.sent - self.skipped - self.failed


def _row(values: Mapping[Any, Any]) -> BroadcastRow:
    return BroadcastRow(
        id=int(values["id"]), workspace=values["workspace"], entity=values["entity"], where=values["segment"],
        channel=values["channel"], to=values["recipient_field"], opt_out=values["opt_out_field"],
        subject=values["subject"], body=values["body"], status=values["status"],
        recipients=values["recipients"], sent=values["sent"], skipped=values["skipped"],
        failed=values["failed"], error=values["error"], created_by=values["created_by"],
        created_at=values["created_at"], finished_at=values["finished_at"])


def create_broadcast(runtime: Runtime, workspace: str, spec: BroadcastSpec, created_by: str | None = None,
                     *, hidden: Hidden = frozenset()) -> BroadcastRow:
    """Check ``spec`` and queue it; :class:`BroadcastInvalid` (nothing saved) names every problem.

    ``hidden``: (entity, field) pairs the caller may not see — naming one in the segment, the
    address, the opt-out or a placeholder raises :class:`BroadcastForbidden`."""
    meta = load_workspace_meta(runtime.engine, workspace)
    checked = check_broadcast(RecordStore(runtime.engine, meta, runtime.clock), spec, hidden)
    now = runtime.clock.now()
    with write_transaction(runtime.engine) as conn:
        new_id = conn.execute(sa.insert(broadcasts).values(
            workspace=workspace, entity=checked.entity, segment=checked.where, channel=checked.channel,
            recipient_field=checked.to, opt_out_field=checked.opt_out, subject=checked.subject,
            body=checked.body, status=QUEUED, metadata_version=meta.version, created_by=created_by,
            created_at=now, updated_at=now).returning(_b.id)).scalar_one()
        write_log(conn, workspace, None, now, "broadcast queued",
                  {"broadcast": int(new_id), "entity": checked.entity, "channel": checked.channel})
        return _get(conn, workspace, int(new_id))


def get_broadcast(engine: Engine, workspace: str, broadcast_id: int) -> BroadcastRow:
    """One broadcast of ``workspace``; :class:`BroadcastNotFound` for another workspace's id too."""
    with engine.connect() as conn:
        return _get(conn, workspace, broadcast_id)


def _get(conn: Connection, workspace: str, broadcast_id: int) -> BroadcastRow:
    found = conn.execute(sa.select(broadcasts).where(
        _b.workspace == workspace, _b.id == broadcast_id)).mappings().first()
    if found is None:
        raise BroadcastNotFound(f"broadcast {broadcast_id} does not exist")
    return _row(found)


def list_broadcasts(engine: Engine, workspace: str, *, entities: Collection[str] | None = None,
                    created_by: str | None = None, first: int = 50) -> list[BroadcastRow]:
    """The newest broadcasts first (at most 500); ``entities`` limits them to those entities (a role's
    readable ones), ``created_by`` to one sender's (a ``records: own`` role's own)."""
    query = sa.select(broadcasts).where(_b.workspace == workspace)
    if entities is not None:
        query = query.where(_b.entity.in_(list(entities)))
    if created_by is not None:
        query = query.where(_b.created_by == created_by)
    query = query.order_by(_b.id.desc()).limit(max(0, min(first, 500)))
    with engine.connect() as conn:
        return [_row(values) for values in conn.execute(query).mappings()]


@dataclass(frozen=True, slots=True)
class RecipientRow:
    """One record a broadcast matched: ``status`` queued, sent, recorded, skipped or failed, and why
    (``reason``: the opt-out, the missing address, the provider's refusal or the pending retry's error)."""

    record_id: int
    status: str
    reason: str | None
    attempts: int


def list_recipients(engine: Engine, workspace: str, broadcast_id: int, *, statuses: Collection[str] = (),
                    first: int = 100) -> list[RecipientRow]:
    """The recipients of one broadcast of ``workspace`` by record id (``statuses``: only those)."""
    get_broadcast(engine, workspace, broadcast_id)  # another workspace's id is not found
    r = broadcast_recipients.c
    query = sa.select(r.record_id, r.status, r.reason, r.attempts).where(r.broadcast_id == broadcast_id)
    if statuses:
        query = query.where(r.status.in_(list(statuses)))
    with engine.connect() as conn:
        found = conn.execute(query.order_by(r.record_id).limit(max(0, min(first, 1000))))
        return [RecipientRow(int(row.record_id), row.status, row.reason, int(row.attempts)) for row in found]


def recorded_count(engine: Engine, workspace: str, broadcast_id: int) -> int:
    """How many of ``sent`` were only recorded (the channel had no provider): one probe of the
    (broadcast, status) index, so a surface can say that nothing really left."""
    r = broadcast_recipients.c
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(
            r.workspace == workspace, r.broadcast_id == broadcast_id, r.status == "recorded")).scalar_one())
