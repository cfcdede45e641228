"""``broadcast`` (mutation) and ``broadcasts`` (query): one message per record of a segment.

Who may do what, and why:

* ``broadcast`` needs ``update`` on the entity (or the admin role): it writes to every record's
  owner-facing inbox of the outside world, which reading alone should not allow.  A role that may
  not see a field may not name it — not in the segment, the address, the opt-out nor a ``{path}`` of
  the text (FORBIDDEN) — and a ``records: own`` role reaches only its own records.
* ``broadcasts`` lists the broadcasts about entities the role may read (an admin: all); a
  ``records: own`` role sees the ones it sent.

The mutation only checks and queues (``workflow.create_broadcast``); the runners send, so a client
never waits for the whole segment and polls ``broadcasts(id:)`` for the counts.  ``where`` is the
entity list's filter as JSON; field names may be camelCase as elsewhere in the API.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from typing import Any, Optional

import strawberry
from strawberry.scalars import JSON

from api.graphql.errors import FORBIDDEN, VALIDATION_FAILED, ApiError, camel_path, translated
from api.graphql.inputs import Factory, list_of
from api.graphql.resolvers import GraphQLContext, MutationSpec, record_number
from api.graphql.workflow_ops import plain, runtime_of
from workflow import (
    BroadcastForbidden,
    BroadcastInvalid,
    BroadcastNotFound,
    BroadcastRow,
    BroadcastSpec,
    WorkflowError,
    create_broadcast,
    get_broadcast,
    list_broadcasts,
)

REQUIRED = inspect.Parameter.empty
DEFAULT_FIRST = 50
Fields = dict[str, tuple[Any, Callable[..., Any]]]
Params = dict[str, list[tuple[str, Any, Any]]]


def broadcast_type(factory: Factory) -> type:
    """``Broadcast { id entity where channel to optOut subject body status recipients sent skipped
    failed queued error createdBy createdAt finishedAt }``."""
    opt_str, opt_time = Optional[str], Optional[dt.datetime]  # noqa: UP045
    return plain(factory, "Broadcast", {
        "id": strawberry.ID, "entity": str, "where": Optional[JSON], "channel": str,  # noqa: UP045
        "to": str, "opt_out": opt_str, "subject": opt_str, "body": str, "status": str, "recipients": int,
        "sent": int, "skipped": int, "failed": int, "queued": int, "error": opt_str, "created_by": opt_str,
        "created_at": dt.datetime, "finished_at": opt_time})


def _refused(exc: WorkflowError) -> ApiError:
    """A refused broadcast as the API's codes: every place at fault in ``extensions.fields``."""
    problems = getattr(exc, "problems", ())
    fields = {camel_path(place): reason for place, reason in problems}
    code = FORBIDDEN if isinstance(exc, BroadcastForbidden) else VALIDATION_FAILED
    if isinstance(exc, BroadcastInvalid | BroadcastForbidden):
        return ApiError(code, exc.message, hint=exc.hint, fields=fields)
    return ApiError(exc.code, exc.message, hint=exc.hint)


def _send(_root: Any, ctx: GraphQLContext, *, entity: str, channel: str, body: str, subject: str | None,
          where: Any, to: str | None, opt_out: str | None) -> BroadcastRow:
    """Check and queue a broadcast to the records of ``entity`` matching ``where``."""
    if ctx.meta.blueprint.find_entity(entity) is not None:  # an unknown one is named by the checks
        ctx.access.require(entity, "update")
    if where is not None and not isinstance(where, dict):
        raise ApiError(VALIDATION_FAILED, "where must be an object of fields and operators",
                       fields={"where": 'expected an object such as {tags: {hasAny: ["vip"]}}'})
    segment = ctx.access.scoped(where) if ctx.access.own_only else where
    spec = BroadcastSpec(entity=entity, channel=channel, body=body, subject=subject, where=segment, to=to,
                         opt_out=opt_out)
    who = ctx.principal.email or f"{ctx.principal.role} token {ctx.principal.token_id}"
    try:
        with translated():
            return create_broadcast(runtime_of(ctx), ctx.meta.workspace, spec, created_by=who,
                                    hidden=ctx.access.hidden)
    except WorkflowError as exc:
        raise _refused(exc) from None


def _visible(ctx: GraphQLContext, row: BroadcastRow) -> bool:
    if ctx.access.own_only:
        return ctx.principal.email is not None and row.created_by == ctx.principal.email
    return ctx.access.can(row.entity, "read")


def _list(_root: Any, ctx: GraphQLContext, *, id: str | None, first: int) -> list[BroadcastRow]:
    """The broadcasts the role may see, newest first (``id``: that one only, or none)."""
    if ctx.access.own_only and ctx.principal.email is None:
        return []  # a records: own role without a user has sent nothing it could see
    try:
        if id is not None:
            rows = [get_broadcast(ctx.engine, ctx.meta.workspace, record_number("Broadcast", id))]
        else:
            entities = None if ctx.access.admin else [
                e.name for e in ctx.meta.blueprint.entities if ctx.access.can(e.name, "read")]
            mine = ctx.principal.email if ctx.access.own_only else None
            rows = list_broadcasts(ctx.engine, ctx.meta.workspace, entities=entities, created_by=mine,
                                   first=first)
    except (BroadcastNotFound, ApiError):  # an id that is no number lists nothing, as an unknown one
        return []
    return [row for row in rows if _visible(ctx, row)]


def broadcast_api(factory: Factory) -> tuple[Fields, Params, dict[str, MutationSpec]]:
    """The ``broadcasts`` query (fields, arguments) and the ``broadcast`` mutation of every schema."""
    kind = broadcast_type(factory)
    opt_str = Optional[str]  # noqa: UP045
    fields: Fields = {"broadcasts": (list_of(kind), _list)}
    params: Params = {"broadcasts": [("id", Optional[strawberry.ID], None),  # noqa: UP045
                                     ("first", int, DEFAULT_FIRST)]}
    mutations: dict[str, MutationSpec] = {"broadcast": (kind, _send, [
        ("entity", str, REQUIRED), ("channel", str, REQUIRED), ("body", str, REQUIRED),
        ("subject", opt_str, None), ("where", Optional[JSON], None), ("to", opt_str, None),  # noqa: UP045
        ("opt_out", opt_str, None)])}
    return fields, params, mutations
