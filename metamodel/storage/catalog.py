"""The applied metadata of a workspace: which blueprint, at which version.

``WorkspaceMeta`` is what every layer above storage is handed: the checked
definitions plus the version that keys cached tables and compiled plans.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from metamodel.definitions import Blueprint, EntityDef, FieldDef
from metamodel.errors import WorkspaceNotFound
from metamodel.serialize import blueprint_to_dict, field_from_dict, field_to_dict
from metamodel.storage import system_tables
from metamodel.storage.tables import WorkspaceTables, tables_for


@dataclass(frozen=True)
class WorkspaceMeta:
    """One workspace's metadata at one version, and where its tables are."""

    workspace: str
    version: int
    blueprint: Blueprint
    dialect: str
    archived_fields: tuple[tuple[str, FieldDef], ...] = ()
    archived_entities: tuple[EntityDef, ...] = ()
    pipeline_tables: frozenset[str] = frozenset()
    automation_files: tuple[tuple[str, str], ...] = ()
    _tables: list[WorkspaceTables] = field(default_factory=list, compare=False, repr=False)
    _digest: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def tables(self) -> WorkspaceTables:
        if not self._tables:
            self._tables.append(tables_for(self.workspace, self.version, self.dialect, self.blueprint,
                                           self.digest))
        return self._tables[0]

    @property
    def digest(self) -> str:
        """A fingerprint of what this version defines, beside the version in every cache key.

        Why: a version number names a blueprint only within one database.  A process that holds
        several databases (simulations, tests, a tool comparing two) meets "sim" version 1 with
        different blueprints, and a cache keyed by the number alone would hand one's tables and
        statements to the other.
        """
        if not self._digest:
            document = [blueprint_to_dict(self.blueprint), sorted(self.pipeline_tables),
                        [(e, f.name, f.type.value) for e, f in self.archived_fields],
                        [e.name for e in self.archived_entities]]
            text = json.dumps(document, sort_keys=True, default=str)
            self._digest.append(hashlib.sha256(text.encode()).hexdigest()[:16])
        return self._digest[0]


# --- persisting and loading applied metadata -------------------------------------------------

_META_CACHE: dict[tuple[str, str, int], WorkspaceMeta] = {}
_META_CACHE_LIMIT = 256


def stored_blueprint(document: dict[str, Any]) -> Blueprint:
    """The definitions of a stored blueprint document, read by the one blueprint parser.

    Stored metadata is the canonical blueprint format (``blueprint_to_dict``),
    so the parser that reads consultants' files reads it back too.
    """
    from metamodel.blueprint import parse_blueprint

    # JSON is YAML, and dumping it is many times faster than yaml.safe_dump.
    return parse_blueprint(json.dumps(document), file="<stored metadata>")


def state_document(meta: WorkspaceMeta) -> dict[str, Any]:
    """The ``state`` JSON of a version: what exists beyond the active blueprint's definitions.

    That is archived fields and entities (their columns and tables are still
    there), which tables carry pipeline columns, and the text of the ``.craft``
    files the blueprint lists, so an export can write them back out.
    """
    archived_fields, archived_entities = meta.archived_fields, meta.archived_entities
    fields: dict[str, dict[str, Any]] = {}
    for entity, fld in archived_fields:
        fields.setdefault(entity, {})[fld.name] = field_to_dict(fld)
    return {
        "archived_fields": fields,
        "archived_entities": {e.name: {"fields": {f.name: field_to_dict(f) for f in e.fields}}
                              for e in archived_entities},
        "pipeline_tables": sorted(meta.pipeline_tables),
        "automation_files": dict(meta.automation_files),
    }


def _archived_from_state(state: dict[str, Any]) -> tuple[tuple[tuple[str, FieldDef], ...],
                                                          tuple[EntityDef, ...]]:
    fields = tuple((entity, field_from_dict(name, data))
                   for entity, by_name in state.get("archived_fields", {}).items()
                   for name, data in by_name.items())
    entities = tuple(
        EntityDef(name=name, label=name, plural=name,
                  fields=tuple(field_from_dict(n, d) for n, d in body.get("fields", {}).items()))
        for name, body in state.get("archived_entities", {}).items())
    return fields, entities


