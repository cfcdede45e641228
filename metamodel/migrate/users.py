"""The ``users:`` section synced into ``sc_users``: added, updated, and deactivated (never deleted).

A user removed from the blueprint keeps its row (history and ownership point
at it) and is only marked inactive; listing it again reactivates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metamodel.definitions import UserDef
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
