"""Delivering a broadcast's messages: claim due recipients, hand their messages over, mark them.

Due recipient rows are claimed with a lease like instances (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so any number of runners share the work.  Each message
goes to the same :func:`workflow.delivery.deliver` as a ``send`` step's, with no transaction open
and the Message row's key, and its outcome is recorded with the broadcast's counts:

* a message really handed over (SMTP, a gateway) or refused is marked at once, alone — a runner
  that dies after a hand-over repeats at most that one message, under the same key (the SMTP
  Message-ID, the gateway's Idempotency-Key), exactly as a ``send`` step would;
* messages only *recorded* (the channel has no provider) are marked together at the end of the
  batch, in one transaction: repeating them sends nothing, and one commit per message would make a
  large broadcast wait on a disk sync per recipient.

A retryable failure (the server is away) waits with backoff; after ``max_attempts``, or at once for
a final error (a bad address), the recipient is failed.  A runner gives back what it has not
started after a couple of seconds (never more than half its lease), so a slow provider neither
lets a lease run out mid-batch nor keeps the tick from its other work.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metamodel.db import write_transaction
from metamodel.storage.system_tables import broadcast_recipients, broadcasts, messages
from workflow.backoff import step_retry_at
from workflow.broadcasts import DONE, SENDING
from workflow.broadcasts_message import recheck
from workflow.delivery import DeliveryConfig, OutgoingMessage, deliver
from workflow.errors import WorkflowError
from workflow.instances import write_log
from workflow.runtime import Runtime

_b, _r, _m = broadcasts.c, broadcast_recipients.c, messages.c
#: Recipients one runner claims at a time.
DELIVER_BATCH = 50
#: Seconds of hand-overs per call: the same tick also dispatches runs (the Celery ticker delivers
#: broadcasts itself), so a slow mail server must not hold it for long; the rest waits a tick.
TICK_SECONDS = 2.0


def message_key(broadcast_id: int, record_id: int) -> str:
    """The idempotency key of a recipient's Message row (and of its SMTP Message-ID)."""
    return f"broadcast:{broadcast_id}:{record_id}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed recipient's message."""

    recipient_id: int
    status: str  # sent | recorded | failed
    error: WorkflowError | None = None


def deliver_due(runtime: Runtime, limit: int = DELIVER_BATCH, seconds: float = TICK_SECONDS) -> int:
    """Claim and deliver up to ``limit`` due recipients, for about ``seconds`` at most (never more
    than half the lease); returns how many were claimed."""
    claimed, lease = claim(runtime, limit)
    if not claimed:
        return 0
    config = delivery_config(runtime)
    started, budget = time.monotonic(), min(seconds, runtime.config.lease_seconds / 2)
    recorded: list[Outcome] = []
    for index, (recipient_id, outgoing) in enumerate(claimed):
        if index and time.monotonic() - started > budget:  # give the rest back for the next tick
            _release(runtime, [r for r, _ in claimed[index:]], lease)
            break
        outcome = _hand_over(recipient_id, outgoing, config)
        if outcome.status == "recorded":
            recorded.append(outcome)
        else:
            mark(runtime, lease, [outcome])
    if recorded:
        mark(runtime, lease, recorded)
    return len(claimed)


def _hand_over(recipient_id: int, outgoing: OutgoingMessage | None, config: DeliveryConfig) -> Outcome:
    if outgoing is None:  # no queued message (handed over and marked before): nothing to repeat
        return Outcome(recipient_id, "recorded")
    try:
        return Outcome(recipient_id, deliver(outgoing, config))
    except WorkflowError as exc:
        return Outcome(recipient_id, "failed", exc)


def delivery_config(runtime: Runtime) -> DeliveryConfig:
    cfg = runtime.config
    return DeliveryConfig(smtp_url=cfg.smtp_url, mail_from=cfg.mail_from, sms_url=cfg.sms_url,
                          whatsapp_url=cfg.whatsapp_url)


