"""Users and groups as the engine addresses them: recipients, round robin and least busy.

Groups are blueprint definitions (member emails); users are rows of ``sc_users``.  A group's
members are taken in the blueprint's order, inactive or unknown users skipped, so round robin is
stable across applies that do not change the group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

import dsl
from metamodel.definitions import StageKind
from metamodel.storage.system_tables import users, wf_counters
from workflow.errors import WorkflowError
from workflow.step import Step
from workflow.views import record_id_of

_u = users


def members(step: Step, group: str) -> list[int]:
    """Active users of ``group`` in the blueprint's order; an empty group is an error."""
    found = next((g for g in step.store.meta.blueprint.groups if g.name == group), None)
    emails = list(found.members) if found else []
    ids = _user_ids(step.conn, step.inst.workspace, emails)
    chosen = [ids[e.lower()] for e in emails if e.lower() in ids]
    if not chosen:
        raise WorkflowError(f'group "{group}" has no active members', code="WF_EMPTY_GROUP",
                            hint="add users to the group in the blueprint's groups section")
    return chosen


def _user_ids(conn: Connection, workspace: str, emails: Sequence[str]) -> dict[str, int]:
    if not emails:
        return {}
    rows = conn.execute(sa.select(_u.c.id, _u.c.email).where(
        _u.c.workspace == workspace, _u.c.active.is_(True),
        sa.func.lower(_u.c.email).in_([e.lower() for e in emails])))
    return {str(email).lower(): int(uid) for uid, email in rows}


def recipients(step: Step, who: dsl.Recipient) -> list[int]:
    """Every user a notification goes to: the user the expression names, or all of a group.

    An empty user field (a record with no owner yet) means nobody: the step is logged as skipped
    rather than failing the run, so the steps after it (the customer's email) still happen.
    """
    if who.group is not None:
        return members(step, who.group)
    found = one_user(step, who)
    if found is None:
        source = who.user.source if who.user else ""
        step.inst.note("skipped", reason=f'"{source}" is empty: nobody to notify')
        return []
    return [found]


def one_user(step: Step, who: dsl.Recipient, round_robin_key: str = "") -> int | None:
    """The one user a task goes to: the user expression (None when empty), or the group's next member."""
    if who.group is not None:
        return round_robin(step, who.group, round_robin_key or f"task:{who.group}")
    assert who.user is not None
    value = record_id_of(step.eval(who.user))
    if value is None:
        return None
    if isinstance(value, str):  # an email
        found = _user_ids(step.conn, step.inst.workspace, [value]).get(value.lower())
        value = found
    if not isinstance(value, int):
        raise WorkflowError(f'"{who.user.source}" names no user here', code="WF_NO_USER",
                            hint="set the record's owner (or the field) to a user of the workspace")
    return value


def round_robin(step: Step, group: str, key: str) -> int:
    """The next member of ``group`` for ``key``; the counter moves in the step's transaction."""
    chosen = members(step, group)
    counters = wf_counters
    where = sa.and_(counters.c.workspace == step.inst.workspace, counters.c.key == key)
    current = step.conn.execute(sa.select(counters.c.value).where(where).with_for_update()).scalar()
    if current is None:
        step.conn.execute(sa.insert(counters).values(workspace=step.inst.workspace, key=key, value=1))
        current = 0
    else:
        step.conn.execute(sa.update(counters).where(where).values(value=current + 1))
    return chosen[int(current) % len(chosen)]


def least_busy(step: Step, group: str, entity: str, field: str) -> int:
    """The member holding the fewest live, open records of ``entity`` in ``field`` (ties: group order)."""
    chosen = members(step, group)
    table = step.store.meta.tables.entity(entity)
    counts = dict.fromkeys(chosen, 0)
    query = sa.select(table.c[field], sa.func.count()).where(
        table.c[field].in_(chosen), table.c.deleted_at.is_(None)).group_by(table.c[field])
    ent = step.store.meta.blueprint.get_entity(entity)
    closed = [s.code for p in ent.pipelines for s in p.stages if s.kind is not StageKind.OPEN]
    if closed:
        query = query.where(table.c.stage.not_in(closed))
    for user_id, count in step.conn.execute(query):
        counts[int(user_id)] = int(count)
    return min(chosen, key=lambda uid: counts[uid])


def user_email(conn: Connection, workspace: str, user_id: Any) -> str | None:
    row = conn.execute(sa.select(_u.c.email).where(_u.c.workspace == workspace, _u.c.id == user_id))
    return row.scalar()
