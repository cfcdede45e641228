"""Ways into the engine besides record changes: manual runs, forms, webhooks, tasks and approvals.

The surfaces (GraphQL, REST, the simulator, the CLI) call these; each runs in its own transaction
and only writes rows — the runners do the work — so a caller never waits for an automation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

import dsl
from metamodel.db import write_transaction
from metamodel.errors import NotFound
from metamodel.storage.system_tables import tasks, wf_effects, wf_instances
from workflow import instances as rows
from workflow.conditions import holds
from workflow.errors import WorkflowError
from workflow.plans import WorkspacePlan, current_plan
from workflow.runtime import Runtime

_t = tasks.c


def _plan(conn: Any, workspace: str) -> WorkspacePlan:
    plan = current_plan(conn, workspace)
    if plan is None:
        raise NotFound(f'there is no workspace "{workspace}"')
    return plan


def run_manual(runtime: Runtime, workspace: str, automation: str, entity: str, record_id: int) -> int:
    """Start a ``manual for E`` automation on a record (the UI button, ``runAutomation``)."""
    with write_transaction(runtime.engine) as conn:
        plan = _plan(conn, workspace)
        found = plan.plan.find_automation(automation)
        if found is None or found.trigger.kind != "manual":
            names = ", ".join(a.name for a in plan.plan.automations if a.trigger.kind == "manual") or "none"
            raise WorkflowError(f'there is no manual automation "{automation}" (manual ones: {names})',
                                code="WF_UNKNOWN_AUTOMATION")
        if found.trigger.entity != entity:
            raise WorkflowError(f'"{automation}" runs on {found.trigger.entity}, not {entity}',
                                code="WF_WRONG_ENTITY")
        return rows.start(conn, rows.Start(workspace=workspace, kind="automation", name=automation,
                                           plan_version=plan.version, entity=entity, record_id=record_id,
                                           context={"manual": True}), runtime.clock.now())


def start_process(runtime: Runtime, workspace: str, process: str, entity: str, record_id: int) -> int:
    """Start a business process on a record by hand."""
    with write_transaction(runtime.engine) as conn:
        plan = _plan(conn, workspace)
        found = plan.plan.find_process(process)
        if found is None or found.entity != entity:
            raise WorkflowError(f'there is no process "{process}" for {entity}', code="WF_UNKNOWN_PROCESS")
        return rows.start(conn, rows.Start(workspace=workspace, kind="process", name=process,
                                           plan_version=plan.version, entity=entity, record_id=record_id,
                                           context={}), runtime.clock.now())


def fire_inbound(runtime: Runtime, workspace: str, kind: str, name: str,
                 data: Mapping[str, Any], *, event_id: str | None = None) -> list[int] | None:
    """Start the ``form NAME submitted`` (kind "form") or ``webhook NAME received`` automations.

    ``event_id``: the sender's id of this event; an event received before (a retry, a replay) starts
    nothing again and answers None.  The id is kept in the effects log, in the same transaction as
    the runs it started, so "received" and "started" cannot part.
    """
    with write_transaction(runtime.engine) as conn:
        if event_id is not None and not _first_receipt(conn, runtime, workspace, f"{kind}:{name}:{event_id}"):
            return None
        return _start_inbound(conn, runtime, workspace, kind, name, data, None)


def _first_receipt(conn: Any, runtime: Runtime, workspace: str, key: str) -> bool:
    _plan(conn, workspace)  # an unknown workspace is NotFound, not a receipt
    try:
        with conn.begin_nested():
            conn.execute(sa.insert(wf_effects).values(
                workspace=workspace, key=f"receipt:{key}"[:300], instance_id=0, status="done",
                created_at=runtime.clock.now()))
    except IntegrityError:
        return False
    return True


def complete_task(runtime: Runtime, workspace: str, task_id: int, outcome: str | None = None) -> None:
    """Mark a task done (an approval: decided with ``outcome``) and wake the run waiting for it."""
    with write_transaction(runtime.engine) as conn:
        task = conn.execute(sa.select(tasks).where(_t.workspace == workspace, _t.id == task_id)
                            .with_for_update()).mappings().first()
        if task is None:
            raise NotFound(f"there is no task {task_id}")
        if task["status"] != "open":
            raise WorkflowError(f'task {task_id} is already {task["status"]}', code="WF_TASK_CLOSED")
        if task["kind"] == "approval":
            options = list(task["options"] or [])
            if outcome not in options:
                raise WorkflowError(f'"{outcome}" is not an option of this approval; choose one of: '
                                    f'{", ".join(options)}', code="WF_BAD_OPTION")
        now = runtime.clock.now()
        conn.execute(sa.update(tasks).where(_t.id == task_id).values(
            status="done", outcome=outcome, done_at=now, updated_at=now, version=_t.version + 1))
        if task["instance_id"] is not None:
            conn.execute(sa.update(wf_instances).where(
                wf_instances.c.id == task["instance_id"], wf_instances.c.status == rows.WAITING,
            ).values(wake_at=now))


def submit_form(runtime: Runtime, workspace: str, form: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A web form post: create the record its ``map`` describes and fire ``form NAME submitted``,
    together or not at all.  Raises ValidationFailed naming the form's keys on bad input."""
    from metamodel.errors import ValidationFailed
    from metamodel.records.store import RecordStore
    from metamodel.storage.catalog import load_workspace_meta

    meta = load_workspace_meta(runtime.engine, workspace)  # read first: a wrong URL takes no write lock
    found = next((f for f in meta.blueprint.forms if f.name == form), None)
    if found is None:
        raise NotFound(f'there is no form "{form}"')
    data = {field: values.get(key) for field, key in found.map if values.get(key) not in (None, "")}
    with write_transaction(runtime.engine) as conn:
        store = RecordStore(runtime.engine, meta, runtime.clock)
        try:
            record = store.create(found.creates, data, conn=conn)
        except ValidationFailed as exc:
            by_key = dict(found.map)
            raise ValidationFailed({by_key.get(k, k): v for k, v in exc.fields.items()}) from None
        _start_inbound(conn, runtime, workspace, "form", form, values, (found.creates, record["id"]))
        return record


def _start_inbound(conn: Any, runtime: Runtime, workspace: str, kind: str, name: str,
                   data: Mapping[str, Any], subject: tuple[str, int] | None) -> list[int]:
    plan = _plan(conn, workspace)
    now = runtime.clock.now()
    scope = "form" if kind == "form" else "payload"
    started = []
    for automation in plan.matching(f"{kind}:{name}", kind):
        ctx = dsl.EvalContext(now=now, form=dict(data)) if kind == "form" else \
            dsl.EvalContext(now=now, payload=dict(data))
        if not holds(conn, workspace, automation, ctx):
            continue
        entity, record_id = subject if subject else (None, None)
        started.append(rows.start(conn, rows.Start(
            workspace=workspace, kind="automation", name=automation.name, plan_version=plan.version,
            entity=entity, record_id=record_id, context={scope: dict(data)}), now))
    return started
