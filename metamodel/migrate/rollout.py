"""Rolling one blueprint out to several workspaces, and saying what became of each.

Every workspace is planned first, so a refusal in any of them stops the
roll-out before one of them changes.  Each apply is its own transaction: when
one fails, the ones before it stay applied and the ones after it are not
attempted — the outcome of every workspace is reported, so a consultant knows
which to retry.  Problems without a file of their own are placed at the
blueprint file, never at ``<input>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.definitions import Blueprint
from metamodel.errors import MetamodelError, MigrationRefused, Problem
from metamodel.migrate.apply import ApplyResult, apply_blueprint, plan_blueprint
from metamodel.migrate.plan import Plan


class Status(StrEnum):
    APPLIED = "applied"
    REFUSED = "refused"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one workspace: its result when applied, its error when refused or failed."""

    workspace: str
    status: Status
    result: ApplyResult | None = None
    error: Exception | None = None


def blueprint_file(path: str | Path) -> str:
    """The YAML file a blueprint path stands for (a directory means its ``blueprint.yaml``)."""
    from metamodel.blueprint.loader import BLUEPRINT_FILE

    target = Path(path)
    return str(target / BLUEPRINT_FILE if target.is_dir() else target)


def placed(err: MetamodelError, file: str) -> MetamodelError:
    """``err`` with every place that names no file put in ``file``."""

    def at(problem: Problem) -> Problem:
        if problem.place.file:
            return problem
        return dataclasses.replace(problem, place=dataclasses.replace(problem.place, file=file))

    if isinstance(err, MigrationRefused):
        return MigrationRefused([at(p) for p in err.problems])
    if not err.place.file:
        err.place = dataclasses.replace(err.place, file=file)
    return err


def _targets(workspace: str | Sequence[str] | None) -> list[str | None]:
    if workspace is None or isinstance(workspace, str):
        return [workspace]
    return list(workspace) or [None]


def _shown(workspace: str | None, default: str | None) -> str:
    return workspace or default or "(none)"


def _plan_all(engine: Engine, blueprint: Blueprint, targets: list[str | None],
              file: str) -> list[Outcome] | None:
    """Refused outcomes (the rest not attempted) when any workspace refuses; ``None`` when all may go."""
    refused: dict[int, MetamodelError] = {}
    for index, ws in enumerate(targets):
        try:
            problems = plan_blueprint(engine, blueprint, ws).refusals
            if problems:
                refused[index] = placed(MigrationRefused(problems), file)
        except MetamodelError as err:
            refused[index] = placed(err, file)
    if not refused:
        return None
    return [Outcome(_shown(ws, blueprint.workspace), Status.REFUSED, error=refused[i]) if i in refused
            else Outcome(_shown(ws, blueprint.workspace), Status.NOT_ATTEMPTED)
            for i, ws in enumerate(targets)]


def _apply_each(engine: Engine, blueprint: Blueprint, targets: list[str | None], file: str,
                actor: str | None) -> list[Outcome]:
    """Apply in turn; after the first failure the remaining workspaces are not attempted."""
    outcomes: list[Outcome] = []
    for ws in targets:
        name = _shown(ws, blueprint.workspace)
        if outcomes and outcomes[-1].status is not Status.APPLIED:
            outcomes.append(Outcome(name, Status.NOT_ATTEMPTED))
            continue
        try:
            result = apply_blueprint(engine, blueprint, ws, actor=actor)
            outcomes.append(Outcome(name, Status.APPLIED, result))
        except MetamodelError as err:
            outcomes.append(Outcome(name, Status.FAILED, error=placed(err, file)))
        except sa.exc.SQLAlchemyError as err:
            outcomes.append(Outcome(name, Status.FAILED, error=err))
    return outcomes


def roll_out(engine: Engine, path: str | Path, workspace: str | Sequence[str] | None = None, *,
             actor: str | None = None) -> list[Outcome]:
    """Apply the blueprint at ``path`` to each workspace in turn; one outcome per workspace.

    Raises ``BlueprintInvalid`` when the blueprint itself does not load.
    """
    from metamodel.blueprint import load_blueprint

    blueprint = load_blueprint(path)
    file = blueprint_file(path)
    targets = _targets(workspace)
    return _plan_all(engine, blueprint, targets, file) or _apply_each(engine, blueprint, targets, file, actor)


def first_error(outcomes: Sequence[Outcome]) -> Exception | None:
    """The error a roll-out raises: every refusal together, else the one failure."""
    errors = [o.error for o in outcomes if o.error is not None]
    refusals = [e for e in errors if isinstance(e, MigrationRefused)]
    if len(errors) > 1 and len(refusals) == len(errors):
        return MigrationRefused([p for e in refusals for p in e.problems])
    return errors[0] if errors else None


def apply_blueprint_path(engine: Engine, path: str | Path, workspace: str | Sequence[str] | None = None, *,
                         actor: str | None = None) -> list[ApplyResult]:
    """Load the blueprint at ``path`` and apply it to each workspace (default: its ``workspace:``).

    Raises the roll-out's error (see ``roll_out`` for the per-workspace outcomes).
    """
    outcomes = roll_out(engine, path, workspace, actor=actor)
    error = first_error(outcomes)
    if error is not None:
        raise error
    return [o.result for o in outcomes if o.result is not None]


def plan_blueprint_path(engine: Engine, path: str | Path,
                        workspace: str | Sequence[str] | None = None) -> list[Plan]:
    """What applying the blueprint at ``path`` would do to each workspace; changes nothing."""
    from metamodel.blueprint import load_blueprint

    blueprint = load_blueprint(path)
    try:
        return [plan_blueprint(engine, blueprint, ws) for ws in _targets(workspace)]
    except MetamodelError as err:
        raise placed(err, blueprint_file(path)) from None