def _connection_key(conn: Connection) -> str:
    return conn.engine.url.render_as_string(hide_password=True)


def find_workspace_meta(conn: Connection, workspace: str) -> WorkspaceMeta | None:
    """The applied metadata of ``workspace``, or None when it was never applied."""
    version = conn.execute(
        sa.select(system_tables.workspaces.c.metadata_version)
        .where(system_tables.workspaces.c.name == workspace)).scalar_one_or_none()
    if version is None:
        return None
    key = (_connection_key(conn), workspace, version)
    cached = _META_CACHE.get(key)
    if cached is not None:
        return cached
    mv = system_tables.metadata_versions
    row = conn.execute(sa.select(mv.c.blueprint, mv.c.state)
                       .where(mv.c.workspace == workspace, mv.c.version == version)).one()
    fields, entities = _archived_from_state(row.state)
    meta = WorkspaceMeta(workspace=workspace, version=version, blueprint=stored_blueprint(row.blueprint),
                         dialect=conn.dialect.name, archived_fields=fields, archived_entities=entities,
                         pipeline_tables=frozenset(row.state.get("pipeline_tables", ())),
                         automation_files=tuple(row.state.get("automation_files", {}).items()))
    if len(_META_CACHE) >= _META_CACHE_LIMIT:
        _META_CACHE.clear()
    _META_CACHE[key] = meta
    return meta


def remember_workspace_meta(conn: Connection, meta: WorkspaceMeta) -> None:
    """Cache ``meta`` once its version is committed, saving the next load a parse."""
    _META_CACHE[(_connection_key(conn), meta.workspace, meta.version)] = meta


def forget_workspace_metas() -> None:
    """Drop every cached metadata version (a process that must re-read what is stored)."""
    _META_CACHE.clear()


def load_workspace_meta(bind: Engine | Connection, workspace: str) -> WorkspaceMeta:
    """The applied metadata of ``workspace``; raises ``WorkspaceNotFound``."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return load_workspace_meta(conn, workspace)
    meta = find_workspace_meta(bind, workspace)
    if meta is None:
        raise WorkspaceNotFound(f'there is no workspace "{workspace}"',
                                hint="apply a blueprint to create it: stagecraft apply PATH --workspace NAME")
    return meta


def save_workspace_meta(conn: Connection, meta: WorkspaceMeta, *, at: datetime,
                        actor: str | None) -> None:
    """Record ``meta`` as the workspace's newest version (the caller's transaction commits it)."""
    ws = system_tables.workspaces
    if meta.version == 1:
        conn.execute(sa.insert(ws).values(name=meta.workspace, created_at=at, metadata_version=1))
    else:
        conn.execute(sa.update(ws).where(ws.c.name == meta.workspace).values(metadata_version=meta.version))
    conn.execute(sa.insert(system_tables.metadata_versions).values(
        workspace=meta.workspace, version=meta.version, blueprint=blueprint_to_dict(meta.blueprint),
        state=state_document(meta),
        applied_at=at, applied_by=actor))
    save_program_plan(conn, meta, at)


def save_program_plan(conn: Connection, meta: WorkspaceMeta, at: datetime) -> None:
    """Store the compiled plan of the version's ``.craft`` files with the version itself.

    Why here: runs keep the plan their version had (DESIGN.md decision 4), so the plan must exist
    exactly when the version does — committed or rolled back with it, never compiled later by a
    runner whose transaction might not commit.
    """
    import dsl
    from metamodel.craft_schema import schema_for

    plan = dsl.compile_files(dict(meta.automation_files), schema_for(meta.blueprint))
    conn.execute(sa.insert(system_tables.wf_plans).values(
        workspace=meta.workspace, version=meta.version, digest=plan.digest, plan=dsl.plan_to_json(plan),
        created_at=at))
