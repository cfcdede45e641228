"""A workspace driven by hand on a virtual clock: the simulator's engine, and the tests' harness.

DESIGN.md decision 8: a consultant tests "3 days later" in a second.  Every scenario step changes
records (or submits a form, a webhook, a task) through the same functions the API uses, then the
engine is drained; ``advance`` moves the clock from one due moment to the next — each wait, timer,
retry and reminder fires at its own virtual time, in order — so the timeline reads as it would
happen for real.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dsl.values import render_duration
from metamodel.clock import ManualClock
from metamodel.definitions import FieldType
from metamodel.errors import NotFound
from metamodel.records.actor import Actor
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import (
    messages,
    notifications,
    tasks,
    users,
    wf_instances,
    wf_log,
    wf_timers,
)
from workflow import entry
from workflow.drain import drain
from workflow.errors import WorkflowError
from workflow.runtime import Runtime, WorkflowConfig

SCENARIO_ACTOR = Actor(email="scenario")
_MAX_MOMENTS = 100_000  # due moments one ``advance`` may visit (ten years of hourly reminders fit)


class Simulation:
    """One workspace on one database, its clock under the caller's hand."""

    def __init__(self, engine: Engine, workspace: str, start: datetime,
                 config: WorkflowConfig | None = None) -> None:
        self.workspace = workspace
        self.clock = ManualClock(start)
        self.runtime = Runtime(engine, self.clock, config or WorkflowConfig(), worker="simulation",
                               workspace=workspace)
        self.aliases: dict[str, tuple[str, int]] = {}
        self.timeline: list[dict[str, Any]] = []
        self._log_seen = 0

    # ---- records ---------------------------------------------------------------------------
    def store(self) -> RecordStore:
        return RecordStore(self.runtime.engine, load_workspace_meta(self.runtime.engine, self.workspace),
                           self.clock)

    def resolve(self, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Aliases of records in reference fields (``contact: ann``) as their ids."""
        ent = load_workspace_meta(self.runtime.engine, self.workspace).blueprint.find_entity(entity)
        links = {f.name for f in ent.fields if f.type is FieldType.REFERENCE} if ent else set()
        people = {"owner"} | ({f.name for f in ent.fields if f.type is FieldType.USER} if ent else set())
        emails = {email.lower(): uid for uid, email in self.emails().items()}
        resolved = dict(values)
        for name, value in values.items():
            alias = getattr(value, "name", value)
            if name in links and isinstance(alias, str):
                resolved[name] = self._alias(alias)[1]
            elif name in people and isinstance(value, str) and value.lower() in emails:
                resolved[name] = emails[value.lower()]
        return resolved

    def create(self, entity: str, values: Mapping[str, Any], alias: str | None = None) -> dict[str, Any]:
        record = self.store().create(entity, self.resolve(entity, values), actor=SCENARIO_ACTOR)
        if alias:
            self.aliases[alias] = (entity, record["id"])
        self._note("record created", entity=entity, record_id=record["id"], alias=alias)
        self.settle()
        return record

    def update(self, alias: str, values: Mapping[str, Any]) -> dict[str, Any]:
        entity, record_id = self._alias(alias)
        record = self.store().update(entity, record_id, self.resolve(entity, values), actor=SCENARIO_ACTOR)
        self._note("record updated", entity=entity, record_id=record_id, alias=alias, values=dict(values))
        self.settle()
        return record

    def move(self, alias: str, stage: str, pipeline: str | None = None) -> dict[str, Any]:
        values: dict[str, Any] = {"stage": stage} | ({"pipeline": pipeline} if pipeline else {})
        entity, record_id = self._alias(alias)
        record = self.store().update(entity, record_id, values, actor=SCENARIO_ACTOR)
        self._note("stage changed", entity=entity, record_id=record_id, alias=alias, stage=stage)
        self.settle()
        return record

    def delete(self, alias: str) -> None:
        entity, record_id = self._alias(alias)
        self.store().delete(entity, record_id, actor=SCENARIO_ACTOR)
        self._note("record deleted", entity=entity, record_id=record_id, alias=alias)
        self.settle()

    def get(self, alias: str) -> dict[str, Any]:
        entity, record_id = self._alias(alias)
        return self.store().get(entity, record_id, include_deleted=True)

    def _alias(self, alias: str) -> tuple[str, int]:
        if alias not in self.aliases:
            known = ", ".join(sorted(self.aliases)) or "none yet"
            raise NotFound(f'no record is called "{alias}" in this scenario (known: {known})')
        return self.aliases[alias]

    # ---- other ways in ----------------------------------------------------------------------
    def submit(self, form: str, values: Mapping[str, Any]) -> dict[str, Any]:
        record = entry.submit_form(self.runtime, self.workspace, form, values)
        self._note("form submitted", form=form, record_id=record["id"])
        self.settle()
        return record

    def webhook(self, name: str, payload: Mapping[str, Any]) -> None:
        entry.fire_inbound(self.runtime, self.workspace, "webhook", name, payload)
        self._note("webhook received", webhook=name)
        self.settle()

    def run(self, automation: str, alias: str) -> None:
        entity, record_id = self._alias(alias)
        entry.run_manual(self.runtime, self.workspace, automation, entity, record_id)
        self._note("manual run", automation=automation, record_id=record_id)
        self.settle()

    def complete_task(self, title: str, outcome: str | None = None) -> None:
        task = self._open_task(title)
        entry.complete_task(self.runtime, self.workspace, task["id"], outcome)
        self._note("task done" if outcome is None else "approval decided", title=task["title"],
                   outcome=outcome)
        self.settle()

    def _open_task(self, title: str) -> Mapping[str, Any]:
        for task in self.tasks():
            if task["status"] == "open" and title.lower() in task["title"].lower():
                return task
        open_titles = ", ".join(f'"{t["title"]}"' for t in self.tasks() if t["status"] == "open") or "none"
        raise NotFound(f'no open task has "{title}" in its title (open tasks: {open_titles})')

    # ---- time -------------------------------------------------------------------------------
    def settle(self) -> None:
        drain(self.runtime)
        self._collect_log()

    def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta``, stopping at every due moment on the way."""
        target = self.clock.now() + delta
        self.settle()  # whatever is due now (an apply since the last step plans timers) comes first
        for _ in range(_MAX_MOMENTS):
            due = self._next_due()
            if due is None or due > target:
                break
            self.clock.set(max(due, self.clock.now()))
            self.settle()
        else:
            raise WorkflowError(f"the simulation does not settle: more than {_MAX_MOMENTS} due moments "
                                f"before {target.isoformat()}", code="WF_NOT_SETTLING",
                                hint="an automation keeps re-planning itself: read the timeline's last lines")
        self.clock.set(target)
        self._note("time advanced", by=render_duration(delta))
        self.settle()

    def _next_due(self) -> datetime | None:
        with self.runtime.engine.connect() as conn:
            moments = [conn.execute(sa.select(sa.func.min(wf_instances.c.wake_at)).where(
                wf_instances.c.workspace == self.workspace)).scalar(),
                conn.execute(sa.select(sa.func.min(wf_timers.c.fire_at)).where(
                    wf_timers.c.workspace == self.workspace)).scalar()]
        found = [_aware(m) for m in moments if m is not None]
        return min(found) if found else None

    # ---- what happened ----------------------------------------------------------------------
    def _note(self, kind: str, **detail: Any) -> None:
        self._collect_log()
        self.timeline.append({"at": self.clock.now().isoformat(), "kind": kind,
                              **{k: v for k, v in detail.items() if v is not None}})

    def _collect_log(self) -> None:
        with self.runtime.engine.connect() as conn:
            log = wf_log.c
            query = sa.select(wf_log).where(log.workspace == self.workspace, log.id > self._log_seen)
            found = conn.execute(query.order_by(log.id)).all()
        for row in found:
            self._log_seen = row.id
            self.timeline.append({**row.detail, "at": _aware(row.at).isoformat(), "kind": row.kind,
                                  "run": row.instance_id})

    def _rows(self, table: sa.Table) -> list[dict[str, Any]]:
        with self.runtime.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(table).where(
                table.c.workspace == self.workspace).order_by(table.c.id)).mappings()]

    def messages(self) -> list[dict[str, Any]]:
        return self._rows(messages)

    def tasks(self) -> list[dict[str, Any]]:
        return self._rows(tasks)

    def notifications(self) -> list[dict[str, Any]]:
        return self._rows(notifications)

    def instances(self) -> list[dict[str, Any]]:
        return self._rows(wf_instances)

    def emails(self) -> dict[int, str]:
        return {r["id"]: r["email"] for r in self._rows(users)}


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
