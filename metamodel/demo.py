"""Load the demo workspace: the online-store blueprint plus six months of orders, on a virtual clock.

Why through ``RecordStore``: the demo's history has to be the real thing — field history, stage
history with entered/left times, outbox events and rollups written by the same code as a user's
writes — so the funnel, cycle-time and history views show what they would show in production.
A ``ManualClock`` is set to each step's moment before the write, so ``created_at``, stage entry
and exit and history times spread over the six months that end now.

Why the outbox rows are marked processed: the history is back-dated, and an automation should
not send six months of order e-mails or open a task per old cart when the server starts.  The
whole load is ONE transaction that also stamps ``processed_at`` on exactly the events it wrote,
so no consumer ever sees them pending.  Nothing else is switched off: a record created or changed
after the load makes its events as usual and triggers automations normally, and when a runner
first syncs the workspace it plans "stays in stage" and date timers that still lie in the future
for the demo's records, as it does for any records that existed before their automation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from metamodel.clock import SYSTEM_CLOCK, ManualClock
from metamodel.db import write_transaction
from metamodel.definitions import Blueprint
from metamodel.demo_data import FULL_SIZE, DemoSize, Ref, Step, demo_steps
from metamodel.errors import MetamodelError, Place
from metamodel.migrate import apply_blueprint_path
from metamodel.records import Actor, RecordStore
from metamodel.storage.catalog import WorkspaceMeta, find_workspace_meta
from metamodel.storage.system_tables import metadata as system_metadata
from metamodel.storage.system_tables import outbox, users

#: What the story writes: entity -> fields it sets (the blueprint must have them all).
NEEDED = {"Product": ("sku", "title", "price", "in_stock"),
          "Customer": ("name", "email", "phone", "city", "source", "tags", "unsubscribed"),
          "Order": ("title", "customer", "products", "amount", "delivery", "comment", "paid", "paid_on")}
STAGES = ("cart", "ordered", "awaiting_payment", "paid", "repeat", "cancelled")

Progress = Callable[[int, int], None]


class DemoError(MetamodelError):
    """The demo cannot be loaded as asked."""

    code = "MM.E620"


class DemoAlreadyLoaded(DemoError):
    """The workspace holds records already: loading again would mix two stories."""

    code = "MM.E621"

    def __init__(self, workspace: str, counts: Mapping[str, int]) -> None:
        shown = ", ".join(f"{n} {e}" for e, n in counts.items() if n)
        super().__init__(f'workspace "{workspace}" already holds records ({shown}); nothing was changed')
        self.workspace, self.counts = workspace, dict(counts)


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What a load made: records per entity, orders per stage now, and the span of the story."""

    workspace: str
    counts: Mapping[str, int]
    stages: Mapping[str, int]
    writes: int
    events_consumed: int
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class _User:
    id: int
    email: str


def existing_records(engine: Engine, workspace: str) -> dict[str, int]:
    """Live records per entity of ``workspace`` (empty when it was never applied)."""
    with engine.connect() as conn:
        meta = find_workspace_meta(conn, workspace)
        if meta is None:
            return {}
        store = RecordStore(engine, meta)
        return {e.name: store.count(e.name, conn=conn) for e in meta.blueprint.entities}


#: Platform tables a reset keeps: the workspace, its metadata and compiled plans, users and tokens.
_KEPT = frozenset({"sc_workspaces", "sc_metadata_versions", "sc_wf_plans", "sc_users", "sc_api_tokens"})


def clear_records(engine: Engine, workspace: str) -> dict[str, int]:
    """Delete every record of ``workspace`` and what happened to them, for ``demo --reset``.

    One transaction: the entity tables (junctions first), then the workspace's rows in every
    platform table except ``_KEPT`` — history, stage history, outbox, runs, timers, tasks,
    messages, notes, broadcasts.  Returns the live records per entity that were there; a
    workspace that was never applied is left alone (``{}``).
    """
    counts = existing_records(engine, workspace)
    with write_transaction(engine) as conn:
        meta = find_workspace_meta(conn, workspace)
        if meta is None:
            return {}
        for table in reversed(meta.tables.metadata.sorted_tables):
            conn.execute(table.delete())
        for table in system_metadata.sorted_tables:
            if table.name not in _KEPT and "workspace" in table.c:
                conn.execute(table.delete().where(table.c.workspace == workspace))
    return counts


