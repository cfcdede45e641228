"""A record's change history as people read it: who changed which field from what to what, when.

Why a reader here: the surfaces (GraphQL ``history``, the record card) must not run SQL of their
own, and the history rows are written by this package (``events.py``).  Fields hidden from the
reader's role are left out in SQL, so a hidden value never leaves the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.storage.system_tables import record_history

MAX_ENTRIES = 1000
_h = record_history.c


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One changed field of one write."""

    who: str | None
    field: str
    old: Any
    new: Any
    at: datetime
    version: int


def record_history_of(engine: Engine, workspace: str, entity: str, record_id: int, *,
                      hidden_fields: Iterable[str] = (), limit: int = MAX_ENTRIES) -> list[HistoryEntry]:
    """The changes of one record, oldest first, without the ``hidden_fields`` (at most ``limit``)."""
    query = sa.select(record_history).where(
        _h.workspace == workspace, _h.entity == entity, _h.record_id == record_id)
    hidden = sorted(set(hidden_fields))
    if hidden:
        query = query.where(_h.field.not_in(hidden))
    query = query.order_by(_h.id).limit(max(1, min(limit, MAX_ENTRIES)))
    with engine.connect() as conn:
        return [HistoryEntry(who=r["actor"], field=r["field"], old=r["old"], new=r["new"], at=r["at"],
                             version=int(r["version"])) for r in conn.execute(query).mappings()]
