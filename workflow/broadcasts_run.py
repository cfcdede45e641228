"""The runners' half of broadcasts: one tick expands segments into recipients, then delivers.

Expansion: one batch per transaction — the next records of the segment by id (keyset after
``last_record_id``), a recipient row and a Message row for each, the new ``last_record_id`` and the
counts commit together.  A crash loses the whole batch and the next runner does it again; the
Message key ``broadcast:<id>:<record id>`` is unique, and records that already have a recipient
row are left out, so nothing is queued twice however often a batch is repeated.  Broadcasts are
claimed with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) or under ``BEGIN IMMEDIATE`` (SQLite).

Delivery (:mod:`workflow.broadcasts_deliver`) follows in the same tick: due recipients are
claimed with a lease and their messages handed to the same delivery path as ``send`` steps.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import dsl
from metamodel.db import write_transaction
from metamodel.definitions import Blueprint
from metamodel.errors import MetamodelError
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import find_workspace_meta
from metamodel.storage.system_tables import broadcast_recipients, broadcasts, messages, wf_log
from workflow.broadcasts import DONE, EXPANDING, FAILED, QUEUED, SENDING, BroadcastRow, get_broadcast
from workflow.broadcasts_check import BroadcastInvalid, BroadcastSpec, check_broadcast
from workflow.broadcasts_deliver import DELIVER_BATCH, deliver_due, log_done, message_key
from workflow.broadcasts_deliver import waiting as any_waiting
from workflow.broadcasts_message import message_for
from workflow.instances import write_log
from workflow.runtime import Runtime
from workflow.views import Loader, RecordView

_b, _r, _m = broadcasts.c, broadcast_recipients.c, messages.c
#: Records one expansion transaction turns into recipients.
EXPAND_BATCH = 200

log = logging.getLogger(__name__)


def tick_broadcasts(runtime: Runtime, batch: int = EXPAND_BATCH) -> int:
    """One round of broadcast work (expansion, then delivery); returns how much was done.

    Every tick of every runner comes here, mostly to find nothing: one read (two indexed probes)
    answers that, so an idle tick takes no write lock (SQLite's ``BEGIN IMMEDIATE``) for broadcasts.
    """
    expand, deliver = _pending(runtime)
    done = expand_next(runtime, batch) if expand else 0
    return done + (deliver_due(runtime, DELIVER_BATCH) if deliver else 0)


def _pending(runtime: Runtime) -> tuple[bool, bool]:
    """Whether a broadcast waits for expansion, and whether a recipient is due for delivery."""
    waiting = sa.select(_b.id).where(_b.status.in_((QUEUED, EXPANDING)))
    due = sa.select(_r.id).where(_r.next_at <= runtime.clock.now())
    if runtime.workspace is not None:
        waiting = waiting.where(_b.workspace == runtime.workspace)
        due = due.where(_r.workspace == runtime.workspace)
    with runtime.engine.connect() as conn:
        return (conn.execute(waiting.limit(1)).first() is not None,
                conn.execute(due.limit(1)).first() is not None)


def run_broadcasts(runtime: Runtime, broadcast_id: int, max_rounds: int = 100_000) -> BroadcastRow:
    """Do the broadcast work of ``runtime``'s workspace until none is due now (a command's ``--deliver``);
    returns the broadcast as it then stands (retries whose time has not come stay for the runners)."""
    workspace = runtime.workspace or ""
    for _ in range(max_rounds):
        if not tick_broadcasts(runtime):
            break
    return get_broadcast(runtime.engine, workspace, broadcast_id)


# ---- expansion ------------------------------------------------------------------------------------

def expand_next(runtime: Runtime, batch: int = EXPAND_BATCH) -> int:
    """Expand the next batch of one waiting broadcast; returns the records looked at (0: none waits)."""
    with write_transaction(runtime.engine) as conn:
        query = sa.select(broadcasts).where(_b.status.in_((QUEUED, EXPANDING)))
        if runtime.workspace is not None:
            query = query.where(_b.workspace == runtime.workspace)
        query = query.order_by(_b.id).limit(1).with_for_update(skip_locked=True)
        row = conn.execute(query).mappings().first()
        if row is None:
            return 0
        now = runtime.clock.now()
        try:
            with conn.begin_nested():  # a refused batch leaves none of its rows
                return _expand(conn, runtime, row, batch, now)
        except (MetamodelError, dsl.CraftErrors, BroadcastInvalid) as exc:  # an apply removed what it reads
            _give_up(conn, row, now, str(getattr(exc, "message", exc)))
            return 1
        except (sa.exc.OperationalError, sa.exc.InterfaceError):
            raise  # the database is away: the next tick tries again
        except Exception as exc:  # bad data or a bug in this one: fail it rather than block every later one
            log.exception("broadcast %s failed while its recipients were expanded", row["id"])
            _give_up(conn, row, now, f"unexpected error: {exc}")
            return 1


def _expand(conn: Connection, runtime: Runtime, row: Mapping[Any, Any], batch: int, now: datetime) -> int:
    meta = find_workspace_meta(conn, row["workspace"])
    if meta is None or meta.blueprint.find_entity(row["entity"]) is None:
        raise MetamodelError(f'the entity {row["entity"]} no longer exists')
    store = RecordStore(runtime.engine, meta, runtime.clock)
    if meta.version != row["metadata_version"]:
        _recheck(conn, store, row)
    after = {"id": {"gt": row["last_record_id"] or 0}}
    where = {"and": [row["segment"], after]} if row["segment"] else after
    page = store.list(row["entity"], where=where, first=batch, conn=conn)
    if not page.records:
        return _expanded(conn, row, now)
    loader = Loader(conn, store)
    known = set(conn.execute(sa.select(_r.record_id).where(
        _r.broadcast_id == row["id"], _r.record_id.in_([r["id"] for r in page.records]))).scalars())
    fresh = [RecordView(loader, row["entity"], r) for r in page.records if r["id"] not in known]
    queued, skipped = _recipients(conn, row, fresh, now, meta.blueprint)
    conn.execute(sa.update(broadcasts).where(_b.id == row["id"]).values(
        status=EXPANDING, last_record_id=page.records[-1]["id"], recipients=_b.recipients + len(fresh),
        skipped=_b.skipped + skipped, updated_at=now))
    write_log(conn, row["workspace"], None, now, "broadcast expanded",
              {"broadcast": row["id"], "recipients": len(fresh), "queued": queued, "skipped": skipped})
    return len(page.records)


def _recheck(conn: Connection, store: RecordStore, row: Mapping[Any, Any]) -> None:
    """A blueprint was applied since the last batch: check the broadcast again against it, so a
    removed field fails the broadcast (:class:`BroadcastInvalid`) instead of sending blanks."""
    check_broadcast(store, BroadcastSpec(
        entity=row["entity"], channel=row["channel"], body=row["body"], subject=row["subject"],
        where=row["segment"], to=row["recipient_field"], opt_out=row["opt_out_field"]))
    conn.execute(sa.update(broadcasts).where(_b.id == row["id"]).values(metadata_version=store.meta.version))


def _expanded(conn: Connection, row: Mapping[Any, Any], now: datetime) -> int:
    """Every recipient is known: sending (or done at once when none is waiting)."""
    waiting = any_waiting(conn, row["id"])
    status = SENDING if waiting else DONE
    conn.execute(sa.update(broadcasts).where(_b.id == row["id"]).values(
        status=status, updated_at=now, finished_at=None if waiting else now))
    if not waiting:
        log_done(conn, row["workspace"], row["id"], now)
    return 1


def _give_up(conn: Connection, row: Mapping[Any, Any], now: datetime, why: str) -> None:
    """Fail the broadcast and stop it: its recipients still queued are skipped with the reason (a
    failed broadcast sends nothing more; one already handed over by a runner is marked by it)."""
    reason = f"the broadcast failed: {why}"[:1000]
    stopped = conn.execute(sa.update(broadcast_recipients).where(
        _r.broadcast_id == row["id"], _r.status == "queued").values(
        status="skipped", reason=reason, lease=None, next_at=None, updated_at=now)).rowcount
    conn.execute(sa.update(messages).where(
        _m.workspace == row["workspace"], _m.idempotency_key.like(f"broadcast:{row['id']}:%"),
        _m.status == "queued").values(status="skipped"))
    conn.execute(sa.update(broadcasts).where(_b.id == row["id"]).values(
        status=FAILED, error=why, skipped=_b.skipped + stopped, updated_at=now, finished_at=now))
    write_log(conn, row["workspace"], None, now, "broadcast failed", {"broadcast": row["id"], "error": why})


def _recipients(conn: Connection, row: Mapping[Any, Any], records: Sequence[RecordView],
                now: datetime, blueprint: Blueprint) -> tuple[int, int]:
    """Write a recipient row per record, a Message row per one with an address; (queued, skipped)."""
    people: list[dict[str, Any]] = []
    mails: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for record in records:
        record_id = int(record["id"])
        reason, message = message_for(row, record, now, blueprint)
        people.append({"workspace": row["workspace"], "broadcast_id": row["id"], "record_id": record_id,
                       "status": "skipped" if reason else "queued", "reason": reason, "attempts": 0,
                       "next_at": None if reason else now, "updated_at": now})
        if message is not None:
            mails.append({**message, "workspace": row["workspace"], "entity": row["entity"],
                          "record_id": record_id, "idempotency_key": message_key(row["id"], record_id),
                          "status": "queued", "created_at": now})
        notes.append({"workspace": row["workspace"], "instance_id": None, "at": now,
                      "kind": "broadcast skipped" if reason else "message",
                      "detail": _note(row, record_id, reason, message)})
    if people:
        conn.execute(sa.insert(broadcast_recipients), people)
    if mails:
        conn.execute(sa.insert(messages), mails)
    if notes:
        conn.execute(sa.insert(wf_log), notes)
    return len(mails), len(people) - len(mails)


def _note(row: Mapping[Any, Any], record_id: int, reason: str | None,
          message: Mapping[str, Any] | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"broadcast": row["id"], "entity": row["entity"], "record_id": record_id}
    if reason:
        return {**detail, "reason": reason}
    assert message is not None
    return {**detail, "channel": row["channel"], "to": message["recipient"], "subject": message["subject"]}
