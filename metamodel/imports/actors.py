"""Who an import from the command line acts as: a user of the workspace named by e-mail.

Over HTTP the token says who acts; on the command line ``--as EMAIL`` does, so
imported records get that user as creator and owner, as if the user had typed
them in — which is what ``records: own`` roles need to see them afterwards.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.errors import NotFound
from metamodel.records import Actor
from metamodel.storage.system_tables import users


def actor_for(engine: Engine, workspace: str, email: str) -> Actor:
    """The active user of ``workspace`` with ``email`` (any letter case); ``NotFound`` otherwise."""
    stmt = sa.select(users.c.id, users.c.email).where(
        users.c.workspace == workspace, users.c.active.is_(True),
        sa.func.lower(users.c.email) == email.strip().lower())
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        raise NotFound(f"workspace {workspace} has no active user {email.strip()}",
                       hint="list users in the blueprint's users: section and apply it")
    return Actor(int(row[0]), str(row[1]))
