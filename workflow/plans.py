"""The compiled automations of a workspace, per metadata version, pinned in ``sc_wf_plans``.

Why stored: DESIGN.md decision 4 — an instance keeps the plan it started on.  An apply stores the
compiled plan with its metadata version (``metamodel.storage.catalog.save_program_plan``); instances
carry the version, and :func:`plan_at` reads it back, so a later apply (or a newer compiler) never
changes what a running instance does.  The trigger index
(:func:`dsl.trigger_index`) is built once per version, so matching an event costs the automations
that can match it, not how many exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from threading import Lock

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import dsl
from metamodel.clock import SYSTEM_CLOCK
from metamodel.craft_schema import schema_for
from metamodel.storage.catalog import WorkspaceMeta, find_workspace_meta
from metamodel.storage.system_tables import wf_plans
from workflow.errors import WorkflowError


@dataclass(frozen=True)
class WorkspacePlan:
    """One workspace's plan at one metadata version, with its trigger index."""

    workspace: str
    version: int
    plan: dsl.ProgramPlan
    index: dict[tuple[str, str], tuple[dsl.AutomationPlan, ...]] = field(repr=False)

    def matching(self, key: str, kind: str) -> tuple[dsl.AutomationPlan, ...]:
        return self.index.get((key, kind), ())


_CACHE: dict[tuple[str, str, int], WorkspacePlan] = {}
_LOCK = Lock()


def _key(conn: Connection, workspace: str, version: int) -> tuple[str, str, int]:
    return conn.engine.url.render_as_string(hide_password=True), workspace, version


def _make(workspace: str, version: int, plan: dsl.ProgramPlan) -> WorkspacePlan:
    return WorkspacePlan(workspace, version, plan, dsl.trigger_index(plan))


def compile_meta(meta: WorkspaceMeta) -> dsl.ProgramPlan:
    """The plan of the ``.craft`` files stored with ``meta`` (they checked clean when applied)."""
    return dsl.compile_files(dict(meta.automation_files), schema_for(meta.blueprint))


def current_plan(conn: Connection, workspace: str) -> WorkspacePlan | None:
    """The plan of the workspace's current version; None if it was never applied."""
    meta = find_workspace_meta(conn, workspace)
    if meta is None:
        return None
    return _load(conn, meta)


def plan_at(conn: Connection, workspace: str, version: int) -> WorkspacePlan:
    """The plan an instance started on, as stored with its metadata version."""
    found = _CACHE.get(_key(conn, workspace, version))
    if found is not None:
        return found
    stored = _read(conn, workspace, version)
    if stored is None:
        meta = find_workspace_meta(conn, workspace)
        if meta is None or meta.version != version:
            raise WorkflowError(f"the plan of version {version} of workspace {workspace} is not stored",
                                code="WF_PLAN_MISSING", hint="re-apply the blueprint and retry the run")
        return _load(conn, meta)
    return _remember(conn, _make(workspace, version, stored))


def _load(conn: Connection, meta: WorkspaceMeta) -> WorkspacePlan:
    """The stored plan of ``meta``'s version.  A version applied before plans were stored with it
    gets one compiled now, stored in the caller's transaction and cached only once read back
    committed (so a rolled-back caller never leaves a cached plan without its row)."""
    found = _CACHE.get(_key(conn, meta.workspace, meta.version))
    if found is not None:
        return found
    stored = _read(conn, meta.workspace, meta.version)
    if stored is not None:
        return _remember(conn, _make(meta.workspace, meta.version, stored))
    compiled = compile_meta(meta)
    with conn.begin_nested():
        conn.execute(sa.insert(wf_plans).values(
            workspace=meta.workspace, version=meta.version, digest=compiled.digest,
            plan=dsl.plan_to_json(compiled), created_at=SYSTEM_CLOCK.now()))
    return _make(meta.workspace, meta.version, compiled)


def _remember(conn: Connection, plan: WorkspacePlan) -> WorkspacePlan:
    with _LOCK:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[_key(conn, plan.workspace, plan.version)] = plan
    return plan


def _read(conn: Connection, workspace: str, version: int) -> dsl.ProgramPlan | None:
    row = conn.execute(sa.select(wf_plans.c.plan).where(
        wf_plans.c.workspace == workspace, wf_plans.c.version == version)).scalar_one_or_none()
    return None if row is None else dsl.plan_from_json(row)


def forget_plans() -> None:
    """Drop cached plans (tests that recreate databases under the same URL)."""
    with _LOCK:
        _CACHE.clear()
