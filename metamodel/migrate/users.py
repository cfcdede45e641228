"""The ``users:`` section synced into ``sc_users``: added, updated, and deactivated (never deleted).

A user removed from the blueprint keeps its row (history and ownership point
at it) and is only marked inactive; listing it again reactivates it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from metamodel.definitions import UserDef
from metamodel.errors import InvalidQuery, Place
from metamodel.storage.system_tables import users as users_table


@dataclass
class UserSync:
    lines: list[str] = field(default_factory=list)
    insert: list[UserDef] = field(default_factory=list)
    update: list[UserDef] = field(default_factory=list)
    deactivate: list[str] = field(default_factory=list)


def plan_users(conn: Connection, workspace: str, wanted: tuple[UserDef, ...]) -> UserSync:
    """What has to change in ``sc_users`` for the workspace's users to be ``wanted``."""
    rows = {r.email: r for r in conn.execute(
        sa.select(users_table.c.email, users_table.c.name, users_table.c.role, users_table.c.active)
        .where(users_table.c.workspace == workspace))}
    sync = UserSync()
    for user in wanted:
        row = rows.get(user.email)
        if row is None:
            sync.insert.append(user)
            sync.lines.append(f"+ user {user.email}: add ({user.role})")
        elif (row.name, row.role, row.active) != (user.name, user.role, True):
            sync.update.append(user)
            sync.lines.append(f"~ user {user.email}: update ({user.role})")
    listed = {u.email for u in wanted}
    for email, row in sorted(rows.items()):
        if email not in listed and row.active:
            sync.deactivate.append(email)
            sync.lines.append(f"- user {email}: deactivate")
    return sync


def apply_users(conn: Connection, workspace: str, sync: UserSync, at: datetime) -> None:
    t = users_table
    if sync.insert:
        conn.execute(sa.insert(t), [_row(workspace, u) | {"created_at": at} for u in sync.insert])
    for user in sync.update:
        conn.execute(sa.update(t).where(t.c.workspace == workspace, t.c.email == user.email)
                     .values(name=user.name, role=user.role, active=True))
    if sync.deactivate:
        conn.execute(sa.update(t).where(t.c.workspace == workspace, t.c.email.in_(sync.deactivate))
                     .values(active=False))


def _row(workspace: str, user: UserDef) -> dict[str, Any]:
    return {"workspace": workspace, "email": user.email, "name": user.name, "role": user.role, "active": True}


def find_users(engine: Engine, workspace: str, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """``{id: (name, email)}`` of the workspace's users among ``ids`` (one statement; for readers
    such as the API that show who owns a record)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = (sa.select(users_table.c.id, users_table.c.name, users_table.c.email)
            .where(users_table.c.workspace == workspace, users_table.c.id.in_(wanted)))
    with engine.connect() as conn:
        return {int(row.id): (row.name, row.email) for row in conn.execute(stmt)}


#: The most users one ``list_users`` call returns (a page, like a record list's largest page).
MAX_USERS = 1000


@dataclass(frozen=True, slots=True)
class UserRow:
    """One user of a workspace as a user list shows it."""

    id: int
    name: str
    email: str
    role: str
    active: bool


def list_users(engine: Engine, workspace: str, limit: int, *, active_only: bool = False) -> list[UserRow]:
    """The workspace's users in the order they were added, at most ``limit`` (one statement).

    Deactivated users stay listed unless ``active_only``: history and ownership still name them,
    and an admin needs to see who was switched off.
    """
    if not 0 < limit <= MAX_USERS:
        raise InvalidQuery(f"first must be between 1 and {MAX_USERS}, not {limit}", place=Place(path="first"))
    t = users_table.c
    stmt = sa.select(t.id, t.name, t.email, t.role, t.active).where(t.workspace == workspace)
    if active_only:
        stmt = stmt.where(t.active == sa.true())
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(t.id).limit(limit))
        return [UserRow(int(r.id), r.name, r.email, r.role, bool(r.active)) for r in rows]
