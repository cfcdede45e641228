"""The built-in ``Note``: ``notes(entity, recordId, first)`` and ``addNote(entity, recordId, text)``.

Why the record is read first: a note is about a record, so whoever may not see the record (no read
permission, or ``records: own`` and someone else's) may not see or add its notes either — the
record read gives the same FORBIDDEN or NOT_FOUND a ``deal(id:)`` would.  Adding a note is changing
what the record's card shows, so it needs the update permission.
"""

from __future__ import annotations

import datetime as dt
import inspect
from typing import Any, Optional

import strawberry

from api.graphql.errors import VALIDATION_FAILED, ApiError, translated
from api.graphql.inputs import Factory, list_of
from api.graphql.resolvers import GraphQLContext, MutationSpec, Node
from api.graphql.workflow_ops import plain
from metamodel.records import NoteRow, add_note, list_notes

REQUIRED = inspect.Parameter.empty
DEFAULT_FIRST = 50
Fields = dict[str, tuple[Any, Any]]
Params = dict[str, list[tuple[str, Any, Any]]]


def note_type(factory: Factory) -> type:
    """``Note { id entity recordId text author createdAt }`` (``author``: the writer's e-mail)."""
    return plain(factory, "Note", {"id": strawberry.ID, "entity": str, "record_id": strawberry.ID,
                                   "text": str, "author": Optional[str],  # noqa: UP045
                                   "created_at": dt.datetime})


def _record(ctx: GraphQLContext, entity: str, record_id: str, action: str) -> Node:
    """The record a note is about, after the entity, permission and ``records: own`` checks."""
    if ctx.meta.blueprint.find_entity(entity) is None:
        raise ApiError(VALIDATION_FAILED, f'there is no entity "{entity}"',
                       fields={"entity": f'there is no entity "{entity}"'})
    ctx.access.require(entity, action)
    return ctx.get(entity, record_id)


def _notes(_root: Any, ctx: GraphQLContext, *, entity: str, record_id: str, first: int) -> list[NoteRow]:
    """The record's notes, newest first."""
    node = _record(ctx, entity, record_id, "read")
    with translated():
        return list_notes(ctx.engine, ctx.meta.workspace, entity, int(node.record["id"]), limit=first)


def _add_note(_root: Any, ctx: GraphQLContext, *, entity: str, record_id: str, text: str) -> NoteRow:
    """A new note on a record the role may update, signed with the principal's e-mail."""
    node = _record(ctx, entity, record_id, "update")
    with translated():
        return add_note(ctx.engine, ctx.meta.workspace, entity, int(node.record["id"]), text,
                        author=ctx.principal.email, at=ctx.store.clock.now())


def note_queries(factory: Factory) -> tuple[Fields, Params, dict[str, MutationSpec]]:
    """The ``notes`` root query and the ``addNote`` mutation (with the one ``Note`` type)."""
    note = note_type(factory)
    where = [("entity", str, REQUIRED), ("record_id", strawberry.ID, REQUIRED)]
    return ({"notes": (list_of(note), _notes)}, {"notes": [*where, ("first", int, DEFAULT_FIRST)]},
            {"addNote": (note, _add_note, [*where, ("text", str, REQUIRED)])})
