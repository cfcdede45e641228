"""Runs a claimed instance step by step: one transaction per step, outside effects between two.

Why a transaction per step: the step's effects (records, tasks, notifications, message rows) and
the instance's new ``pc`` commit together, so a crash loses the step entirely and the rescue runs
it again — never half of it, never twice.  An effect outside the database (SMTP, a webhook) cannot
join a transaction: the engine saves the position, performs the effect under an idempotency key
with no transaction open, then records the result; a crash in between repeats the effect with the
same key, which the receiver (or our own effect log) deduplicates.

Failures: an error a retry can fix (a database hiccup, a provider that is down) is retried with
backoff; any other error (a bad value, a refused write) fails the instance at once with the error
and the step's place kept on the row — visible to the admin and retryable (:func:`retry`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

import dsl
from metamodel.db import write_transaction
from metamodel.errors import MetamodelError
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import wf_instances
from workflow import instances as rows
from workflow.backoff import step_retry_at
from workflow.errors import WorkflowError
from workflow.instances import DONE, FAILED, LIVE, RUNNING, WAITING, Instance
from workflow.plans import plan_at
from workflow.runtime import STEPS_PER_TURN, Runtime
from workflow.step import HANDLERS, Jump, Outcome, Outside, Step, Stop, Wait

log = logging.getLogger("stagecraft.workflow")
_PAUSE = object()  # the instance is waiting, done or no longer ours: stop this turn


class StepFailed(Exception):
    """A step's error, worded for the admin, with whether a retry can help."""

    def __init__(self, text: str, retryable: bool) -> None:
        super().__init__(text)
        self.text = text
        self.retryable = retryable


def run_instance(runtime: Runtime, instance_id: int, lease: str) -> None:
    """Advance a claimed instance until it waits, ends, fails or has taken its share of steps."""
    for _ in range(STEPS_PER_TURN):
        try:
            result = _step(runtime, instance_id, lease)
            if isinstance(result, tuple):
                result = _outside(runtime, instance_id, lease, *result)
        except StepFailed as failure:
            _fail(runtime, instance_id, lease, failure)
            return
        except Exception as exc:  # a bug must not wedge the run: retried, then failed, never lost
            log.exception("workflow step crashed (run %s)", instance_id)
            crashed = StepFailed(f"WF_INTERNAL the step crashed ({type(exc).__name__})", True)
            _fail(runtime, instance_id, lease, crashed)
            return
        if result is _PAUSE:
            return
    _yield_turn(runtime, instance_id, lease)


def _now(runtime: Runtime) -> datetime:
    return runtime.clock.now()


def _step(runtime: Runtime, instance_id: int, lease: str) -> object:
    """One step in one transaction; an :class:`Outside` comes back as ``(outside, pc)``."""
    with _guarded(), write_transaction(runtime.engine) as conn:
        inst = rows.load(conn, instance_id)
        if inst is None or inst.lease != lease or inst.status not in LIVE:
            return _PAUSE
        step = _make_step(runtime, conn, inst)
        code = _code(step)
        if inst.status == WAITING and not _resume(step, code):
            rows.save(conn, inst, step.now)
            return _PAUSE
        if inst.pc >= len(code):
            _finish(inst, step.now, "done")
            rows.save(conn, inst, step.now)
            return _PAUSE
        op = code[inst.pc]
        outcome = _run_op(step, op)
        if isinstance(outcome, Outside):
            inst.wait = {"kind": "outside", "pc": inst.pc}
            inst.wake_at = step.now + step.runtime.config.lease
            rows.save(conn, inst, step.now)
            return outcome, inst.pc
        return _apply(step, outcome, len(code))


def _outside(runtime: Runtime, instance_id: int, lease: str, outside: Outside, pc: int) -> object:
    """Perform an outside effect with no transaction open, then record its result."""
    try:
        with _heartbeat(runtime, instance_id, lease):
            result = outside.perform()
    except WorkflowError as exc:
        raise StepFailed(f"{exc}", exc.retryable) from exc
    with _guarded(), write_transaction(runtime.engine) as conn:
        inst = rows.load(conn, instance_id)
        if inst is None or inst.lease != lease or inst.pc != pc or inst.status not in LIVE:
            return _PAUSE
        step = _make_step(runtime, conn, inst)
        inst.wait = None
        return _apply(step, outside.finish(step, result), len(_code(step)))


def _make_step(runtime: Runtime, conn: Connection, inst: Instance) -> Step:
    meta = load_workspace_meta(conn, inst.workspace)
    plan = plan_at(conn, inst.workspace, inst.plan_version)
    program = plan.plan.find_automation(inst.name) if inst.kind == "automation" else \
        plan.plan.find_process(inst.name)
    if program is None:
        raise StepFailed(f'WF_UNKNOWN_PROGRAM {inst.kind} "{inst.name}" is not in its plan', False)
    return Step(runtime, conn, inst, plan, RecordStore(runtime.engine, meta, runtime.clock),
                _now(runtime), program.bindings, program.code)


def _code(step: Step) -> tuple[dsl.Instruction, ...]:
    return step.code


def _run_op(step: Step, op: dsl.Instruction) -> Outcome:
    handler = HANDLERS.get(op.op)
    if handler is None:
        raise StepFailed(f"WF_UNKNOWN_OP this engine cannot run the step {op.op!r}", False)
    try:
        return handler(step, op)
    except (dsl.CraftRuntimeError, MetamodelError, WorkflowError) as exc:
        # an apply between loading the metadata and writing: the next attempt loads the new one
        retryable = (isinstance(exc, WorkflowError) and exc.retryable) or exc.code == "METADATA_CHANGED"
        raise StepFailed(f"{_worded(exc)} (at {op.at.file}:{op.at.line}:{op.at.col})", retryable) from exc


