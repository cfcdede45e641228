"""Runs as the admin reads them: list, one run, its log, retry — always inside one workspace.

An admin watches rules run and fixes what failed (DESIGN.md, "Admins"): a failed run keeps its error
and the step's place on its row, so a list of failed runs says what broke and where, a run's log
tells its story, and a retry puts it back to work at the failed step once the cause is fixed.
Every lookup is scoped to one workspace: an id of another workspace is "not found", exactly as an
id that does not exist, so nothing leaks across clients.  The surfaces (``stagecraft runs``, the
GraphQL API) format these; they run no SQL of their own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.storage.system_tables import outbox, wf_instances, wf_log
from workflow.errors import WorkflowError
from workflow.interpreter import retry
from workflow.readers import checked_limit
from workflow.runtime import Runtime

STATUSES = ("running", "waiting", "done", "failed", "cancelled")
_PLACE = re.compile(r"\(at ([^()]+:\d+:\d+)\)\s*$")
_i = wf_instances.c


class RunNotFound(WorkflowError):
    """No run with this id in this workspace (it may exist in another one: that is not said)."""

    code = "WF_RUN_NOT_FOUND"

    def __init__(self, workspace: str, run_id: int) -> None:
        super().__init__(f"there is no run {run_id} in workspace {workspace}",
                         hint=f"list them with: stagecraft runs list --workspace {workspace}")


class RunNotFailed(WorkflowError):
    """Only a failed run can be retried; the others are running, waiting or finished."""

    code = "WF_RUN_NOT_FAILED"

    def __init__(self, run_id: int, status: str) -> None:
        super().__init__(f"run {run_id} is {status}, not failed: only a failed run can be retried")


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run as the admin reads it."""

    id: int
    kind: str
    name: str
    entity: str | None
    record_id: int | None
    status: str
    step: int
    error: str | None
    updated_at: datetime
    wake_at: datetime | None = None

    @property
    def position(self) -> int:
        """The step the run is at (its ``pc``), as the API names it."""
        return self.step

    @property
    def record(self) -> str | None:
        """``Deal #5``: the record the run works on (None for a run about no record)."""
        return f"{self.entity} #{self.record_id}" if self.entity and self.record_id is not None else None

    @property
    def place(self) -> str:
        """Where the failing step is written (``rules.craft:4:3``), else the step's number."""
        found = _PLACE.search(self.error or "")
        return found.group(1) if found else f"step {self.step + 1}"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a run's log."""

    at: datetime
    kind: str
    detail: dict[str, Any]


def _require_tables(engine: Engine) -> None:
    """A database without the platform's tables says so, instead of "no such table"."""
    if not sa.inspect(engine).has_table(wf_instances.name):
        raise WorkflowError("this database has no Stagecraft tables yet", code="WF_NOT_INITIALISED",
                            hint="run `stagecraft init` or apply a blueprint first")


def list_runs(engine: Engine, workspace: str, *, status: str | None = None,
              entities: Sequence[str] | None = None, limit: int = 50) -> list[RunRow]:
    """The workspace's most recently changed runs, newest first (only ``status`` ones, and only runs
    on ``entities``, when given)."""
    if status is not None and status not in STATUSES:
        raise WorkflowError(f'unknown run status "{status}" (statuses: {", ".join(STATUSES)})',
                            code="WF_BAD_STATUS")
    _require_tables(engine)
    query = sa.select(wf_instances).where(_i.workspace == workspace)
    if entities is not None:
        query = query.where(_i.entity.in_(list(entities)))
    if status is not None:
        query = query.where(_i.status == status)
    query = query.order_by(_i.updated_at.desc(), _i.id.desc()).limit(checked_limit(limit))
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(query).mappings()]


def get_run(engine: Engine, workspace: str, run_id: int) -> RunRow:
    """The run ``run_id`` of ``workspace``; :class:`RunNotFound` otherwise."""
    _require_tables(engine)
    with engine.connect() as conn:
        found = conn.execute(sa.select(wf_instances).where(
            _i.workspace == workspace, _i.id == run_id)).mappings().first()
    if found is None:
        raise RunNotFound(workspace, run_id)
    return _row(found)


def run_log(engine: Engine, workspace: str, run_id: int) -> list[LogLine]:
    """The run's log lines in the order they were written."""
    get_run(engine, workspace, run_id)
    log = wf_log.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(log.at, log.kind, log.detail).where(
            log.workspace == workspace, log.instance_id == run_id).order_by(log.id)).all()
    return [LogLine(at=r.at, kind=r.kind, detail=dict(r.detail or {})) for r in rows]


def retry_run(engine: Engine, workspace: str, run_id: int) -> None:
    """Put a failed run of ``workspace`` back to work at the step that failed."""
    run = get_run(engine, workspace, run_id)
    if run.status != "failed" or not retry(Runtime(engine), workspace, run_id):
        raise RunNotFailed(run_id, get_run(engine, workspace, run_id).status)


def _row(found: Any) -> RunRow:
    return RunRow(id=int(found["id"]), kind=found["kind"], name=found["name"], entity=found["entity"],
                  record_id=found["record_id"], status=found["status"], step=int(found["pc"]),
                  error=found["error"], updated_at=found["updated_at"], wake_at=found["wake_at"])


@dataclass(frozen=True, slots=True)
class WorkflowCounts:
    runs_by_status: dict[str, int]
    pending_outbox: int


def workflow_counts(engine: Engine) -> WorkflowCounts:
    """Runs per status across every workspace, and outbox events not yet processed (what the
    metrics endpoint reports; blocking)."""
    runs = sa.select(wf_instances.c.status, sa.func.count()).group_by(wf_instances.c.status)
    pending = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.processed_at.is_(None))
    with engine.connect() as conn:
        by_status = {str(status): int(n) for status, n in conn.execute(runs)}
        waiting = int(conn.execute(pending).scalar_one())
    return WorkflowCounts({s: by_status.get(s, 0) for s in (*STATUSES, *sorted(by_status))}, waiting)