def claim(runtime: Runtime, limit: int) -> tuple[list[tuple[int, OutgoingMessage | None]], str]:
    """Lease due recipients; each with its message (None when it is no longer queued)."""
    lease, now = uuid.uuid4().hex, runtime.clock.now()
    with write_transaction(runtime.engine) as conn:
        due = sa.select(_r.id, _r.workspace, _r.broadcast_id, _r.record_id).where(
            _r.next_at <= now, _r.status == "queued")
        if runtime.workspace is not None:
            due = due.where(_r.workspace == runtime.workspace)
        rows = conn.execute(due.order_by(_r.next_at).limit(limit).with_for_update(skip_locked=True)).all()
        if not rows:
            return [], lease
        conn.execute(sa.update(broadcast_recipients).where(_r.id.in_([r.id for r in rows])).values(
            lease=lease, next_at=now + runtime.config.lease))
        keys = {message_key(r.broadcast_id, r.record_id): r for r in rows}
        stored = {m["idempotency_key"]: m for m in conn.execute(sa.select(messages).where(
            _m.workspace.in_({r.workspace for r in rows}), _m.idempotency_key.in_(list(keys)))).mappings()}
        addresses = {r.id: stored[key]["recipient"] for key, r in keys.items() if key in stored}
        skipped = recheck(conn, runtime, rows, addresses)
        if skipped:
            _skip(conn, [r for r in rows if r.id in skipped], skipped, now)
    return [(r.id, _outgoing(stored.get(key))) for key, r in keys.items() if r.id not in skipped], lease


def _skip(conn: Connection, rows: list[Any], reasons: Mapping[int, str], now: datetime) -> None:
    """Skip claimed recipients found deleted, opted out or moved since they were queued, with the
    reason, in the claim's transaction (the message is never handed over)."""
    for row in rows:
        conn.execute(sa.update(broadcast_recipients).where(_r.id == row.id).values(
            status="skipped", reason=reasons[row.id], lease=None, next_at=None, updated_at=now))
        write_log(conn, row.workspace, None, now, "broadcast skipped",
                  {"broadcast": row.broadcast_id, "record_id": row.record_id, "reason": reasons[row.id]})
    conn.execute(sa.update(messages).where(
        _m.workspace.in_({r.workspace for r in rows}),
        _m.idempotency_key.in_([message_key(r.broadcast_id, r.record_id) for r in rows]),
        _m.status == "queued").values(status="skipped"))
    tally: dict[tuple[str, int], int] = {}
    for row in rows:
        tally[(row.workspace, row.broadcast_id)] = tally.get((row.workspace, row.broadcast_id), 0) + 1
    for (workspace, broadcast_id), count in tally.items():
        _count(conn, workspace, broadcast_id, 0, 0, now, skipped=count)


def _outgoing(message: Mapping[Any, Any] | None) -> OutgoingMessage | None:
    if message is None or message["status"] != "queued":
        return None
    return OutgoingMessage(channel=message["channel"], to=message["recipient"], subject=message["subject"],
                           body=message["body"], idempotency_key=message["idempotency_key"])


def _release(runtime: Runtime, recipient_ids: list[int], lease: str) -> None:
    with write_transaction(runtime.engine) as conn:
        conn.execute(sa.update(broadcast_recipients).where(_r.id.in_(recipient_ids), _r.lease == lease)
                     .values(lease=None, next_at=runtime.clock.now()))


