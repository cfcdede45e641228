"""The write path of records: create, update, soft delete and restore.

A create is: coerce in Python (rules compiled in ``plan``), one existence query
per referenced entity, one INSERT … RETURNING, and the fixed event statements
of ``events``.  Every function takes the caller's connection: the facade
decides where the transaction begins and ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from metamodel.clock import Clock
from metamodel.definitions import PipelineDef
from metamodel.errors import UnknownStage, ValidationFailed, VersionConflict
from metamodel.records.actor import Actor
from metamodel.records.coerce import UserEmail
from metamodel.records.direct import direct
from metamodel.records.events import StageMove, WriteEvent, record_event
from metamodel.records.plan import (
    WORKSPACE_BIND,
    WritePlan,
    as_record_id,
    exists_for,
    insert_checking,
    load_many,
    load_row,
    not_found,
    plan_for,
)
from metamodel.records.versions import check_applied
from metamodel.storage.catalog import WorkspaceMeta
from metamodel.storage.system_tables import users

_USERS_FIND = sa.select(users.c.id, sa.func.lower(users.c.email)).where(
    users.c.workspace == sa.bindparam("ws"), users.c.active.is_(True),
    sa.or_(users.c.id.in_(sa.bindparam("ids", expanding=True)),
           sa.func.lower(users.c.email).in_(sa.bindparam("emails", expanding=True))))


@dataclass(frozen=True, slots=True)
class Scope:
    """Who writes, when, in which workspace: the parts of a write that are not its input."""

    meta: WorkspaceMeta
    clock: Clock
    actor: Actor


# ---- checks that need the database --------------------------------------------------------


_DIRECT_IN_LIMIT = 16


def _live_ids(conn: Connection, plan: WritePlan, target: str, ids: list[int]) -> set[int]:
    """Which of ``ids`` are live records of ``target``: one query (direct when the list is short)."""
    if len(ids) > _DIRECT_IN_LIMIT:
        return set(conn.execute(plan.exists[target], {"ids": ids}).scalars())
    stmt = direct(exists_for(plan, target, len(ids)), conn.dialect, prepare=True)  # returns ids only
    return {row[0] for row in stmt.execute(conn, {f"id{k}": i for k, i in enumerate(ids)})}


def check_links(conn: Connection, plan: WritePlan, values: dict[str, Any],
                skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Problems with references, many-links and users: one query per target entity, not per field.

    Users given by email are replaced by their ids in ``values``.  Fields in
    ``skip`` are checked by the INSERT itself (see ``plan.insert_checking``).
    """
    wanted: dict[str, list[tuple[str, list[int]]]] = {}
    for name, target in plan.references.items():
        value = values.get(name) if name not in skip else None
        if value:
            wanted.setdefault(target, []).append((name, value if isinstance(value, list) else [value]))
    problems: dict[str, str] = {}
    for target, uses in wanted.items():
        found = _live_ids(conn, plan, target, _all_ids(uses))
        _report_missing(uses, found, f"no {target} with id", problems)
    people = {n: values[n] for n in plan.user_fields if values.get(n) is not None}
    if people:
        problems.update(_resolve_users(conn, plan.workspace, people))
        values.update((n, v) for n, v in people.items() if n not in problems)
    return problems


def _resolve_users(conn: Connection, workspace: str, people: dict[str, Any]) -> dict[str, str]:
    """Check active users of the workspace by id or email (one query); emails become ids in place."""
    emails = sorted({v for v in people.values() if isinstance(v, UserEmail)})
    ids = sorted({v for v in people.values() if not isinstance(v, UserEmail)})
    rows = conn.execute(_USERS_FIND, {"ws": workspace, "ids": ids, "emails": emails}).all()
    by_id = {row[0] for row in rows}
    by_email = {row[1]: row[0] for row in rows}
    problems: dict[str, str] = {}
    for name, value in people.items():
        if isinstance(value, UserEmail):
            if value in by_email:
                people[name] = by_email[value]
            else:
                problems[name] = f"no active user with email {value}"
        elif value not in by_id:
            problems[name] = f"no active user with id {value}"
    return problems


