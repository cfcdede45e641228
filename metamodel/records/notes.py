"""Notes on records: the free-text comments managers leave on a deal's card ("called, call back Monday").

Why here: notes are rows about records of this package, and the surfaces must not run SQL of their
own.  The caller checks that the record exists and may be read (or updated, to add a note); these
functions only read and write ``sc_notes``, one statement each, newest first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.db import write_transaction
from metamodel.errors import ValidationFailed
from metamodel.records.coerce import NUL_REASON, has_nul
from metamodel.storage.system_tables import notes

#: Longest note accepted, in characters (a page of text; longer belongs in a file).
MAX_NOTE_LENGTH = 10_000
#: Most notes one read returns.
MAX_NOTES = 500
_n = notes.c


@dataclass(frozen=True, slots=True)
class NoteRow:
    """One note as people read it; ``author`` is the writer's e-mail (None for the system)."""

    id: int
    entity: str
    record_id: int
    text: str
    author: str | None
    created_at: dt.datetime


def _note(row: Any) -> NoteRow:
    return NoteRow(int(row["id"]), row["entity"], int(row["record_id"]), row["body"], row["author"],
                   row["created_at"])


def checked_note_text(text: str) -> str:
    """``text`` without surrounding blanks; ValidationFailed when empty, longer than the limit or
    holding NUL (which PostgreSQL cannot store: refused on both databases alike, as in records)."""
    stripped = text.strip() if isinstance(text, str) else ""
    if not stripped:
        raise ValidationFailed({"text": "must not be empty"})
    if has_nul(stripped):
        raise ValidationFailed({"text": NUL_REASON})
    if len(stripped) > MAX_NOTE_LENGTH:
        raise ValidationFailed({"text": f"at most {MAX_NOTE_LENGTH} characters, not {len(stripped)}"})
    return stripped


def add_note(engine: Engine, workspace: str, entity: str, record_id: int, text: str, *,
             author: str | None, at: dt.datetime) -> NoteRow:
    """Store a note on the record (checked text, stamped ``at``) and return it."""
    body = checked_note_text(text)
    values = {"workspace": workspace, "entity": entity, "record_id": record_id, "body": body,
              "author": author, "created_at": at}
    with write_transaction(engine) as conn:
        key = conn.execute(notes.insert().values(**values)).inserted_primary_key
    assert key is not None  # an INSERT always has one
    return NoteRow(int(key[0]), entity, record_id, body, author, at)


def list_notes(engine: Engine, workspace: str, entity: str, record_id: int, *,
               limit: int = 50) -> list[NoteRow]:
    """The record's notes, newest first, at most ``limit`` (1 to MAX_NOTES)."""
    if isinstance(limit, bool) or not 0 < limit <= MAX_NOTES:
        raise ValidationFailed({"first": f"must be between 1 and {MAX_NOTES}, not {limit}"})
    query = (sa.select(notes).where(_n.workspace == workspace, _n.entity == entity, _n.record_id == record_id)
             .order_by(_n.id.desc()).limit(limit))
    with engine.connect() as conn:
        return [_note(r) for r in conn.execute(query).mappings()]
