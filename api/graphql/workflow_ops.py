"""Workflow mutations: ``runAutomation``, ``completeTask`` and ``decideApproval``.

Why a module of its own: these mutations do not write records, they hand work to the workflow
layer (``workflow.run_manual`` / ``complete_task``), which only writes rows and lets the runners do
the work, so a client never waits for an automation.  The workflow's own codes (``WF_…``) reach the
client unchanged in ``extensions.code``; an id of another workspace is NOT_FOUND like one that does
not exist.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Optional

import strawberry

from api.graphql.errors import ApiError, forbidden, translated
from api.graphql.inputs import Factory
from api.graphql.resolvers import GraphQLContext, MutationSpec, record_number
from workflow import (
    Runtime,
    TaskRow,
    WorkflowError,
    complete_task,
    get_run,
    get_task,
    manual_entity,
    run_manual,
)

REQUIRED = inspect.Parameter.empty


def plain(factory: Factory, name: str, annotations: dict[str, Any]) -> type:
    """A strawberry object type read from the attributes of plain values (dataclass rows)."""
    return strawberry.type(type(factory.name(name), (), {"__annotations__": annotations}), name=name)


class WorkflowTypes:
    """The object types of workflow rows, one set per schema: tasks, runs, history entries."""

    def __init__(self, factory: Factory) -> None:
        opt_str, opt_time = Optional[str], Optional[dt.datetime]  # noqa: UP045
        self.task = plain(factory, "Task", {
            "id": strawberry.ID, "title": str, "kind": str, "status": str, "assignee_email": opt_str,
            "due_at": opt_time, "entity": opt_str, "record_id": Optional[strawberry.ID],  # noqa: UP045
            "options": list[str], "outcome": opt_str, "created_at": dt.datetime, "done_at": opt_time})
        self.run = plain(factory, "AutomationRun", {"id": strawberry.ID, "status": str})
        self.instance = plain(factory, "ProcessInstance", {
            "id": strawberry.ID, "kind": str, "name": str, "record": opt_str, "entity": opt_str,
            "record_id": Optional[strawberry.ID], "status": str,  # noqa: UP045
            "position": int, "wake_at": opt_time, "error": opt_str})
        self.history = plain(factory, "HistoryEntry", {
            "who": opt_str, "field": str, "old": Optional[strawberry.scalars.JSON],  # noqa: UP045
            "new": Optional[strawberry.scalars.JSON], "at": dt.datetime})  # noqa: UP045


@dataclass(frozen=True)
class RunRef:
    id: int
    status: str


def runtime_of(ctx: GraphQLContext) -> Runtime:
    """The request's runtime (the server's clock), or one over the request's engine."""
    return ctx.runtime if ctx.runtime is not None else Runtime(ctx.engine)


@contextmanager
def workflow_translated() -> Iterator[None]:
    """A workflow error leaves as a GraphQL error with its ``WF_…`` code and hint."""
    try:
        with translated():
            yield
    except WorkflowError as exc:
        raise ApiError(exc.code, exc.message, hint=exc.hint) from None


def _run_automation(_root: Any, ctx: GraphQLContext, *, name: str, record_id: str) -> RunRef:
    """Start a manual automation on a record the role may update."""
    workspace = ctx.meta.workspace
    with workflow_translated():
        entity = manual_entity(ctx.engine, workspace, name)
    ctx.access.require(entity, "update")
    record = ctx.get(entity, record_id)
    with workflow_translated():
        run_id = run_manual(runtime_of(ctx), workspace, name, entity, int(record.record["id"]))
        run = get_run(ctx.engine, workspace, run_id)
    return RunRef(run.id, run.status)


def _own_task(ctx: GraphQLContext, task_id: str) -> TaskRow:
    """The task, if the principal may close it: its assignee, or an admin."""
    with workflow_translated():
        task = get_task(ctx.engine, ctx.meta.workspace, record_number("Task", task_id))
    if not ctx.access.admin and (ctx.principal.user_id is None or task.assignee_id != ctx.principal.user_id):
        raise forbidden("only the task's assignee (or an admin) may complete it")
    return task


def _close(ctx: GraphQLContext, task_id: str, outcome: str | None) -> TaskRow:
    task = _own_task(ctx, task_id)
    with workflow_translated():
        complete_task(runtime_of(ctx), ctx.meta.workspace, task.id, outcome)
        return get_task(ctx.engine, ctx.meta.workspace, task.id)


def workflow_mutations(types: WorkflowTypes) -> dict[str, MutationSpec]:
    """The workflow mutations of every schema: (type, resolver, arguments) by GraphQL name."""

    def complete(_root: Any, ctx: GraphQLContext, *, id: str) -> TaskRow:
        return _close(ctx, id, None)

    def decide(_root: Any, ctx: GraphQLContext, *, id: str, option: str) -> TaskRow:
        return _close(ctx, id, option)

    id_arg = ("id", strawberry.ID, REQUIRED)
    return {"runAutomation": (types.run, _run_automation,
                              [("name", str, REQUIRED), ("record_id", strawberry.ID, REQUIRED)]),
            "completeTask": (types.task, complete, [id_arg]),
            "decideApproval": (types.task, decide, [id_arg, ("option", str, REQUIRED)])}
