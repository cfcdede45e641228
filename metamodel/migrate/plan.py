"""The plan of an apply: every change as a human line, every refusal, and what to execute.

``stagecraft apply --plan`` prints exactly the plan an apply would execute:
both come from ``build_plan``, run on the data as it is, inside the apply's
own transaction when applying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from metamodel.craft_schema import craft_problems
from metamodel.definitions import NUMERIC, Blueprint
from metamodel.errors import Problem
from metamodel.migrate import codes
from metamodel.migrate.changes import (
    Action,
    Diff,
    EntityChange,
    FieldChange,
    diff,
    removed_stages,
    storage_kind,
)
from metamodel.migrate.checks import Findings, check_fields
from metamodel.migrate.dependants import Dependency, find_dependants
from metamodel.migrate.stages import StagePlan, check_stages
from metamodel.migrate.users import UserSync, plan_users
from metamodel.serialize import blueprint_to_dict
from metamodel.storage.catalog import WorkspaceMeta
from metamodel.storage.naming import workspace_names

_SECTIONS = ("roles", "groups", "forms")


@dataclass(frozen=True)
class Plan:
    """What applying ``blueprint`` to ``workspace`` does; empty when nothing would change."""

    workspace: str
    lines: list[str]
    refusals: list[Problem]
    blueprint: Blueprint
    meta: WorkspaceMeta | None = None
    diff: Diff | None = None
    stages: StagePlan = field(default_factory=StagePlan)
    users: UserSync = field(default_factory=UserSync)
    converted: dict[tuple[str, str], list[tuple[int, Any]]] = field(default_factory=dict)
    automation_files: tuple[tuple[str, str], ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.lines and not self.refusals


def _entity_lines(changes: tuple[EntityChange, ...], found: Findings) -> None:
    for change in changes:
        if change.action is Action.ADD and change.new is not None:
            found.lines.append(f"+ {change.name}: add entity ({len(change.new.fields)} fields)")
        elif change.action is Action.ARCHIVE:
            found.lines.append(f"- {change.name}: archive entity (table kept until stagecraft purge)")
        elif change.action is Action.RESTORE:
            found.lines.append(f"+ {change.name}: restore archived entity (data kept)")
        elif change.action is Action.RENAME and change.old is not None:
            found.lines.append(f"~ {change.name}: rename from {change.old.name} (data kept)")


def _section_lines(old: Blueprint | None, new: Blueprint, found: Findings) -> None:
    if old is not None and (old.roles, old.groups, old.forms, old.automations) == (
            new.roles, new.groups, new.forms, new.automations):
        return
    before = blueprint_to_dict(old) if old is not None else {}
    after = blueprint_to_dict(new)
    for section in _SECTIONS:
        a, b = before.get(section, {}), after.get(section, {})
        singular = section[:-1]
        found.lines += [f"+ {singular} {k}: add" for k in b if k not in a]
        found.lines += [f"~ {singular} {k}: change" for k in b if k in a and a[k] != b[k]]
        found.lines += [f"- {singular} {k}: remove" for k in a if k not in b]


def automation_files(blueprint: Blueprint, meta: WorkspaceMeta | None) -> tuple[tuple[str, str], ...]:
    """The text of each listed ``.craft`` file: read next to the blueprint, else as stored before.

    A blueprint parsed from text (an export, stored metadata) has no directory;
    its files keep the text the previous version stored.
    """
    stored = dict(meta.automation_files) if meta is not None else {}
    source = Path(blueprint.source) if blueprint.source else None
    base = source if source is not None and source.is_dir() else (source.parent if source else None)
    files: list[tuple[str, str]] = []
    for entry in blueprint.automations:
        path = base / entry if base is not None else None
        if path is not None and path.is_file():
            files.append((entry, path.read_text(encoding="utf-8")))
        elif entry in stored:
            files.append((entry, stored[entry]))
    return tuple(files)


def _automation_lines(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...],
                      found: Findings) -> None:
    old, new = dict(before), dict(after)
    found.lines += [f"+ automation {p}: add" for p in new if p not in old]
    found.lines += [f"~ automation {p}: change" for p in new if p in old and old[p] != new[p]]
    found.lines += [f"- automation {p}: remove" for p in old if p not in new]


def _touched(change: FieldChange) -> str | None:
    """Why dependants of this field matter: archived, renamed or retyped (else None)."""
    if change.action is Action.ARCHIVE:
        return "archived"
    if change.action is Action.RENAME:
        return "renamed"
    return "retyped" if change.retyped else None


def _dependant_checks(meta: WorkspaceMeta | None, new: Blueprint, d: Diff, found: Findings,
                      files: tuple[tuple[str, str], ...]) -> None:
    """List what uses each touched field or removed stage; refuse what the new blueprint breaks."""
    if meta is None:
        return
    old_uses = find_dependants(meta.blueprint, dict(meta.automation_files))
    new_uses = find_dependants(new, dict(files))
    for change in d.entities:
        old_entity = change.old.name if change.old is not None else change.name
        for fc in change.fields:
            why = _touched(fc)
            if why is None or fc.old is None:
                continue
            for dep in old_uses:
                if (dep.entity, dep.name, dep.kind) == (old_entity, fc.old.name, "field"):
                    found.lines.append(f"    used by {dep.source} ({fc.entity}.{fc.old.name} is {why})")
            _broken(new_uses, fc, why, found)
        _stage_uses(change, old_uses, found)


def _broken(uses: list[Dependency], fc: FieldChange, why: str, found: Findings) -> None:
    assert fc.old is not None
    gone = fc.old.name if why in ("archived", "renamed") else None
    for dep in uses:
        if (dep.entity, dep.kind) != (fc.entity, "field"):
            continue
        retype_break = why == "retyped" and dep.name == fc.name and dep.breaks_on_retype \
            and fc.new is not None and fc.new.type not in NUMERIC
        if dep.name == gone or retype_break:
            found.refuse(codes.DEPENDANT_BROKEN, f"{fc.entity}.{fc.old.name} is {why} but {dep.source} "
                         "still uses it", (fc.new or fc.old).place,
                         f"change {dep.source} in the blueprint too")


def _stage_uses(change: EntityChange, uses: list[Dependency], found: Findings) -> None:
    if change.old is None or change.new is None:
        return
    for pipeline in change.old.pipelines:
        kept = change.new.find_pipeline(pipeline.code)
        codes_gone = removed_stages(pipeline, kept) if kept else list(pipeline.stage_codes())
        for dep in uses:
            if dep.kind == "stage" and dep.entity == change.old.name and dep.name in codes_gone:
                found.lines.append(f"    used by {dep.source} (stage {dep.name} is removed)")


def _automation_checks(new: Blueprint, files: tuple[tuple[str, str], ...], found: Findings) -> None:
    """Refuse when an automation no longer checks against the new blueprint, naming its .craft place.

    Loading a blueprint directory already refuses this; a blueprint given as an object (an export,
    the API) reuses the stored files, and only this check stands between it and a broken automation.
    """
    for problem in craft_problems(new, dict(files)):
        found.refuse(codes.DEPENDANT_BROKEN, f"{problem.place.file} no longer fits the blueprint: "
                     f"{problem.code} {problem.message}", problem.place,
                     problem.hint or "change the automation too")


def _name_clashes(meta: WorkspaceMeta | None, d: Diff, found: Findings) -> None:
    """Refuse a new or renamed name that an archived column or table still occupies."""
    if meta is None:
        return
    hidden = {e.name for e in meta.archived_entities}
    hint = "run stagecraft purge first, or choose another name"
    for change in d.entities:
        if change.action is Action.RENAME and change.name in hidden and change.new is not None:
            found.refuse(codes.NAME_CLASH, f"{change.name}: an archived entity of that name still has its "
                         "table", change.new.place, hint)
        source = change.old.name if change.old is not None else change.name
        archived = {f.name: f for e, f in meta.archived_fields if e == source}
        for fc in change.fields:
            kept = archived.get(fc.name)
            if fc.new is None or kept is None or fc.action not in (Action.ADD, Action.RENAME):
                continue
            if fc.action is Action.RENAME or storage_kind(fc.new) not in ("none", storage_kind(kept)):
                found.refuse(codes.NAME_CLASH, f"{fc.entity}.{fc.name}: an archived {kept.type.value} field "
                             "of that name still holds its data", fc.new.place, hint)


def build_plan(conn: Connection, meta: WorkspaceMeta | None, blueprint: Blueprint, workspace: str) -> Plan:
    """Compare, check the data, and describe: the one plan both ``--plan`` and apply use."""
    names = workspace_names(workspace, conn.dialect.name)
    d = diff(meta, blueprint)
    found = Findings()
    if meta is None:
        found.lines.append(f"+ workspace {workspace}: create")
    _entity_lines(d.entities, found)
    check_fields(conn, names, d.entities, found)
    stages = check_stages(conn, names, d.entities, meta.pipeline_tables if meta else frozenset(), found)
    files = automation_files(blueprint, meta)
    _dependant_checks(meta, blueprint, d, found, files)
    _automation_checks(blueprint, files, found)
    _name_clashes(meta, d, found)
    _section_lines(meta.blueprint if meta else None, blueprint, found)
    _automation_lines(meta.automation_files if meta else (), files, found)
    if not found.lines and meta is not None and meta.blueprint != blueprint:
        found.lines.append("~ definitions: update labels and options that need no table change")
    users = plan_users(conn, workspace, blueprint.users)
    found.lines += users.lines
    found.lines += [f"! {p.message}" for p in found.problems]
    return Plan(workspace=workspace, lines=found.lines, refusals=found.problems, blueprint=blueprint,
                meta=meta, diff=d, stages=stages, users=users, converted=found.converted,
                automation_files=files)
