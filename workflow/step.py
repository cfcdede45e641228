"""One step of one run: what an op handler sees, and what it can answer.

Handlers (``ops_*.py``) are plain functions ``handler(step, op) -> Outcome`` registered in
:data:`HANDLERS`.  They run inside the step's transaction: every database effect of a step commits
together with the instance's new position, so a crash either loses the whole step (it runs again)
or none of it — a record is never created twice.  Effects outside the database answer
:class:`Outside`: the position is saved first, the effect runs with no transaction open, and
``finish`` records its result in a second transaction (see ``interpreter``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

import dsl
from metamodel.records.actor import Actor
from metamodel.records.store import RecordStore
from workflow.instances import Instance
from workflow.plans import WorkspacePlan
from workflow.runtime import Runtime, compiled
from workflow.views import Loader, as_of


@dataclass(frozen=True)
class Jump:
    target: int


@dataclass(frozen=True)
class Wait:
    """Sleep until ``until`` (None: until something nudges the instance); ``advance``: resume after
    this op (plain ``wait``) instead of re-running it (``wait until``, tasks, approvals)."""

    until: datetime | None
    wait: dict[str, Any]
    advance: bool = False


@dataclass(frozen=True)
class Stop:
    reason: str = "stop"


@dataclass(frozen=True)
class Outside:
    """An effect outside the database: ``perform()`` runs with no transaction open; ``finish(step,
    result)`` runs in the next step's transaction and answers like a handler."""

    perform: Callable[[], Any]
    finish: Callable[[Step, Any], Outcome]


Outcome = None | Jump | Wait | Stop | Outside


@dataclass
class Step:
    runtime: Runtime
    conn: Connection
    inst: Instance
    plan: WorkspacePlan
    store: RecordStore
    now: datetime
    bindings: tuple[dsl.Binding, ...]
    code: tuple[dsl.Instruction, ...] = ()
    budget: dsl.Budget = field(default_factory=dsl.Budget)
    _loader: Loader | None = None

    @property
    def loader(self) -> Loader:
        if self._loader is None:
            self._loader = Loader(self.conn, self.store)
        return self._loader

    @property
    def actor(self) -> Actor:
        """How history names writes of this run: ``automation:NAME#ID`` (the depth limit reads it)."""
        return Actor(email=f"{self.inst.kind}:{self.inst.name}#{self.inst.id}")

    def key(self, op: dsl.Instruction, suffix: str = "") -> str:
        """The idempotency key of ``op`` in this run (same on every retry)."""
        return f"{self.inst.workspace}:{self.inst.id}:{op.effect_key or op.op}{suffix}"

    def subject(self) -> Mapping[str, Any] | None:
        return self.loader.view(self.inst.entity, self.inst.record_id) if self.inst.entity else None

    def context(self) -> dsl.EvalContext:
        ctx = self.inst.context
        subject = self.subject() or {}
        return dsl.EvalContext(
            now=self.now, record=subject, old=self._old(subject, ctx),
            changed=frozenset(ctx.get("changed", ())), form=ctx.get("form"), payload=ctx.get("payload"),
            bindings=self._bound(), budget=self.budget)

    def eval(self, ref: dsl.ExprRef) -> Any:
        return compiled(ref.source)(self.context())

    def changed_record(self, entity: str, record_id: int) -> None:
        self.loader.forget(entity, record_id)

    def _old(self, subject: Mapping[str, Any], ctx: Mapping[str, Any]) -> Mapping[str, Any] | None:
        changes = ctx.get("changes")
        if changes is None:
            return None
        return as_of(self.loader, self.inst.entity or "", subject, changes, after=False)

    def _bound(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for binding in self.bindings:
            if binding.name not in self.inst.vars:
                continue
            value = self.inst.vars[binding.name]
            found[binding.name] = self.loader.view(binding.entity, value) if binding.entity else value
        return found


Handler = Callable[[Step, Any], Outcome]
HANDLERS: dict[str, Handler] = {}


def handles(op: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[op] = fn
        return fn
    return register
