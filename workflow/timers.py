"""Timers of triggers: ``stays in stage for D``, ``D before/after E.date``, schedules.

A timer is a row with ``fire_at`` and a ``key`` naming what it is for, so re-planning replaces it
(the key is unique), a stage change or a deleted record removes it, and firing re-checks that
what it was planned for still holds (the record is still in that stay; the date still gives that
moment) — a timer that lost a race with a change never fires wrongly.  Due timers are claimed like
instances (``SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), and fire in the same
transaction that starts their instances and removes or re-plans them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import dsl
from metamodel.db import write_transaction
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import find_workspace_meta
from metamodel.storage.system_tables import wf_timers, workspaces
from workflow import instances as rows
from workflow.conditions import holds, too_deep
from workflow.plans import WorkspacePlan, current_plan
from workflow.runtime import Runtime
from workflow.schedule import next_occurrence
from workflow.views import Loader, RecordView

if TYPE_CHECKING:
    from workflow.consumer import Event

_t = wf_timers.c
_SYNCED: set[tuple[str, str, int]] = set()


def cancel_record(conn: Connection, workspace: str, entity: str, record_id: int) -> None:
    conn.execute(sa.delete(wf_timers).where(
        _t.workspace == workspace, _t.entity == entity, _t.record_id == record_id))


def on_record_event(conn: Connection, runtime: Runtime, plan: WorkspacePlan, event: Event,
                    now: datetime, depth: int = 0) -> None:
    """Plan or re-plan the stay and date timers an event concerns.

    ``depth`` is the chain depth of the write (0 for people): the run a timer fires starts at it, so
    a loop through a timer ("stays in new → move to doing", "entered doing → move to new") meets
    the depth limit like any other loop."""
    if event.kind == "deleted":
        return
    stays = plan.matching(event.entity, "stays_in_stage")
    dates = plan.matching(event.entity, "date")
    if not stays and not dates:
        return
    record = _record(conn, runtime, event.workspace, event.entity, event.record_id)
    if record is None:
        return
    if event.stage is not None and stays:
        _plan_stays(conn, event, stays, record, now, depth)
    for automation in dates:
        field = automation.trigger.date_field or ""
        if event.kind != "updated" or field in event.changes:
            _plan_date(conn, event.workspace, event.entity, automation, record, now, depth)


def _record(conn: Connection, runtime: Runtime, workspace: str, entity: str,
            record_id: int) -> Mapping[str, Any] | None:
    meta = find_workspace_meta(conn, workspace)
    if meta is None:
        return None
    return Loader(conn, RecordStore(runtime.engine, meta, runtime.clock)).view(entity, record_id)


def _upsert(conn: Connection, workspace: str, key: str, values: dict[str, Any]) -> None:
    conn.execute(sa.delete(wf_timers).where(_t.workspace == workspace, _t.key == key))
    conn.execute(sa.insert(wf_timers).values(workspace=workspace, key=key, **values))


def _plan_stays(conn: Connection, event: Event, stays: tuple[dsl.AutomationPlan, ...],
                record: Mapping[str, Any], now: datetime, depth: int) -> None:
    conn.execute(sa.delete(wf_timers).where(
        _t.workspace == event.workspace, _t.entity == event.entity, _t.record_id == event.record_id,
        _t.kind == "stay"))
    entered = record.get("stage_entered_at")
    for automation in stays:
        trigger = automation.trigger
        if record.get("stage") != trigger.stage or not isinstance(entered, datetime):
            continue
        if trigger.pipeline not in (None, record.get("pipeline")):
            continue
        _upsert(conn, event.workspace, f"stay:{automation.name}:{event.record_id}", {
            "automation": automation.name, "kind": "stay", "entity": event.entity,
            "record_id": event.record_id, "created_at": now,
            "fire_at": entered + timedelta(seconds=trigger.duration_seconds or 0),
            "data": {"stage": trigger.stage, "entered_at": entered.isoformat(), "depth": depth,
                     "trigger": signature(automation)}})


def signature(automation: dsl.AutomationPlan) -> str:
    """What a stay or date timer was planned from: when it differs, a new apply re-plans it."""
    t = automation.trigger
    return f"{t.kind}:{t.stage}:{t.pipeline}:{t.duration_seconds}:{t.direction}:{t.date_field}"


def date_fire_at(automation: dsl.AutomationPlan, value: Any) -> datetime | None:
    """When a date trigger fires for a date value (a date counts from its midnight, UTC)."""
    trigger = automation.trigger
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0), tzinfo=UTC)
    else:
        return None
    shift = timedelta(seconds=trigger.duration_seconds or 0)
    return moment - shift if trigger.direction == "before" else moment + shift


def _plan_date(conn: Connection, workspace: str, entity: str, automation: dsl.AutomationPlan,
               record: Mapping[str, Any], now: datetime, depth: int = 0) -> None:
    record_id = record["id"]
    key = f"date:{automation.name}:{record_id}"
    fire_at = date_fire_at(automation, record.get(automation.trigger.date_field or ""))
    if fire_at is None or fire_at <= now:
        conn.execute(sa.delete(wf_timers).where(_t.workspace == workspace, _t.key == key))
        return
    _upsert(conn, workspace, key, {"automation": automation.name, "kind": "date", "entity": entity,
                                   "record_id": record_id, "fire_at": fire_at, "created_at": now,
                                   "data": {"fire_at": fire_at.isoformat(), "depth": depth,
                                            "trigger": signature(automation)}})


def fire_due_timers(runtime: Runtime, limit: int = 200) -> int:
    """Fire up to ``limit`` due timers; returns how many fired (or were dropped as stale)."""
    now = runtime.clock.now()
    with write_transaction(runtime.engine) as conn:
        query = sa.select(wf_timers).where(_t.fire_at <= now)
        if runtime.workspace is not None:
            query = query.where(_t.workspace == runtime.workspace)
        query = query.order_by(_t.fire_at).limit(limit).with_for_update(skip_locked=True)
        due = conn.execute(query).mappings().all()
        for timer in due:
            _fire(conn, runtime, timer, now)
    return len(due)


def _fire(conn: Connection, runtime: Runtime, timer: Mapping[Any, Any], now: datetime) -> None:
    plan = current_plan(conn, timer["workspace"])
    automation = plan.plan.find_automation(timer["automation"]) if plan else None
    if plan is None or automation is None:
        conn.execute(sa.delete(wf_timers).where(_t.id == timer["id"]))
        return
    if timer["kind"] == "schedule":
        _fire_schedule(conn, runtime, plan, automation, timer, now)
        return
    conn.execute(sa.delete(wf_timers).where(_t.id == timer["id"]))
    record = _record(conn, runtime, timer["workspace"], timer["entity"], timer["record_id"])
    if record is None or record.get("deleted_at") is not None or not _still_due(automation, timer, record):
        return
    _start(conn, plan, automation, record, now, {"timer": timer["key"]}, int(timer["data"].get("depth", 0)))


def _still_due(automation: dsl.AutomationPlan, timer: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    data = timer["data"] or {}
    if timer["kind"] == "stay":
        entered = record.get("stage_entered_at")
        return record.get("stage") == data.get("stage") and isinstance(entered, datetime) \
            and entered.isoformat() == data.get("entered_at")
    fire_at = date_fire_at(automation, record.get(automation.trigger.date_field or ""))
    return fire_at is not None and fire_at.isoformat() == data.get("fire_at")


def _start(conn: Connection, plan: WorkspacePlan, automation: dsl.AutomationPlan,
           record: Mapping[str, Any], now: datetime, context: dict[str, Any], depth: int = 0) -> bool:
    record_id = record.get("id")
    if not holds(conn, plan.workspace, automation, dsl.EvalContext(now=now, record=record), record_id):
        return False
    if too_deep(conn, plan.workspace, now, f'automation "{automation.name}"', depth, automation.subject,
                record_id):
        return False
    rows.start(conn, rows.Start(workspace=plan.workspace, kind="automation", name=automation.name,
                                plan_version=plan.version, entity=automation.subject,
                                record_id=record_id, context=context, depth=depth), now)
    return True


def _fire_schedule(conn: Connection, runtime: Runtime, plan: WorkspacePlan, automation: dsl.AutomationPlan,
                   timer: Mapping[str, Any], now: datetime) -> None:
    """One run per matching record at this occurrence, then the next occurrence."""
    meta = find_workspace_meta(conn, plan.workspace)
    assert meta is not None and automation.subject is not None and automation.trigger.schedule
    loader = Loader(conn, RecordStore(runtime.engine, meta, runtime.clock))
    fired_at = timer["fire_at"]
    after: str | None = None
    while True:
        page = loader.store.list(automation.subject, first=500, after=after, conn=conn)
        for values in page.records:
            record = RecordView(loader, automation.subject, values)
            _start(conn, plan, automation, record, now, {"occurrence": fired_at.isoformat()})
        if not page.has_next_page:
            break
        after = page.end_cursor
    conn.execute(sa.update(wf_timers).where(_t.id == timer["id"]).values(
        fire_at=next_occurrence(automation.trigger.schedule, max(now, fired_at))))


def sync_workspaces(runtime: Runtime) -> None:
    """Once per workspace version: schedule timers for its schedules, drop those of removed ones."""
    with runtime.engine.connect() as conn:
        query = sa.select(workspaces.c.name, workspaces.c.metadata_version)
        if runtime.workspace is not None:
            query = query.where(workspaces.c.name == runtime.workspace)
        names = list(conn.execute(query))
    url = runtime.engine.url.render_as_string(hide_password=True)
    for name, version in names:
        if (url, name, version) in _SYNCED:
            continue
        with write_transaction(runtime.engine) as conn:
            plan = current_plan(conn, name)
            if plan is not None:
                _sync_schedules(conn, plan, runtime.clock.now())
                _backfill(conn, runtime, plan, runtime.clock.now())
        _SYNCED.add((url, name, version))


def _sync_schedules(conn: Connection, plan: WorkspacePlan, now: datetime) -> None:
    wanted = {a.name: a for a in plan.plan.automations if a.trigger.kind == "schedule"}
    existing = {r.automation: r for r in conn.execute(sa.select(wf_timers).where(
        _t.workspace == plan.workspace, _t.kind == "schedule"))}
    for name in set(existing) - set(wanted):
        conn.execute(sa.delete(wf_timers).where(_t.id == existing[name].id))
    for name, automation in wanted.items():
        schedule = automation.trigger.schedule
        assert schedule is not None
        data = {"schedule": [list(schedule.days), schedule.time, schedule.tz]}
        if name in existing and existing[name].data == data:
            continue
        _upsert(conn, plan.workspace, f"schedule:{name}", {
            "automation": name, "kind": "schedule", "entity": automation.subject, "record_id": None,
            "fire_at": next_occurrence(schedule, now), "created_at": now, "data": data})


def _backfill(conn: Connection, runtime: Runtime, plan: WorkspacePlan, now: datetime) -> None:
    """Plan the date and stay timers of records that existed before their automation did.

    A blueprint that adds "30 days before Contract.ends_on" means every contract, not only those
    changed after the apply; a timer planned from another trigger (the apply changed 30 days to 10)
    is planned again; timers planned from this very trigger are left as they are.
    """
    kinds = ("date", "stays_in_stage")
    wanted = [a for a in plan.plan.automations if a.trigger.kind in kinds and a.subject]
    if not wanted:
        return
    query = sa.select(_t.key, _t.data).where(_t.workspace == plan.workspace, _t.kind.in_(("date", "stay")))
    planned = {key: (data or {}).get("trigger") for key, data in conn.execute(query)}
    meta = find_workspace_meta(conn, plan.workspace)
    assert meta is not None
    store = RecordStore(runtime.engine, meta, runtime.clock)
    for automation in wanted:
        prefix = "date" if automation.trigger.kind == "date" else "stay"
        after: str | None = None
        while True:
            page = store.list(automation.subject or "", first=500, after=after, conn=conn)
            for record in page.records:
                if planned.get(f"{prefix}:{automation.name}:{record['id']}") != signature(automation):
                    _plan_one(conn, plan.workspace, automation, record, now)
            if not page.has_next_page:
                break
            after = page.end_cursor


def _plan_one(conn: Connection, workspace: str, automation: dsl.AutomationPlan, record: Mapping[str, Any],
              now: datetime) -> None:
    entity = automation.subject or ""
    if automation.trigger.kind == "date":
        _plan_date(conn, workspace, entity, automation, record, now)
        return
    trigger, entered = automation.trigger, record.get("stage_entered_at")
    if record.get("stage") != trigger.stage or not isinstance(entered, datetime):
        return
    fire_at = entered + timedelta(seconds=trigger.duration_seconds or 0)
    key = f"stay:{automation.name}:{record['id']}"
    if fire_at <= now or trigger.pipeline not in (None, record.get("pipeline")):
        conn.execute(sa.delete(wf_timers).where(_t.workspace == workspace, _t.key == key))
        return
    _upsert(conn, workspace, key, {
        "automation": automation.name, "kind": "stay", "entity": entity, "record_id": record["id"],
        "created_at": now, "fire_at": fire_at,
        "data": {"stage": trigger.stage, "entered_at": entered.isoformat(),
                 "trigger": signature(automation)}})
