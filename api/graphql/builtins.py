"""Built-in root queries: ``tasks``, ``processInstances``, ``history``, ``messages``, ``users``, ``metadata``.

Why they sit beside the generated entity lists: tasks, runs and the change history are platform
rows, not blueprint entities, yet a manager's task list or an admin's failed runs are read the same
way.  They go through the lower layers' readers (``workflow.list_tasks``/``list_runs``,
``metamodel.records.history_reader``), one bounded statement each, and show only what the role may
read: rows about entities it may read, and no change of a field hidden from it (``messages`` too:
one statement filtered by the readable entities); ``users`` shows everyone to an admin and the
active users to other roles.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

import strawberry

from api.graphql.errors import VALIDATION_FAILED, ApiError, translated
from api.graphql.inputs import Factory, list_of, optional
from api.graphql.metadata import metadata_query
from api.graphql.resolvers import Access, GraphQLContext, record_number
from api.graphql.workflow_ops import WorkflowTypes, plain, workflow_translated
from metamodel.migrate.users import UserRow, list_users
from metamodel.records.coerce import NUL_REASON, has_nul
from metamodel.records.history_reader import HistoryEntry, record_history_of
from metamodel.storage.catalog import WorkspaceMeta
from workflow import RunRow, TaskRow, list_messages, list_runs, list_tasks

REQUIRED = inspect.Parameter.empty
DEFAULT_FIRST = 50
Fields = dict[str, tuple[Any, Callable[..., Any]]]
Params = dict[str, list[tuple[str, Any, Any]]]


def task_where(factory: Factory) -> type:
    """``TaskWhere {status, assigneeEmail}``: the filters of ``tasks``."""
    namespace = {"__annotations__": {"status": Optional[str], "assignee_email": Optional[str]},  # noqa: UP045
                 "status": None, "assignee_email": None}
    return strawberry.input(type(factory.name("TaskWhere"), (), namespace), name="TaskWhere")


def readable(meta: WorkspaceMeta, access: Access) -> list[str] | None:
    """The entities whose rows the role may see (None: every row, for an admin)."""
    if access.admin:
        return None
    return [e.name for e in meta.blueprint.entities if access.can(e.name, "read")]


def _tasks(_root: Any, ctx: GraphQLContext, *, where: Any, first: int) -> list[TaskRow]:
    """Tasks about records the role may read; a ``records: own`` role sees only its own tasks."""
    status = where.status if where else None
    assignee = where.assignee_email if where else None
    if has_nul(assignee):  # PostgreSQL cannot compare it: refused as record writes refuse it
        raise ApiError(VALIDATION_FAILED, f"where.assigneeEmail: {NUL_REASON}",
                       fields={"where.assigneeEmail": NUL_REASON})
    if ctx.access.own_only:
        if ctx.principal.email is None or assignee not in (None, ctx.principal.email):
            return []
        assignee = ctx.principal.email
    with workflow_translated():
        return list_tasks(ctx.engine, ctx.meta.workspace, status=status, assignee_email=assignee,
                          entities=readable(ctx.meta, ctx.access), limit=first)


def _instances(_root: Any, ctx: GraphQLContext, *, status: str | None, first: int) -> list[RunRow]:
    """Runs on entities the role may read (a ``records: own`` role sees none: runs are not owned)."""
    if ctx.access.own_only:
        return []
    with workflow_translated():
        return list_runs(ctx.engine, ctx.meta.workspace, status=status,
                         entities=readable(ctx.meta, ctx.access), limit=first)


def _history(_root: Any, ctx: GraphQLContext, *, entity: str, record_id: str) -> list[HistoryEntry]:
    """The record's changes, after the read and ``records: own`` checks, without hidden fields."""
    ctx.access.require(entity, "read")
    node = ctx.get(entity, record_id)
    hidden = [f for e, f in ctx.access.hidden if e == entity]
    with translated():
        return record_history_of(ctx.engine, ctx.meta.workspace, entity, int(node.record["id"]),
                                 hidden_fields=hidden)


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message as ``messages`` shows it (``to`` is the reader's ``recipient``)."""

    id: int
    channel: str
    to: str
    subject: str | None
    body: str
    status: str
    entity: str | None
    record_id: int | None
    created_at: dt.datetime

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> MessageRef:
        return cls(int(row["id"]), row["channel"], row["recipient"], row["subject"], row["body"],
                   row["status"], row["entity"], row["record_id"], row["created_at"])


def _message_entities(ctx: GraphQLContext, entity: str | None, record_id: str | None) -> list[str] | None:
    """The entities to read messages about (None: all, for an admin; []: none), after the role's checks."""
    if entity is not None and ctx.meta.blueprint.find_entity(entity) is None:
        raise ApiError(VALIDATION_FAILED, f'there is no entity "{entity}"',
                       fields={"entity": f'there is no entity "{entity}"'})
    if entity is not None:
        ctx.access.require(entity, "read")
    if ctx.access.own_only:  # messages are not owned: only those about one of the role's own records
        if entity is None or record_id is None:
            return []
        ctx.get(entity, record_id)
    if entity is not None:
        return [entity]
    return readable(ctx.meta, ctx.access)


def _messages(_root: Any, ctx: GraphQLContext, *, record_id: str | None, entity: str | None,
              first: int) -> list[MessageRef]:
    """Messages about records of entities the role may read, newest first (one statement)."""
    number = None if record_id is None else record_number(entity or "Record", record_id)
    entities = _message_entities(ctx, entity, record_id)
    if entities == []:
        return []
    with workflow_translated():
        rows = list_messages(ctx.engine, ctx.meta.workspace, entities=entities, record_id=number, limit=first)
    return [MessageRef.of(r) for r in rows]


def _users(_root: Any, ctx: GraphQLContext, *, first: int) -> list[UserRow]:
    """Every user for an admin; the active ones (the people one can assign work to) for other roles."""
    with translated():
        return list_users(ctx.engine, ctx.meta.workspace, first, active_only=not ctx.access.admin)


def message_type(factory: Factory) -> type:
    """``Message { id channel to subject body status entity recordId createdAt }``."""
    opt_str = Optional[str]  # noqa: UP045
    return plain(factory, "Message", {
        "id": strawberry.ID, "channel": str, "to": str, "subject": opt_str, "body": str, "status": str,
        "entity": opt_str, "record_id": Optional[strawberry.ID], "created_at": dt.datetime})  # noqa: UP045


def user_account_type(factory: Factory) -> type:
    """``UserAccount { id name email role active }`` (``User`` is the short form records point at)."""
    return plain(factory, "UserAccount", {"id": strawberry.ID, "name": str, "email": str, "role": str,
                                          "active": bool})


def builtin_queries(factory: Factory, types: WorkflowTypes) -> tuple[Fields, Params]:
    """The built-in root fields and their arguments."""
    fields: Fields = {"tasks": (list_of(types.task), _tasks),
                      "processInstances": (list_of(types.instance), _instances),
                      "history": (list_of(types.history), _history),
                      "messages": (list_of(message_type(factory)), _messages),
                      "users": (list_of(user_account_type(factory)), _users),
                      "metadata": metadata_query(factory)}
    opt_str = Optional[str]  # noqa: UP045
    params: Params = {
        "tasks": [("where", optional(task_where(factory)), None), ("first", int, DEFAULT_FIRST)],
        "processInstances": [("status", opt_str, None), ("first", int, DEFAULT_FIRST)],
        "history": [("entity", str, REQUIRED), ("record_id", strawberry.ID, REQUIRED)],
        "messages": [("record_id", Optional[strawberry.ID], None), ("entity", opt_str, None),  # noqa: UP045
                     ("first", int, DEFAULT_FIRST)],
        "users": [("first", int, DEFAULT_FIRST)]}
    return fields, params
