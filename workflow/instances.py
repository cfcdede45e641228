"""Instance rows: start, claim, load, save and log — the durable state of every run.

A run's whole state is its row (DESIGN.md decision 4): the plan version, ``pc``, the bound
variables, the trigger context, what it waits for and ``wake_at``.  Runners find work only through
``wake_at <= now`` on a partial index, so the cost of claiming grows with the due rows, not with
how many instances wait.  A claim writes a lease token and pushes ``wake_at`` to the lease's end:
while a runner works it keeps pushing (each step saves the row); if it dies, the row becomes due
again when the lease runs out and another runner rescues it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from metamodel.db import write_transaction
from metamodel.storage.system_tables import wf_instances, wf_log

LEASE = timedelta(seconds=60)  # the default; runners pass their configured lease
RUNNING, WAITING, DONE, FAILED, CANCELLED = "running", "waiting", "done", "failed", "cancelled"
LIVE = (RUNNING, WAITING)
_c = wf_instances.c


@dataclass
class Instance:
    """One run, as loaded for a step; the interpreter changes it and :func:`save` writes it back."""

    id: int
    workspace: str
    kind: str
    name: str
    plan_version: int
    entity: str | None
    record_id: int | None
    status: str
    pc: int
    vars: dict[str, Any]
    context: dict[str, Any]
    wait: dict[str, Any] | None
    wake_at: datetime | None
    lease: str | None
    attempts: int
    error: str | None
    depth: int
    parent_id: int | None
    created_at: datetime
    finished_at: datetime | None = None
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def note(self, what: str, /, **detail: Any) -> None:
        """Add a line to the run log (written with the next save)."""
        self.log.append((what, detail))


@dataclass(frozen=True)
class Start:
    """What a new instance is made of."""

    workspace: str
    kind: str  # automation | process
    name: str
    plan_version: int
    entity: str | None
    record_id: int | None
    context: dict[str, Any]
    depth: int = 0
    parent_id: int | None = None


def start(conn: Connection, what: Start, now: datetime) -> int:
    """Insert a runnable instance (due now) and log its start; returns its id."""
    new_id = conn.execute(sa.insert(wf_instances).values(
        workspace=what.workspace, kind=what.kind, name=what.name, plan_version=what.plan_version,
        entity=what.entity, record_id=what.record_id, status=RUNNING, pc=0, vars={},
        context=what.context, wake_at=now, attempts=0, depth=what.depth, parent_id=what.parent_id,
        created_at=now, updated_at=now).returning(_c.id)).scalar_one()
    write_log(conn, what.workspace, new_id, now, "started",
              {"type": what.kind, "name": what.name, "entity": what.entity, "record_id": what.record_id})
    return int(new_id)


def claim_due(engine: Engine, now: datetime, limit: int = 100, lease_for: timedelta = LEASE,
              workspace: str | None = None) -> list[tuple[int, str]]:
    """Claim up to ``limit`` due instances: ``(id, lease)`` pairs only this caller now holds.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so concurrent runners take disjoint rows.  SQLite drops
    SKIP LOCKED silently; there the claim runs under ``BEGIN IMMEDIATE`` (one claimer at a time).
    """
    lease = uuid.uuid4().hex
    with write_transaction(engine) as conn:
        due = sa.select(_c.id).where(_c.wake_at <= now)
        if workspace is not None:
            due = due.where(_c.workspace == workspace)
        due = due.order_by(_c.wake_at).limit(limit).with_for_update(skip_locked=True)
        ids = [row[0] for row in conn.execute(due)]
        if ids:
            conn.execute(sa.update(wf_instances).where(_c.id.in_(ids))
                         .values(wake_at=now + lease_for, lease=lease))
    return [(i, lease) for i in ids]


def load(conn: Connection, instance_id: int, *, lock: bool = True) -> Instance | None:
    query = sa.select(wf_instances).where(_c.id == instance_id)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        return None
    values = {k: row[k] for k in Instance.__dataclass_fields__ if k in row and k != "log"}
    return Instance(**values)


def save(conn: Connection, inst: Instance, now: datetime) -> None:
    conn.execute(sa.update(wf_instances).where(_c.id == inst.id).values(
        status=inst.status, pc=inst.pc, vars=inst.vars, context=inst.context, wait=inst.wait,
        wait_kind=(inst.wait or {}).get("kind"),
        wake_at=inst.wake_at, lease=inst.lease, attempts=inst.attempts, error=inst.error,
        updated_at=now, finished_at=inst.finished_at))
    for kind, detail in inst.log:
        write_log(conn, inst.workspace, inst.id, now, kind, {"name": inst.name, **detail})
    inst.log.clear()


def write_log(conn: Connection, workspace: str, instance_id: int | None, at: datetime, kind: str,
              detail: dict[str, Any]) -> None:
    conn.execute(sa.insert(wf_log).values(workspace=workspace, instance_id=instance_id, at=at,
                                          kind=kind, detail=detail))


def nudge_record(conn: Connection, workspace: str, entity: str, record_id: int, now: datetime) -> None:
    """Make the record's runs waiting in a ``wait until`` due now, so their condition is checked again.

    The update also names the record's *running* runs: one of them may be inside a step that is
    about to start waiting on a condition it read before this change.  On PostgreSQL the update
    then waits for that step's row lock and re-evaluates the row as the step committed it (a
    ``wait until`` now), so the wake-up is not lost; rows still running keep their ``wake_at``.
    """
    until = sa.and_(_c.status == WAITING, _c.wait_kind == "until")
    conn.execute(sa.update(wf_instances).where(
        _c.workspace == workspace, _c.entity == entity, _c.record_id == record_id,
        sa.or_(_c.status == RUNNING, until),
    ).values(wake_at=sa.case((until, now), else_=_c.wake_at)))


def cancel_record(conn: Connection, workspace: str, entity: str, record_id: int, now: datetime) -> int:
    """Cancel the live instances of a deleted record; returns how many."""
    found = conn.execute(sa.select(_c.id).where(
        _c.workspace == workspace, _c.entity == entity, _c.record_id == record_id,
        _c.status.in_(LIVE))).scalars().all()
    if found:
        conn.execute(sa.update(wf_instances).where(_c.id.in_(found)).values(
            status=CANCELLED, wake_at=None, lease=None, finished_at=now, updated_at=now))
        for instance_id in found:
            write_log(conn, workspace, instance_id, now, "cancelled", {"reason": "the record was deleted"})
    return len(found)
