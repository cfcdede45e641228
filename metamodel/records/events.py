"""History, stage history and the outbox event of one write, in the writer's transaction.

DESIGN.md decision 3: a record change, its history, its stage history and its
outbox event commit together or not at all, so a consumer of the outbox never
misses a change and never sees one that was rolled back.  Each write costs a
fixed number of statements here: one executemany for the field history, at
most two for the stage history, one for the outbox row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metamodel.storage.system_tables import outbox, record_history, stage_history

#: (old, new) per changed field.
Changes = Mapping[str, tuple[Any, Any]]

_HISTORY_INSERT = record_history.insert()
_STAGE_INSERT = stage_history.insert()
_OUTBOX_INSERT = outbox.insert()
_STAGE_CLOSE = (
    stage_history.update()
    .where(stage_history.c.workspace == sa.bindparam("w_workspace"),
           stage_history.c.entity == sa.bindparam("w_entity"),
           stage_history.c.record_id == sa.bindparam("w_record_id"),
           stage_history.c.left_at.is_(None))
    .values(left_at=sa.bindparam("w_left_at"))
)


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy: Decimal as text (no float rounding), dates in ISO 8601."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


@dataclass(frozen=True, slots=True)
class StageMove:
    """A record entering ``stage`` of ``pipeline``, leaving ``from_stage`` (None on create)."""

    pipeline: str
    stage: str
    from_stage: str | None
    from_pipeline: str | None = None


@dataclass(frozen=True, slots=True)
class WriteEvent:
    """Everything the event rows of one write are made of."""

    workspace: str
    entity: str
    record_id: int
    kind: str  # created | updated | deleted | restored
    version: int
    actor: str
    at: datetime
    changes: Changes
    stage: StageMove | None = None


def record_event(conn: Connection, event: WriteEvent) -> None:
    """Write the history rows, stage-history rows and the single outbox row of ``event``."""
    safe = {name: (json_safe(old), json_safe(new)) for name, (old, new) in event.changes.items()}
    if safe:
        conn.execute(_HISTORY_INSERT, [_history_row(event, name, old, new)
                                       for name, (old, new) in safe.items()])
    if event.stage is not None:
        _record_stage_move(conn, event, event.stage)
    conn.execute(_OUTBOX_INSERT, {
        "workspace": event.workspace, "entity": event.entity, "record_id": event.record_id,
        "kind": event.kind, "payload": _payload(event, safe), "created_at": event.at,
        "processed_at": None,
    })


def _history_row(event: WriteEvent, name: str, old: Any, new: Any) -> dict[str, Any]:
    return {"workspace": event.workspace, "entity": event.entity, "record_id": event.record_id,
            "version": event.version, "field": name, "old": old, "new": new,
            "actor": event.actor, "at": event.at}


def _record_stage_move(conn: Connection, event: WriteEvent, move: StageMove) -> None:
    """Close the open stage row (none exists on create) and open the one just entered."""
    if move.from_stage is not None:
        conn.execute(_STAGE_CLOSE, {"w_workspace": event.workspace, "w_entity": event.entity,
                                    "w_record_id": event.record_id, "w_left_at": event.at})
    conn.execute(_STAGE_INSERT, {
        "workspace": event.workspace, "entity": event.entity, "record_id": event.record_id,
        "pipeline": move.pipeline, "stage": move.stage, "entered_at": event.at, "left_at": None,
        "actor": event.actor,
    })


def _payload(event: WriteEvent, safe: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = {"changes": {k: [old, new] for k, (old, new) in safe.items()},
                               "version": event.version}
    move = event.stage
    if move is not None:
        payload["stage"] = {"from": move.from_stage, "to": move.stage, "pipeline": move.pipeline}
        if move.from_pipeline is not None and move.from_pipeline != move.pipeline:
            payload["stage"]["from_pipeline"] = move.from_pipeline
    return payload
