"""Export: a workspace's applied metadata written back as a blueprint a consultant can edit.

The export is the stored canonical document (see ``metamodel.serialize``) with
the users section taken from ``sc_users``, so users added outside the
blueprint are kept by a round trip: applying an export plans nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from metamodel.serialize import blueprint_to_dict
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import users as users_table

EXPORT_FILE = "blueprint.yaml"


def export_workspace(engine: Engine, workspace: str) -> dict[str, Any]:
    """The blueprint document of ``workspace`` (raises ``WorkspaceNotFound``)."""
    with engine.connect() as conn:
        meta = load_workspace_meta(conn, workspace)
        active = conn.execute(
            sa.select(users_table.c.email, users_table.c.name, users_table.c.role)
            .where(users_table.c.workspace == workspace, users_table.c.active.is_(True))
            .order_by(users_table.c.id)).all()
    document = blueprint_to_dict(meta.blueprint)
    document.pop("users", None)
    if active:
        document["users"] = [{"email": e, "name": n, "role": r} if n != e else {"email": e, "role": r}
                             for e, n, r in active]
    return document


def write_export(engine: Engine, workspace: str, out_dir: str | Path) -> Path:
    """Write ``blueprint.yaml`` and its ``.craft`` files into ``out_dir``; returns the YAML file.

    Entries are paths the checker kept inside the blueprint directory, so they
    stay inside ``out_dir``.
    """
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    path = target / EXPORT_FILE
    text = yaml.safe_dump(export_workspace(engine, workspace), sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    for entry, content in load_workspace_meta(engine, workspace).automation_files:
        craft = target / entry
        craft.parent.mkdir(parents=True, exist_ok=True)
        craft.write_text(content, encoding="utf-8")
    return path
