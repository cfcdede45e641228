"""Steps for people: tasks, notifications, assignment, processes' task and approval waits.

Tasks and notifications are rows written in the step's transaction with the step's idempotency
key (unique per workspace), so even a step that somehow ran twice could not create a second one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

import dsl
from metamodel.storage.system_tables import notifications, tasks
from workflow import instances as rows
from workflow.conditions import too_deep
from workflow.people import least_busy, one_user, recipients, round_robin
from workflow.step import Outcome, Step, Wait, handles

_t = tasks.c


def create_task(step: Step, op: Any, title: str, assignee: int | None, *, kind: str = "task",
                options: tuple[str, ...] | None = None) -> int:
    now = step.now
    due = now + timedelta(seconds=op.due_seconds) if getattr(op, "due_seconds", None) else None
    task_id = step.conn.execute(sa.insert(tasks).values(
        workspace=step.inst.workspace, title=title[:500], assignee_id=assignee, due_at=due, status="open",
        entity=step.inst.entity, record_id=step.inst.record_id, created_at=now, updated_at=now,
        kind=kind, options=list(options) if options else None, instance_id=step.inst.id,
        idempotency_key=step.key(op)).returning(_t.id)).scalar_one()
    step.inst.note("task", task_id=task_id, title=title, assignee=assignee, task_kind=kind,
                   due_at=due.isoformat() if due else None)
    return int(task_id)


def notify(step: Step, op: Any, user_ids: list[int], text: str, suffix: str = "") -> None:
    for user_id in user_ids:
        step.conn.execute(sa.insert(notifications).values(
            workspace=step.inst.workspace, user_id=user_id, text=text, entity=step.inst.entity,
            record_id=step.inst.record_id, idempotency_key=step.key(op, f"{suffix}:{user_id}"),
            created_at=step.now))
        step.inst.note("notification", user_id=user_id, text=text)


@handles("create_task")
def run_create_task(step: Step, op: dsl.CreateTaskOp) -> Outcome:
    task_id = create_task(step, op, str(step.eval(op.title)), one_user(step, op.assignee))
    if op.bind:
        step.inst.vars[op.bind] = task_id
    return None


@handles("notify")
def run_notify(step: Step, op: dsl.NotifyOp) -> Outcome:
    notify(step, op, recipients(step, op.recipient), str(step.eval(op.text)))
    return None


@handles("assign")
def run_assign(step: Step, op: dsl.AssignOp) -> Outcome:
    from workflow.ops_records import target, write

    entity, record_id = target(step, op.record)
    if op.strategy == "round_robin":
        chosen = round_robin(step, op.group, f"assign:{op.group}:{entity}.{op.field}")
    else:
        chosen = least_busy(step, op.group, entity, op.field)
    write(step, entity, record_id, {op.field: chosen}, log=False)
    step.inst.note("assigned", entity=entity, record_id=record_id, field=op.field, user_id=chosen)
    return None


@handles("start_process")
def run_start_process(step: Step, op: dsl.StartProcessOp) -> Outcome:
    inst = step.inst
    if too_deep(step.conn, inst.workspace, step.now, f'process "{op.process}"', inst.depth + 1, inst.entity,
                inst.record_id):
        inst.note("skipped", reason=f'process "{op.process}" not started: the chain is too deep')
        return None
    child = rows.start(step.conn, rows.Start(
        workspace=inst.workspace, kind="process", name=op.process, plan_version=inst.plan_version,
        entity=inst.entity, record_id=inst.record_id, context={}, depth=inst.depth + 1,
        parent_id=inst.id), step.now)
    inst.note("started process", process=op.process, child=child)
    return None


def _task_row(step: Step, task_id: int) -> Any:
    return step.conn.execute(sa.select(tasks).where(_t.id == task_id)).mappings().first()


def _waiting_here(step: Step, kind: str) -> dict[str, Any] | None:
    wait = step.inst.wait
    if wait is not None and wait.get("pc") == step.inst.pc and wait.get("kind") == kind:
        return wait
    return None


@handles("task")
def run_task(step: Step, op: dsl.TaskOp) -> Outcome:
    """Create the task once, then wait until it is done, reminding while it is overdue."""
    wait = _waiting_here(step, "task")
    if wait is None:
        task_id = create_task(step, op, str(step.eval(op.title)), one_user(step, op.assignee))
        due = step.now + timedelta(seconds=op.due_seconds)
        wait = {"kind": "task", "pc": step.inst.pc, "task_id": task_id, "reminders": 0,
                "remind_at": due.isoformat() if op.remind_seconds else None}
        return Wait(due if op.remind_seconds else None, wait)
    task = _task_row(step, wait["task_id"])
    if task is None or task["status"] != "open":
        if op.bind:
            step.inst.vars[op.bind] = wait["task_id"]
        step.inst.wait = None
        return None
    return _remind(step, op, task, dict(wait))


def _remind(step: Step, op: dsl.TaskOp, task: Any, wait: dict[str, Any]) -> Outcome:
    remind_at = datetime.fromisoformat(wait["remind_at"]) if wait.get("remind_at") else None
    if remind_at is None or op.remind_seconds is None:
        return Wait(None, wait)
    if step.now >= remind_at:
        wait["reminders"] += 1
        assignee = [task["assignee_id"]] if task["assignee_id"] is not None else []
        notify(step, op, assignee, f"Reminder: the task \"{task['title']}\" is overdue",
               suffix=f"#remind{wait['reminders']}")
        remind_at = step.now + timedelta(seconds=op.remind_seconds)
        wait["remind_at"] = remind_at.isoformat()
    return Wait(remind_at, wait)


@handles("approval")
def run_approval(step: Step, op: dsl.ApprovalOp) -> Outcome:
    """Create the approval task once, then wait until the approver picks one of the options."""
    wait = _waiting_here(step, "approval")
    if wait is None:
        approver = one_user(step, op.approver)
        task_id = create_task(step, op, str(step.eval(op.title)), approver, kind="approval",
                              options=op.options)
        return Wait(None, {"kind": "approval", "pc": step.inst.pc, "task_id": task_id})
    task = _task_row(step, wait["task_id"])
    if task is None or task["outcome"] is None:
        return Wait(None, wait)
    step.inst.vars[op.bind] = task["outcome"]
    step.inst.wait = None
    step.inst.note("decided", task_id=wait["task_id"], outcome=task["outcome"])
    return None


