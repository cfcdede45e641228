"""History, stage history and the outbox event of one write, in the writer's transaction.

DESIGN.md decision 3: a record change, its history, its stage history and its
outbox event commit together or not at all, so a consumer of the outbox never
misses a change and never sees one that was rolled back.  Each write costs a
fixed number of statements here: one executemany for the field history, at
most two for the stage history, one for the outbox row — the inserts run
through ``direct`` because they are on the hot path of every write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metamodel.records.direct import direct
from metamodel.storage.system_tables import outbox, record_history, stage_history

#: (old, new) per changed field.
Changes = Mapping[str, tuple[Any, Any]]


def _bind(name: str, column: sa.Column[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=column.type)


def _history_insert(postgresql: bool) -> sa.Insert:
    """The history rows of a write as ONE statement of a fixed shape, whatever the field count.

    The changed fields travel as one JSON array of ``[field, old, new]`` bound
    as ``:history`` and are expanded by the database (``json_array_elements`` /
    ``json_each``); the values every row shares are bound once.  A VALUES list
    of n rows would be a different statement per n, with three binds per row
    for the driver to convert and PostgreSQL to parse and plan on every call.
    """
    h = record_history.c
    rows = sa.bindparam("history", type_=sa.Text())
    source = sa.func.json_array_elements(sa.cast(rows, sa.JSON)) if postgresql else sa.func.json_each(rows)
    element = source.table_valued("value").alias("e").c.value

    def item(index: int, op: str) -> sa.ColumnElement[Any]:
        return element.op(op)(sa.literal_column(str(index)))

    select = sa.select(
        _bind("workspace", h.workspace), _bind("entity", h.entity), _bind("record_id", h.record_id),
        _bind("version", h.version), item(0, "->>"), item(1, "->"), item(2, "->"),
        _bind("actor", h.actor), _bind("at", h.at))
    columns = ["workspace", "entity", "record_id", "version", "field", "old", "new", "actor", "at"]
    return record_history.insert().from_select(columns, select)


_HISTORY = {True: _history_insert(postgresql=True), False: _history_insert(postgresql=False)}
_s = stage_history.c
_STAGE_OPEN = stage_history.insert().inline().values(
    workspace=_bind("workspace", _s.workspace), entity=_bind("entity", _s.entity),
    record_id=_bind("record_id", _s.record_id), pipeline=_bind("pipeline", _s.pipeline),
    stage=_bind("stage", _s.stage), entered_at=_bind("at", _s.entered_at), actor=_bind("actor", _s.actor))
_STAGE_CLOSE = (
    stage_history.update()
    .where(_s.workspace == _bind("workspace", _s.workspace), _s.entity == _bind("entity", _s.entity),
           _s.record_id == _bind("record_id", _s.record_id), _s.left_at.is_(None))
    .values(left_at=_bind("at", _s.left_at)))
_o = outbox.c
_OUTBOX = outbox.insert().inline().values(
    workspace=_bind("workspace", _o.workspace), entity=_bind("entity", _o.entity),
    record_id=_bind("record_id", _o.record_id), kind=_bind("kind", _o.kind),
    payload=_bind("payload", _o.payload), created_at=_bind("at", _o.created_at))

_SHAPES: dict[tuple[bool, bool, bool, bool], tuple[sa.Insert | sa.Update, ...]] = {}


def _statements(history: bool, opens: bool, closes: bool,
                combined: bool) -> tuple[sa.Insert | sa.Update, ...]:
    """The statements of one event shape, in order, built once per shape.

    PostgreSQL runs them as one statement (data-modifying CTEs feeding the
    outbox insert: one round trip); SQLite, in-process, runs them one by one.
    ``combined`` is therefore "PostgreSQL", which also picks its JSON functions.
    The close of the open stage row precedes the new one, and inside a single
    PostgreSQL statement the UPDATE cannot see the row inserted beside it.
    """
    key = (history, opens, closes, combined)
    found = _SHAPES.get(key)
    if found is None:
        parts: list[sa.Insert | sa.Update] = [_HISTORY[combined]] if history else []
        parts += [_STAGE_CLOSE] if closes else []
        parts += [_STAGE_OPEN] if opens else []
        if combined:
            outbox_insert = _OUTBOX
            for i, part in enumerate(parts):
                outbox_insert = outbox_insert.add_cte(part.cte(f"w{i}"))
            found = (outbox_insert,)
        else:
            found = (*parts, _OUTBOX)
        _SHAPES[key] = found
    return found


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


def event_values(event: WriteEvent) -> dict[str, Any]:
    """The named values every event statement binds (history rows as one JSON array)."""
    safe = {name: (json_safe(old), json_safe(new)) for name, (old, new) in event.changes.items()}
    values: dict[str, Any] = {
        "workspace": event.workspace, "entity": event.entity, "record_id": event.record_id,
        "version": event.version, "actor": event.actor, "at": event.at, "kind": event.kind,
        "payload": _payload(event, safe),
        "history": json.dumps([[name, old, new] for name, (old, new) in safe.items()]) if safe else None}
    if event.stage is not None:
        values["pipeline"], values["stage"] = event.stage.pipeline, event.stage.stage
    return values


def record_event(conn: Connection, event: WriteEvent) -> None:
    """Write the history rows, stage-history rows and the single outbox row of ``event``."""
    values = event_values(event)
    move = event.stage
    shape = _statements(values["history"] is not None, move is not None,
                        move is not None and move.from_stage is not None, conn.dialect.name == "postgresql")
    for stmt in shape:  # platform tables only: safe to keep prepared
        direct(stmt, conn.dialect, prepare=True).execute(conn, values)


def _payload(event: WriteEvent, safe: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
    payload: dict[str, Any] = {"changes": {k: [old, new] for k, (old, new) in safe.items()},
                               "version": event.version, "actor": event.actor}
    move = event.stage
    if move is not None:
        payload["stage"] = {"from": move.from_stage, "to": move.stage, "pipeline": move.pipeline}
        if move.from_pipeline is not None and move.from_pipeline != move.pipeline:
            payload["stage"]["from_pipeline"] = move.from_pipeline
    return payload