def _worded(exc: Exception) -> str:
    code = getattr(exc, "code", "WF_ERROR")
    message = getattr(exc, "message", None) or str(exc)
    fields = getattr(exc, "fields", None)
    if fields:
        message = "; ".join(f"{name}: {reason}" for name, reason in dict(fields).items())
    return f"{code} {message}"


def _apply(step: Step, outcome: Outcome, length: int) -> object:
    """Move the instance as ``outcome`` says and save it; :data:`_PAUSE` unless it may go on."""
    inst = step.inst
    inst.attempts, inst.error = 0, None
    if isinstance(outcome, Stop):
        _finish(inst, step.now, outcome.reason)
    elif isinstance(outcome, Wait):
        inst.pc += 1 if outcome.advance else 0
        inst.status, inst.wait, inst.wake_at, inst.lease = WAITING, outcome.wait, outcome.until, None
        until = outcome.until.isoformat() if outcome.until else None
        detail = {("for" if k == "kind" else k): v for k, v in outcome.wait.items()}
        inst.note("waiting", **{**detail, "until": until})
    else:
        inst.pc = outcome.target if isinstance(outcome, Jump) else inst.pc + 1
        inst.wake_at = step.now + step.runtime.config.lease
        if inst.pc >= length:
            _finish(inst, step.now, "done")
    rows.save(step.conn, inst, step.now)
    return None if inst.status == RUNNING else _PAUSE


def _resume(step: Step, code: tuple[dsl.Instruction, ...]) -> bool:
    """A waiting instance was woken: go on (True) or stay waiting with a new ``wake_at`` (False)."""
    inst, wait = step.inst, step.inst.wait or {}
    if wait.get("kind") == "sleep":
        until = datetime.fromisoformat(wait["until"])
        if step.now < until:
            inst.wake_at, inst.lease = until, None
            return False
    inst.status, inst.lease = RUNNING, inst.lease
    if wait.get("kind") == "sleep":
        inst.wait = None
        inst.note("woke")
    return True


def _finish(inst: Instance, now: datetime, how: str) -> None:
    inst.status, inst.wake_at, inst.lease, inst.wait, inst.finished_at = DONE, None, None, None, now
    inst.note("done" if how == "done" else "stopped")


def _fail(runtime: Runtime, instance_id: int, lease: str, failure: StepFailed) -> None:
    """Record a failure in a fresh transaction: retry later with backoff, or fail the instance."""
    with write_transaction(runtime.engine) as conn:
        inst = rows.load(conn, instance_id)
        if inst is None or inst.lease != lease:
            return
        now = _now(runtime)
        inst.attempts += 1
        inst.error, inst.lease = failure.text, None
        if failure.retryable and inst.attempts < runtime.config.max_attempts:
            # a failed wake-up of a waiting run retries the wake-up: it stays waiting (a sleep stays a sleep)
            inst.wake_at = step_retry_at(now, inst.attempts)
            inst.note("retrying", error=failure.text, attempt=inst.attempts)
        else:
            inst.status, inst.wake_at = FAILED, None
            inst.note("failed", error=failure.text, pc=inst.pc)
        rows.save(conn, inst, now)


def _yield_turn(runtime: Runtime, instance_id: int, lease: str) -> None:
    """After its share of steps a run goes to the back of the queue (due now, lease released)."""
    with write_transaction(runtime.engine) as conn:
        inst = rows.load(conn, instance_id)
        if inst is not None and inst.lease == lease and inst.status == RUNNING:
            inst.lease, inst.wake_at = None, _now(runtime)
            rows.save(conn, inst, inst.wake_at)


@contextmanager
def _heartbeat(runtime: Runtime, instance_id: int, lease: str) -> Iterator[None]:
    """Keep the lease alive while an outside effect runs, however long its retries take.

    Without it, a webhook slower than the lease (three attempts with timeouts and Retry-After) would
    look like a dead runner: another one would claim the run and make the same call again.
    """
    stop = threading.Event()
    every = max(runtime.config.lease_seconds / 3, 0.05)

    def beat() -> None:
        while not stop.wait(every):
            try:
                with write_transaction(runtime.engine) as conn:
                    conn.execute(sa.update(wf_instances).where(
                        wf_instances.c.id == instance_id, wf_instances.c.lease == lease,
                    ).values(wake_at=runtime.clock.now() + runtime.config.lease))
            except Exception:  # a missed beat only risks a rescue; the lease check keeps that safe
                log.warning("could not extend the lease of run %s", instance_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"stagecraft-lease-{instance_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def _guarded() -> Iterator[None]:
    """Turn database trouble inside a step into a retryable :class:`StepFailed`."""
    try:
        yield
    except (OperationalError, DBAPIError) as exc:
        log.warning("workflow step hit a database error: %s", exc)
        raise StepFailed(f"WF_DATABASE the database refused the step: {type(exc).__name__}", True) from exc


def retry(runtime: Runtime, workspace: str, instance_id: int) -> bool:
    """Put a failed instance of ``workspace`` back to work at the step that failed (the admin's
    "retry"); False when there is no such failed instance in that workspace."""
    with write_transaction(runtime.engine) as conn:
        inst = rows.load(conn, instance_id)
        if inst is None or inst.workspace != workspace or inst.status != FAILED:
            return False
        now = _now(runtime)
        inst.status, inst.attempts, inst.wake_at, inst.finished_at = RUNNING, 0, now, None
        inst.note("retried", error=inst.error)
        rows.save(conn, inst, now)
        return True