def mark(runtime: Runtime, lease: str, outcomes: list[Outcome]) -> None:
    """Record outcomes with their messages and the broadcasts' counts, in one transaction and a few
    set-wise statements (a batch of recorded messages costs the same handful as one)."""
    now = runtime.clock.now()
    ids = [o.recipient_id for o in outcomes]
    with write_transaction(runtime.engine) as conn:
        rows = {r["id"]: r for r in conn.execute(sa.select(broadcast_recipients).where(
            _r.id.in_(ids), _r.lease == lease)).mappings()}  # the others are another runner's now
        finished: dict[str, list[Mapping[Any, Any]]] = {}
        for outcome in outcomes:
            row = rows.get(outcome.recipient_id)
            if row is not None and not _retried(conn, runtime, row, outcome, now):
                finished.setdefault(outcome.status, []).append(row)
                if outcome.error is not None:
                    _note_failure(conn, row, outcome.error, now)
        tally: dict[tuple[str, int], list[int]] = {}  # (workspace, broadcast) -> [sent, failed]
        for status, group in finished.items():
            _finish(conn, status, group, now)
            for closed in group:
                counts = tally.setdefault((closed["workspace"], closed["broadcast_id"]), [0, 0])
                counts[status == "failed"] += 1
        for (workspace, broadcast_id), (sent, failed) in tally.items():
            _count(conn, workspace, broadcast_id, sent, failed, now)


def _retried(conn: Connection, runtime: Runtime, row: Mapping[Any, Any], outcome: Outcome,
             now: datetime) -> bool:
    """Plan the next attempt of a retryable failure (True), unless the attempts are used up."""
    error = outcome.error
    attempts = row["attempts"] + 1
    if error is None or not error.retryable or attempts >= runtime.config.max_attempts:
        return False
    conn.execute(sa.update(broadcast_recipients).where(_r.id == row["id"]).values(
        attempts=attempts, reason=str(error), lease=None, updated_at=now,
        next_at=step_retry_at(now, attempts)))
    return True


def _note_failure(conn: Connection, row: Mapping[Any, Any], error: WorkflowError, now: datetime) -> None:
    conn.execute(sa.update(broadcast_recipients).where(_r.id == row["id"]).values(
        reason=str(error), attempts=row["attempts"] + 1))
    write_log(conn, row["workspace"], None, now, "broadcast message failed",
              {"broadcast": row["broadcast_id"], "record_id": row["record_id"], "error": str(error)})


def _finish(conn: Connection, status: str, rows: list[Mapping[Any, Any]], now: datetime) -> None:
    """Close recipients with their final status, and their queued Message rows with it."""
    conn.execute(sa.update(broadcast_recipients).where(_r.id.in_([r["id"] for r in rows])).values(
        status=status, lease=None, next_at=None, updated_at=now))
    keys = [message_key(r["broadcast_id"], r["record_id"]) for r in rows]
    conn.execute(sa.update(messages).where(_m.workspace.in_({r["workspace"] for r in rows}),
                                           _m.idempotency_key.in_(keys), _m.status == "queued")
                 .values(status=status))


def _count(conn: Connection, workspace: str, broadcast_id: int, sent: int, failed: int,
           now: datetime, skipped: int = 0) -> None:
    """Add to the broadcast's counts (locking its row, so two runners finishing its last messages
    see each other's), and close it when no recipient is left waiting."""
    conn.execute(sa.update(broadcasts).where(_b.id == broadcast_id).values(
        sent=_b.sent + sent, failed=_b.failed + failed, skipped=_b.skipped + skipped, updated_at=now))
    if waiting(conn, broadcast_id):
        return
    done = conn.execute(sa.update(broadcasts).where(_b.id == broadcast_id, _b.status == SENDING)
                        .values(status=DONE, finished_at=now)).rowcount
    if done:
        log_done(conn, workspace, broadcast_id, now)


def waiting(conn: Connection, broadcast_id: int) -> bool:
    """Whether a recipient of the broadcast still waits for delivery (one probe of an index)."""
    return conn.execute(sa.select(_r.id).where(_r.broadcast_id == broadcast_id, _r.status == "queued")
                        .limit(1)).first() is not None


def log_done(conn: Connection, workspace: str, broadcast_id: int, now: datetime) -> None:
    counts = conn.execute(sa.select(_b.entity, _b.recipients, _b.sent, _b.skipped, _b.failed).where(
        _b.id == broadcast_id)).mappings().one()
    write_log(conn, workspace, None, now, "broadcast done", {"broadcast": broadcast_id, **counts})