def _all_ids(uses: list[tuple[str, list[int]]]) -> list[int]:
    return sorted({i for _, ids in uses for i in ids})


def _report_missing(uses: list[tuple[str, list[int]]], found: set[int], reason: str,
                    problems: dict[str, str]) -> None:
    for name, ids in uses:
        missing = [str(i) for i in ids if i not in found]
        if missing:
            problems[name] = f"{reason} {', '.join(missing)}"


def unique_problem(plan: WritePlan, exc: IntegrityError) -> dict[str, str] | None:
    """Map a unique violation to its field, by constraint name (PostgreSQL) or column (SQLite)."""
    diag = getattr(exc.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    field = plan.unique.get(name) if name else None
    text = str(exc.orig)
    if field is None and "UNIQUE constraint failed:" in text:
        column = text.split("UNIQUE constraint failed:", 1)[1].split(",")[0].strip()
        field = plan.unique.get(column.rsplit(".", 1)[-1])
    if field is None:
        return None
    return {field: f"must be unique: another {plan.entity.name} already has this value"}


@contextmanager
def unique_violations_refused(plan: WritePlan) -> Iterator[None]:
    """Turn a unique or reference violation inside the block into VALIDATION_FAILED on that field."""
    try:
        yield
    except IntegrityError as exc:
        problem = unique_problem(plan, exc) or missing_target_problem(plan, exc)
        if problem is None:
            raise
        raise ValidationFailed(problem) from None


_FK_DETAIL = re.compile(r"Key \((\w+)\)=\((\d+)\) is not present")


def missing_target_problem(plan: WritePlan, exc: IntegrityError) -> dict[str, str] | None:
    """A PostgreSQL foreign-key violation of a reference field, worded as the link check words it."""
    detail = getattr(getattr(exc.orig, "diag", None), "message_detail", None) or ""
    found = _FK_DETAIL.search(detail)
    if found is None or found.group(1) not in plan.references:
        return None
    return {found.group(1): f"no {plan.references[found.group(1)]} with id {found.group(2)}"}


def _inline_checks(conn: Connection, plan: WritePlan, values: Mapping[str, Any],
                   problems: Mapping[str, str]) -> tuple[str, ...]:
    """Reference fields whose check can ride on the INSERT: PostgreSQL, single ids, input otherwise clean.

    With other problems the separate check runs, so every problem is still reported at once.
    """
    if conn.dialect.name != "postgresql" or problems:
        return ()
    return tuple(name for name in plan.references if name not in plan.junctions and values.get(name))


# ---- pipelines and stages -----------------------------------------------------------------


def _pipeline(plan: WritePlan, code: Any) -> PipelineDef:
    found = plan.entity.find_pipeline(code) if isinstance(code, str) else None
    if found is None:
        valid = ", ".join(p.code for p in plan.entity.pipelines)
        raise UnknownStage(f'{plan.entity.name} has no pipeline "{code}"; valid pipelines: {valid}')
    return found


def _stage(pipeline: PipelineDef, code: Any) -> str:
    if not isinstance(code, str) or pipeline.find_stage(code) is None:
        valid = ", ".join(pipeline.stage_codes())
        raise UnknownStage(f'"{code}" is not a stage of pipeline {pipeline.code}; valid stages: {valid}')
    return code


def pop_stage_input(plan: WritePlan, values: dict[str, Any]) -> tuple[Any, Any]:
    """Take ``pipeline`` and ``stage`` out of the input (they are columns, not fields)."""
    if not plan.entity.pipelines:
        return None, None
    return values.pop("pipeline", None), values.pop("stage", None)


def initial_stage(plan: WritePlan, pipeline: Any, stage: Any) -> StageMove | None:
    """Where a new record starts: the given or first pipeline, the given or initial stage."""
    default = plan.entity.default_pipeline
    if default is None:
        return None
    chosen = default if pipeline is None else _pipeline(plan, pipeline)
    code = chosen.initial.code if stage is None else _stage(chosen, stage)
    return StageMove(chosen.code, code, None)


def stage_move(plan: WritePlan, current: Mapping[str, Any], pipeline: Any, stage: Any) -> StageMove | None:
    """A validated move of an existing record, or None when it stays where it is."""
    if pipeline is None and stage is None:
        return None
    here = current.get("pipeline")
    if pipeline is not None and pipeline != here and stage is None:
        raise ValidationFailed({"stage": "is required when moving the record to another pipeline"})
    chosen = _pipeline(plan, pipeline if pipeline is not None else here or plan.entity.pipelines[0].code)
    code = _stage(chosen, stage)
    if chosen.code == here and code == current.get("stage"):
        return None
    return StageMove(chosen.code, code, current.get("stage"), here)


def event_for(scope: Scope, plan: WritePlan, record: Mapping[str, Any], kind: str,
              changes: Mapping[str, tuple[Any, Any]], move: StageMove | None) -> WriteEvent:
    return WriteEvent(workspace=plan.workspace, entity=plan.entity.name, record_id=record["id"],
                      kind=kind, version=record["version"], actor=scope.actor.label,
                      at=record["updated_at"], changes=changes, stage=move)


# ---- the writes ---------------------------------------------------------------------------


def _split_many(plan: WritePlan, values: dict[str, Any]) -> dict[str, list[int]]:
    return {name: values.pop(name) for name in plan.junctions if name in values}


def _link(conn: Connection, plan: WritePlan, record_id: int,
          links: Mapping[str, tuple[list[int], list[int]]]) -> None:
    """Bring each junction from its old ids to its new ones (delete removed, insert added)."""
    for name, (old, new) in links.items():
        junction = plan.junctions[name]
        gone = sorted(set(old) - set(new))
        added = sorted(set(new) - set(old))
        if gone:
            conn.execute(junction.delete().where(junction.c.left_id == record_id,
                                                 junction.c.right_id.in_(gone)))
        if added:
            conn.execute(junction.insert(), [{"left_id": record_id, "right_id": i} for i in added])


def _raise_problems(conn: Connection, plan: WritePlan, values: dict[str, Any],
                    problems: dict[str, str], skip: tuple[str, ...] = ()) -> None:
    """Add the database checks of the well-formed values to the shape problems; raise them all."""
    problems.update(check_links(conn, plan, values, skip))
    if problems:
        raise ValidationFailed(problems)


def _input(values: Any) -> dict[str, Any]:
    """A copy of the input, which must be an object of field: value (as the schema words it)."""
    if not isinstance(values, Mapping) or not all(isinstance(k, str) for k in values):
        raise ValidationFailed({"": "must be an object of field: value"})
    return dict(values)


def create_record(conn: Connection, scope: Scope, entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
    plan = plan_for(scope.meta, entity)
    given = _input(values)
    start = initial_stage(plan, *pop_stage_input(plan, given))
    coerced, problems = plan.rules.coerce(given, partial=False)
    inline = _inline_checks(conn, plan, coerced, problems)
    _raise_problems(conn, plan, coerced, problems, inline)
    many = _split_many(plan, coerced)
    now = scope.clock.now()
    row = {**plan.blank_row, **coerced, "created_at": now, "updated_at": now,
           "created_by": scope.actor.user_id, "owner": coerced.get("owner", scope.actor.user_id)}
    if start is not None:
        row.update(pipeline=start.pipeline, stage=start.stage, stage_entered_at=now)
    insert = insert_checking(plan, inline) if inline else plan.insert
    with unique_violations_refused(plan):
        record_id, applied, *live = direct(insert, conn.dialect).execute(
            conn, {**row, WORKSPACE_BIND: plan.workspace})[0]
    check_applied(scope.meta, applied)  # the caller's rollback undoes the row when it moved
    dead = {name: f"no {plan.references[name]} with id {row[name]}"
            for name, n in zip(inline, live, strict=True) if not n}
    if dead:
        raise ValidationFailed(dead)  # a soft-deleted target: the caller's rollback undoes the row
    _link(conn, plan, record_id, {name: ([], ids) for name, ids in many.items()})
    record = {"id": record_id, **row, **{name: many.get(name, []) for name in plan.junctions}}
    changes = {k: (None, record[k]) for k in plan.tracked if record.get(k) not in (None, [])}
    record_event(conn, event_for(scope, plan, record, "created", changes, start))
    return record


def _locked_live(conn: Connection, plan: WritePlan, record_id: int,
                 expected_version: int | None) -> dict[str, Any]:
    """The current row, locked for this transaction, that the caller's version still matches."""
    current = load_row(conn, plan, record_id, lock=True)
    if current is None or current["deleted_at"] is not None:
        raise not_found(plan, record_id)
    check_version(plan, current, expected_version)
    return current


def check_version(plan: WritePlan, current: Mapping[str, Any], expected: int | None) -> None:
    if expected is not None and current["version"] != expected:
        raise VersionConflict(plan.entity.name, current["id"], expected, current["version"])


def _bump(conn: Connection, plan: WritePlan, current: Mapping[str, Any],
          columns: dict[str, Any], now: Any) -> int:
    """UPDATE … WHERE version = the version read: a concurrent writer makes it match nothing."""
    table = plan.table
    version: int = current["version"] + 1
    stmt = (table.update()
            .where(table.c.id == current["id"], table.c.version == current["version"])
            .values(**columns, updated_at=now, version=version))
    with unique_violations_refused(plan):
        updated = conn.execute(stmt).rowcount
    if updated != 1:
        actual = conn.execute(sa.select(table.c.version).where(table.c.id == current["id"])).scalar()
        raise VersionConflict(plan.entity.name, current["id"], current["version"], actual or 0)
    return version


def update_record(conn: Connection, scope: Scope, entity: str, raw_id: Any,
                  values: Mapping[str, Any], expected_version: int | None) -> dict[str, Any]:
    plan = plan_for(scope.meta, entity)
    record_id = as_record_id(plan, raw_id)
    given = _input(values)
    stage_input = pop_stage_input(plan, given)
    coerced, problems = plan.rules.coerce(given, partial=True)
    current = _locked_live(conn, plan, record_id, expected_version)
    move = stage_move(plan, current, *stage_input)
    _raise_problems(conn, plan, coerced, problems)
    current.update(load_many(conn, plan, record_id))
    changes = {k: (current[k], v) for k, v in coerced.items() if current[k] != v}
    if move is not None:
        changes.update(stage=(move.from_stage, move.stage))
        if move.pipeline != move.from_pipeline:
            changes["pipeline"] = (move.from_pipeline, move.pipeline)
    if not changes:
        return current
    now = scope.clock.now()
    columns = {k: new for k, (_, new) in changes.items() if k not in plan.junctions}
    if move is not None:
        columns["stage_entered_at"] = now
    version = _bump(conn, plan, current, columns, now)
    _link(conn, plan, record_id, {k: v for k, v in changes.items() if k in plan.junctions})
    record = {**current, **columns, "updated_at": now, "version": version,
              **{k: new for k, (_, new) in changes.items() if k in plan.junctions}}
    record_event(conn, event_for(scope, plan, record, "updated", changes, move))
    return record


def set_deleted(conn: Connection, scope: Scope, entity: str, raw_id: Any, *, deleted: bool,
                expected_version: int | None) -> dict[str, Any]:
    """Soft delete (stamp ``deleted_at``) or restore; restoring a live record changes nothing."""
    plan = plan_for(scope.meta, entity)
    record_id = as_record_id(plan, raw_id)
    current = load_row(conn, plan, record_id, lock=True)
    if current is None or (deleted and current["deleted_at"] is not None):
        raise not_found(plan, record_id)
    current.update(load_many(conn, plan, record_id))
    if not deleted and current["deleted_at"] is None:
        return current
    check_version(plan, current, expected_version)
    now = scope.clock.now()
    stamp = now if deleted else None
    version = _bump(conn, plan, current, {"deleted_at": stamp}, now)
    record = {**current, "deleted_at": stamp, "updated_at": now, "version": version}
    changes = {"deleted_at": (current["deleted_at"], stamp)}
    record_event(conn, event_for(scope, plan, record, "deleted" if deleted else "restored", changes, None))
    return record