def load_demo(engine: Engine, path: str | Path, *, workspace: str | None = None, seed: int = 7,
              size: DemoSize = FULL_SIZE, now: datetime | None = None,
              progress: Progress | None = None) -> DemoResult:
    """Apply the blueprint at ``path`` and write the demo's records, all in the past of ``now``.

    Raises ``DemoAlreadyLoaded`` (changing nothing, not even the blueprint) when the workspace has
    records, ``DemoError`` when the blueprint lacks what the story writes.
    """
    from metamodel.blueprint import load_blueprint

    blueprint = load_blueprint(path)
    _check_fit(blueprint, str(path))
    name = workspace or blueprint.workspace or ""
    counts = existing_records(engine, name) if name else {}
    if any(counts.values()):
        raise DemoAlreadyLoaded(name, counts)
    name = apply_blueprint_path(engine, path, workspace)[0].workspace
    with engine.connect() as conn:
        meta = find_workspace_meta(conn, name)
        assert meta is not None  # just applied
        owners = _sales_users(conn, meta)
    end = now or SYSTEM_CLOCK.now()
    steps = demo_steps(size, seed, end, len(owners))
    with write_transaction(engine) as conn:
        counts = {e.name: RecordStore(engine, meta).count(e.name, conn=conn) for e in meta.blueprint.entities}
        if any(counts.values()):  # someone wrote in between
            raise DemoAlreadyLoaded(name, counts)
        before = conn.execute(sa.select(sa.func.max(outbox.c.id))).scalar() or 0
        made = _replay(conn, RecordStore(engine, meta, ManualClock(end)), steps, owners, progress)
        consumed = conn.execute(sa.update(outbox).where(
            outbox.c.workspace == name, outbox.c.id > before, outbox.c.processed_at.is_(None))
            .values(processed_at=end)).rowcount
        stages = _stage_counts(conn, engine, meta)
    return DemoResult(name, made, stages, len(steps), consumed, steps[0].at if steps else end,
                      steps[-1].at if steps else end)


def _check_fit(blueprint: Blueprint, file: str) -> None:
    """The story writes online-store's entities, fields and stages: say which one is missing."""
    place = Place(file=file)
    for entity, fields in NEEDED.items():
        found = blueprint.find_entity(entity)
        if found is None:
            raise DemoError(f"the demo data is written for examples/online-store: this blueprint has no "
                            f"entity {entity}", place=place)
        missing = [f for f in fields if f not in {fld.name for fld in found.fields}]
        if missing:
            raise DemoError(f"the demo data needs {entity}.{missing[0]}, which this blueprint lacks",
                            place=place)
    orders = blueprint.find_entity("Order")
    pipeline = orders.default_pipeline if orders is not None else None
    codes = pipeline.stage_codes() if pipeline is not None else ()
    missing_stages = [s for s in STAGES if s not in codes]
    if missing_stages or pipeline is None or codes[0] != STAGES[0]:
        raise DemoError(f"the demo data needs an Order pipeline starting at cart with the stages "
                        f"{', '.join(STAGES)}", place=place)


def _sales_users(conn: Connection, meta: WorkspaceMeta) -> list[_User]:
    """Active users who may create orders (they own and move the demo's records), by email."""
    roles = {r.name: r for r in meta.blueprint.roles}
    rows = conn.execute(sa.select(users.c.id, users.c.email, users.c.role).where(
        users.c.workspace == meta.workspace, users.c.active.is_(True)).order_by(users.c.email))
    return [_User(row.id, row.email) for row in rows if row.role == "admin"
            or (row.role in roles and "create" in roles[row.role].actions_for("Order"))]


def _replay(conn: Connection, store: RecordStore, steps: list[Step], owners: list[_User],
            progress: Progress | None) -> dict[str, int]:
    """Write every step at its moment (the store's clock is set first); records made per entity."""
    clock = store.clock
    assert isinstance(clock, ManualClock)
    ids: dict[str, int] = {}
    made = {entity: 0 for entity in NEEDED}
    writable = {e: {"owner", "stage", *(f.name for f in store.meta.blueprint.get_entity(e).fields)}
                for e in NEEDED}
    for done, step in enumerate(steps, start=1):
        clock.set(step.at)
        values = _input(step.values, ids, owners, writable[step.entity])
        who = owners[step.actor] if step.actor is not None else None
        actor = Actor(who.id, who.email) if who is not None else None
        if step.create:
            ids[step.key] = store.create(step.entity, values, actor=actor, conn=conn)["id"]
            made[step.entity] += 1
        else:
            store.update(step.entity, ids[step.key], values, actor=actor, conn=conn)
        if progress is not None:
            progress(done, len(steps))
    return made


def _input(values: Mapping[str, Any], ids: Mapping[str, int], owners: list[_User],
           writable: set[str]) -> dict[str, Any]:
    """A step's values as the store takes them: references as ids, the owner as a user id.

    Fields the blueprint does not have are left out: the story also fills fields that only the
    store's automations use (``visits``, ``discount``), which an edited blueprint may drop.
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in writable:
            continue
        if name == "owner":
            if value is not None:
                out[name] = owners[value].id
        elif isinstance(value, Ref):
            out[name] = ids[value.key]
        elif isinstance(value, list) and value and isinstance(value[0], Ref):
            out[name] = [ids[ref.key] for ref in value]
        else:
            out[name] = value
    return out


def _stage_counts(conn: Connection, engine: Engine, meta: WorkspaceMeta) -> dict[str, int]:
    groups = RecordStore(engine, meta).group_by("Order", ["stage"], conn=conn)
    found = {str(g["key"]["stage"]): int(g["count"]) for g in groups}
    return {code: found.get(code, 0) for code in STAGES}
