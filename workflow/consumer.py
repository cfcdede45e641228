"""The outbox consumer: every committed record change becomes its trigger matches, exactly once.

Why exactly once: the outbox rows are claimed, matched and marked processed in ONE transaction
with the instances and timers they start — a crash rolls all of it back and the rows are consumed
again; a commit makes them processed with their instances.  On PostgreSQL concurrent consumers
take disjoint rows (``FOR UPDATE SKIP LOCKED``); on SQLite one consumer runs at a time under
``BEGIN IMMEDIATE``.  Matching looks up only the trigger-index keys an event can match.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import dsl
from metamodel.db import write_transaction
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import find_workspace_meta
from metamodel.storage.system_tables import outbox, wf_instances
from workflow import instances as rows
from workflow import timers
from workflow.conditions import holds, too_deep
from workflow.plans import WorkspacePlan, current_plan
from workflow.runtime import Runtime
from workflow.views import Loader, as_of

_o = outbox.c
log = logging.getLogger("stagecraft.workflow")
_REPORTED: set[int] = set()  # events whose failure was logged already


@dataclass(frozen=True)
class Event:
    """One outbox row, decoded."""

    id: int
    workspace: str
    entity: str
    record_id: int
    kind: str  # created | updated | deleted | restored
    changes: Mapping[str, list[Any]]
    stage: Mapping[str, Any] | None
    actor: str
    at: datetime

    @classmethod
    def of(cls, row: Any) -> Event:
        payload = row.payload or {}
        return cls(row.id, row.workspace, row.entity, row.record_id, row.kind, payload.get("changes", {}),
                   payload.get("stage"), payload.get("actor", ""), row.created_at)


def consume_outbox(runtime: Runtime, limit: int = 500) -> int:
    """Consume up to ``limit`` pending outbox events; returns how many were processed.

    Each event is handled in a SAVEPOINT: one that fails (a bug, a unique race between two
    consumers re-planning one timer) is left pending for the next round and logged, and does not
    hold back the others.
    """
    with write_transaction(runtime.engine) as conn:
        claim = sa.select(outbox).where(_o.processed_at.is_(None))
        if runtime.workspace is not None:
            claim = claim.where(_o.workspace == runtime.workspace)
        claim = claim.order_by(_o.id).limit(limit).with_for_update(skip_locked=True)
        events = [Event.of(row) for row in conn.execute(claim)]
        if not events:
            return 0
        now = runtime.clock.now()
        plans: dict[str, WorkspacePlan | None] = {}  # one version lookup per workspace per batch
        done = []
        for event in events:
            if event.workspace not in plans:
                plans[event.workspace] = current_plan(conn, event.workspace)
            try:
                with conn.begin_nested():
                    handle_event(conn, runtime, event, now, plans[event.workspace])
            except Exception:
                if event.id not in _REPORTED:  # once per process, not at every tick
                    _REPORTED.add(event.id)
                    log.exception("outbox event %s could not be handled; it stays pending", event.id)
                continue
            done.append(event.id)
        if done:
            conn.execute(sa.update(outbox).where(_o.id.in_(done)).values(processed_at=now))
    return len(done)


def handle_event(conn: Connection, runtime: Runtime, event: Event, now: datetime,
                 plan: WorkspacePlan | None) -> None:
    """Start the automations ``event`` triggers, (re)plan its timers, wake what waits on its record."""
    if plan is None:
        return
    if event.kind == "deleted":
        timers.cancel_record(conn, event.workspace, event.entity, event.record_id)
        rows.cancel_record(conn, event.workspace, event.entity, event.record_id, now)
    elif event.kind == "updated":
        rows.nudge_record(conn, event.workspace, event.entity, event.record_id, now)
    candidates = _candidates(plan, event)
    depth = chain_depth(conn, event.actor) if candidates or event.kind != "deleted" else 0
    timers.on_record_event(conn, runtime, plan, event, now, depth)
    if candidates:
        _start_matching(conn, runtime, plan, event, candidates, now, depth)


def _candidates(plan: WorkspacePlan, event: Event) -> list[dsl.AutomationPlan]:
    """The automations whose trigger this event can fire, by index key (no scan of the rest)."""
    entity, found = event.entity, list[dsl.AutomationPlan]()
    if event.kind in ("created", "updated", "deleted"):
        found += plan.matching(entity, event.kind)
    if event.kind == "updated" and event.changes:
        found += [a for a in plan.matching(entity, "changed") if set(a.trigger.fields) & set(event.changes)]
    stage = event.stage
    if stage is not None:
        found += [a for a in plan.matching(entity, "left_stage") if _stage_is(a, stage, "from")]
        found += [a for a in plan.matching(entity, "entered_stage") if _stage_is(a, stage, "to")]
    return found


def _stage_is(automation: dsl.AutomationPlan, stage: Mapping[str, Any], side: str) -> bool:
    trigger = automation.trigger
    pipeline = stage.get("from_pipeline", stage.get("pipeline")) if side == "from" else stage.get("pipeline")
    return stage.get(side) == trigger.stage and (trigger.pipeline in (None, pipeline))


def _start_matching(conn: Connection, runtime: Runtime, plan: WorkspacePlan, event: Event,
                    candidates: list[dsl.AutomationPlan], now: datetime, depth: int) -> None:
    meta = find_workspace_meta(conn, event.workspace)
    assert meta is not None
    loader = Loader(conn, RecordStore(runtime.engine, meta, runtime.clock))
    current = loader.view(event.entity, event.record_id)
    record = as_of(loader, event.entity, current, event.changes, event.stage, after=True)
    old = as_of(loader, event.entity, current, event.changes, event.stage, after=False) \
        if event.kind == "updated" else None
    context = {"changes": dict(event.changes), "changed": sorted(event.changes), "event": event.id}
    for automation in candidates:
        ctx = dsl.EvalContext(now=now, record=record, old=old, changed=frozenset(event.changes))
        if not holds(conn, event.workspace, automation, ctx, event.record_id):
            continue
        if too_deep(conn, event.workspace, now, f'automation "{automation.name}"', depth, event.entity,
                    event.record_id):
            continue
        rows.start(conn, rows.Start(
            workspace=event.workspace, kind="automation", name=automation.name, plan_version=plan.version,
            entity=event.entity, record_id=event.record_id, context=context if event.kind == "updated" else
            {"event": event.id}, depth=depth), now)


def chain_depth(conn: Connection, actor: str) -> int:
    """How deep in a chain of automations a write is: 0 for people, the run's depth + 1 for runs."""
    kind, _, rest = actor.partition(":")
    if kind not in ("automation", "process") or "#" not in rest:
        return 0
    run_id = rest.rpartition("#")[2]
    if not run_id.isdigit():
        return 0
    depth = conn.execute(sa.select(wf_instances.c.depth).where(wf_instances.c.id == int(run_id))).scalar()
    return 0 if depth is None else int(depth) + 1
