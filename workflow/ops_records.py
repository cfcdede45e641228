"""Steps that change records and steer the run: set, move, create, update, tags, control flow, waits.

Every write goes through the metamodel's ``RecordStore`` inside the step's transaction (a SAVEPOINT
of it), so the record, its history, its outbox event and the instance's new position commit
together; the write is stamped with the run as actor, which is how the outbox consumer follows
chains of automations to the depth limit.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import dsl
from metamodel.records.events import json_safe
from workflow.errors import WorkflowError
from workflow.step import Jump, Outcome, Step, Stop, Wait, handles
from workflow.views import RecordView, record_id_of

#: A ``wait until`` condition reading the clock or another record (``contact.email``) re-checks at
#: least this often (it can turn true with no change of the run's record); every condition also
#: re-checks when the run's record changes (the consumer nudges it).
RECHECK = timedelta(hours=1)
_CLOCK_WORDS = re.compile(r"\b(now|today)\b|[A-Za-z_]\.[A-Za-z_]")  # the clock, or another record


def target(step: Step, ref: dsl.RecordRef) -> tuple[str, int]:
    """The (entity, id) a step writes: the subject or a bound record, then references followed."""
    if ref.binding is None:
        entity, record_id = step.inst.entity, step.inst.record_id
    else:
        entity = next((b.entity for b in step.bindings if b.name == ref.binding), None)
        record_id = step.inst.vars.get(ref.binding)
    for name in ref.refs:
        view = step.loader.view(entity or "", record_id)
        linked = view.get(name) if view is not None else None
        if not isinstance(linked, RecordView):
            raise WorkflowError(f'there is no record at "{name}" to change', code="WF_NO_RECORD")
        entity, record_id = linked.entity, linked.stored.get("id")
    if entity is None or record_id is None:
        raise WorkflowError("this step has no record to change", code="WF_NO_RECORD")
    return entity, int(record_id)


def write(step: Step, entity: str, record_id: int, values: dict[str, Any], *, log: bool = True) -> None:
    """Change a record in the step's transaction; the run log names the change (``moved`` and
    ``assigned`` say it their own way, so they pass ``log=False``)."""
    step.store.update(entity, record_id, values, actor=step.actor, conn=step.conn)
    step.changed_record(entity, record_id)
    if log:
        step.inst.note("changed", entity=entity, record_id=record_id, values=json_safe(values))


def values_of(step: Step, entries: tuple[dsl.Entry, ...]) -> dict[str, Any]:
    return {entry.name: record_id_of(step.eval(entry.value)) for entry in entries}


@handles("set")
def run_set(step: Step, op: dsl.SetOp) -> Outcome:
    grouped: dict[tuple[str, int], dict[str, Any]] = {}
    for assign in op.assignments:
        where = target(step, assign.record)
        grouped.setdefault(where, {})[assign.field] = record_id_of(step.eval(assign.value))
    for (entity, record_id), values in grouped.items():
        write(step, entity, record_id, values)
    return None


@handles("move")
def run_move(step: Step, op: dsl.MoveOp) -> Outcome:
    entity, record_id = target(step, dsl.RecordRef(binding=None, refs=()))
    write(step, entity, record_id, {"pipeline": op.pipeline, "stage": op.stage}, log=False)
    step.inst.note("moved", entity=entity, record_id=record_id, stage=op.stage)
    return None


@handles("create")
def run_create(step: Step, op: dsl.CreateOp) -> Outcome:
    created = step.store.create(op.entity, values_of(step, op.values), actor=step.actor, conn=step.conn)
    if op.bind:
        step.inst.vars[op.bind] = created["id"]
    step.inst.note("created", entity=op.entity, record_id=created["id"])
    return None


@handles("update")
def run_update(step: Step, op: dsl.UpdateOp) -> Outcome:
    entity, record_id = target(step, op.record)
    write(step, entity, record_id, values_of(step, op.values))
    return None


def _retag(step: Step, field: str, tag: Any, add: bool) -> None:
    entity, record_id = target(step, dsl.RecordRef(binding=None, refs=()))
    view = step.loader.view(entity, record_id)
    tags = list(view.stored.get(field) or []) if isinstance(view, RecordView) else []
    text = str(tag)
    changed = [*tags, text] if add and text not in tags else [t for t in tags if t != text]
    if changed != tags:
        write(step, entity, record_id, {field: changed})


@handles("add_tag")
def run_add_tag(step: Step, op: dsl.AddTagOp) -> Outcome:
    _retag(step, op.field, step.eval(op.tag), add=True)
    return None


@handles("remove_tag")
def run_remove_tag(step: Step, op: dsl.RemoveTagOp) -> Outcome:
    _retag(step, op.field, step.eval(op.tag), add=False)
    return None


@handles("jump")
def run_jump(step: Step, op: dsl.JumpOp) -> Outcome:
    return Jump(op.target)


@handles("jump_if_false")
def run_jump_if_false(step: Step, op: dsl.JumpIfFalseOp) -> Outcome:
    return None if step.eval(op.condition) is True else Jump(op.target)


@handles("stop")
def run_stop(step: Step, op: dsl.StopOp) -> Outcome:
    return Stop("stopped")


@handles("wait")
def run_wait(step: Step, op: dsl.WaitOp) -> Outcome:
    until = step.now + timedelta(seconds=op.seconds)
    return Wait(until, {"kind": "sleep", "pc": step.inst.pc, "until": until.isoformat()}, advance=True)


@handles("wait_until")
def run_wait_until(step: Step, op: dsl.WaitUntilOp) -> Outcome:
    """Go on when the condition holds or the deadline passed; else sleep until a nudge or the deadline."""
    wait = step.inst.wait
    resuming = wait is not None and wait.get("pc") == step.inst.pc and wait.get("kind") == "until"
    deadline = _deadline(step, op, wait if resuming else None)
    if step.eval(op.condition) is True:
        step.inst.wait = None
        return None
    if deadline is not None and step.now >= deadline:
        step.inst.wait = None
        step.inst.note("timed out", pc=step.inst.pc)
        return None
    recheck = step.now + RECHECK if _CLOCK_WORDS.search(op.condition.source) else None
    until = min((t for t in (deadline, recheck) if t is not None), default=None)
    return Wait(until, {"kind": "until", "pc": step.inst.pc,
                        "deadline": deadline.isoformat() if deadline else None})


def _deadline(step: Step, op: dsl.WaitUntilOp, wait: dict[str, Any] | None) -> datetime | None:
    if wait is not None:
        return datetime.fromisoformat(wait["deadline"]) if wait.get("deadline") else None
    return step.now + timedelta(seconds=op.timeout_seconds) if op.timeout_seconds is not None else None
