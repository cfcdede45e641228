"""Read-only views of tasks, messages, notifications and runs, for the surfaces that list them.

Why here: ``api`` runs no SQL of its own (DESIGN.md, layers), yet the GraphQL built-ins list tasks
and process instances with filters.  Every reader is scoped to one workspace (an id of another one
is simply not found) and bounded by ``limit``, so a request costs one statement whatever the table
holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.errors import NotFound
from metamodel.storage.system_tables import messages, notifications, tasks, users, wf_instances
from workflow.errors import WorkflowError
from workflow.plans import current_plan

MAX_LIMIT = 500
TASK_STATUSES = ("open", "done", "cancelled")
_t, _u, _i = tasks.c, users.c, wf_instances.c


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One task or approval as people see it."""

    id: int
    title: str
    kind: str
    status: str
    assignee_id: int | None
    assignee_email: str | None
    due_at: datetime | None
    entity: str | None
    record_id: int | None
    options: list[str]
    outcome: str | None
    created_at: datetime
    done_at: datetime | None


def checked_limit(limit: int) -> int:
    """``limit`` itself, when it is a page size the readers serve (1 to MAX_LIMIT)."""
    if not 0 < limit <= MAX_LIMIT:
        raise WorkflowError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}", code="WF_BAD_LIMIT")
    return limit


def _within(column: Any, entities: Sequence[str] | None) -> Any:
    """Rows about one of ``entities`` (None: every row, also those about no record)."""
    return sa.true() if entities is None else column.in_(list(entities))


def _task_query() -> sa.Select[Any]:
    return sa.select(tasks, _u.email.label("assignee_email")).select_from(
        tasks.outerjoin(users, _u.id == _t.assignee_id))


def _task(row: Any) -> TaskRow:
    return TaskRow(id=int(row["id"]), title=row["title"], kind=row["kind"], status=row["status"],
                   assignee_id=row["assignee_id"], assignee_email=row["assignee_email"], due_at=row["due_at"],
                   entity=row["entity"], record_id=row["record_id"], options=list(row["options"] or []),
                   outcome=row["outcome"], created_at=row["created_at"], done_at=row["done_at"])


def list_tasks(engine: Engine, workspace: str, *, status: str | None = None,
               assignee_email: str | None = None, entities: Sequence[str] | None = None,
               limit: int = 50) -> list[TaskRow]:
    """Tasks of ``workspace``, newest first, filtered by status, assignee and subject entities."""
    if status is not None and status not in TASK_STATUSES:
        raise WorkflowError(f'unknown task status "{status}" (statuses: {", ".join(TASK_STATUSES)})',
                            code="WF_BAD_STATUS")
    query = _task_query().where(_t.workspace == workspace, _within(_t.entity, entities))
    if status is not None:
        query = query.where(_t.status == status)
    if assignee_email is not None:
        query = query.where(_u.email == assignee_email)
    query = query.order_by(_t.id.desc()).limit(checked_limit(limit))
    with engine.connect() as conn:
        return [_task(r) for r in conn.execute(query).mappings()]


def get_task(engine: Engine, workspace: str, task_id: int) -> TaskRow:
    """The task ``task_id`` of ``workspace``; NotFound otherwise (also for another workspace's)."""
    with engine.connect() as conn:
        query = _task_query().where(_t.workspace == workspace, _t.id == task_id)
        found = conn.execute(query).mappings().first()
    if found is None:
        raise NotFound(f"there is no task {task_id}")
    return _task(found)


def list_messages(engine: Engine, workspace: str, *, entity: str | None = None, record_id: int | None = None,
                  entities: Sequence[str] | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Messages sent (or queued) in ``workspace``, newest first, optionally about one record.

    ``entities`` keeps the messages about records of those entities (a role's readable ones) in the
    same one statement; None keeps every message, also those about no record.
    """
    m = messages.c
    query = sa.select(messages).where(m.workspace == workspace, _within(m.entity, entities))
    if entity is not None:
        query = query.where(m.entity == entity)
    if record_id is not None:
        query = query.where(m.record_id == record_id)
    with engine.connect() as conn:
        page = query.order_by(m.id.desc()).limit(checked_limit(limit))
        return [dict(r) for r in conn.execute(page).mappings()]


def list_notifications(engine: Engine, workspace: str, user_id: int, *, unread: bool = False,
                       limit: int = 50) -> list[dict[str, Any]]:
    """The notifications of one user of ``workspace``, newest first (only unread ones if asked)."""
    n = notifications.c
    query = sa.select(notifications).where(n.workspace == workspace, n.user_id == user_id)
    if unread:
        query = query.where(n.read_at.is_(None))
    with engine.connect() as conn:
        page = query.order_by(n.id.desc()).limit(checked_limit(limit))
        return [dict(r) for r in conn.execute(page).mappings()]


def manual_entity(engine: Engine, workspace: str, automation: str) -> str:
    """The entity a ``manual for E`` automation runs on, so a caller can check the record first."""
    with engine.connect() as conn:
        plan = current_plan(conn, workspace)
    found = plan.plan.find_automation(automation) if plan is not None else None
    if found is None or found.trigger.kind != "manual" or found.trigger.entity is None:
        raise WorkflowError(f'there is no manual automation "{automation}"', code="WF_UNKNOWN_AUTOMATION")
    return str(found.trigger.entity)
