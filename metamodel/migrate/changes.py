"""What an apply changes: the applied metadata and a new blueprint, compared.

The comparison is made on definitions, not by inspecting the database: the
applied version plus its archived fields and entities say exactly which tables
and columns exist, so an unchanged blueprint is recognised without a single
catalog query (the no-op apply of a large workspace stays cheap).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from metamodel.definitions import Blueprint, EntityDef, FieldDef, FieldType, PipelineDef
from metamodel.storage.catalog import WorkspaceMeta


class Action(StrEnum):
    ADD = "add"
    ARCHIVE = "archive"
    RESTORE = "restore"
    RENAME = "rename"
    KEEP = "keep"


def storage_kind(fld: FieldDef) -> str:
    """Where a field's data lives: its own column, a junction table, or nowhere (computed)."""
    if fld.type is FieldType.MANY:
        return "junction"
    return "column" if fld.stored else "none"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of one entity: ``old`` is what exists physically (active or archived)."""

    entity: str
    action: Action
    old: FieldDef | None
    new: FieldDef | None

    @property
    def name(self) -> str:
        fld = self.new or self.old
        assert fld is not None
        return fld.name

    @property
    def both_columns(self) -> bool:
        return (self.old is not None and self.new is not None
                and storage_kind(self.old) == storage_kind(self.new) == "column")

    @property
    def retyped(self) -> bool:
        return self.both_columns and self.old is not None and self.new is not None \
            and self.old.type is not self.new.type

    @property
    def target_changed(self) -> bool:
        return (self.both_columns and self.old is not None and self.new is not None
                and self.old.type is self.new.type and self.old.to != self.new.to)


@dataclass(frozen=True, slots=True)
class EntityChange:
    """One entity: ``table_entity`` names the entity whose table holds the data before the apply."""

    action: Action
    old: EntityDef | None
    new: EntityDef | None
    fields: tuple[FieldChange, ...] = ()

    @property
    def name(self) -> str:
        ent = self.new or self.old
        assert ent is not None
        return ent.name

    @property
    def table_entity(self) -> str | None:
        return self.old.name if self.old is not None else None


@dataclass(frozen=True, slots=True)
class Diff:
    """Every entity change, plus the physical state the new version will record."""

    entities: tuple[EntityChange, ...]
    archived_fields: tuple[tuple[str, FieldDef], ...]
    archived_entities: tuple[EntityDef, ...]
    pipeline_tables: frozenset[str]
    new_workspace: bool = False


def _archived_of(meta: WorkspaceMeta | None, entity: str) -> dict[str, FieldDef]:
    if meta is None:
        return {}
    return {f.name: f for e, f in meta.archived_fields if e == entity}


def _pair_fields(entity: str, old: tuple[FieldDef, ...], archived: dict[str, FieldDef],
                 new: tuple[FieldDef, ...]) -> list[FieldChange]:
    """Match new fields to what exists: same name, ``renamed_from``, or an archived column."""
    active = {f.name: f for f in old}
    used: set[str] = set()
    changes: list[FieldChange] = []
    for fld in new:
        source = active.get(fld.name)
        action = Action.KEEP
        if source is None and fld.renamed_from and fld.renamed_from in active \
                and fld.renamed_from not in {f.name for f in new}:
            source, action = active[fld.renamed_from], Action.RENAME
        if source is not None and storage_kind(source) == storage_kind(fld):
            used.add(source.name)
            changes.append(FieldChange(entity, action, source, fld))
            continue
        hidden = archived.get(fld.name)
        if hidden is not None and storage_kind(hidden) == storage_kind(fld) != "none":
            changes.append(FieldChange(entity, Action.RESTORE, hidden, fld))
        else:
            changes.append(FieldChange(entity, Action.ADD, None, fld))
    changes += [FieldChange(entity, Action.ARCHIVE, f, None) for f in old if f.name not in used]
    return changes


def _entity_change(action: Action, old: EntityDef | None, new: EntityDef,
                   archived: dict[str, FieldDef]) -> EntityChange:
    old_fields = old.fields if old is not None and action is not Action.RESTORE else ()
    return EntityChange(action, old, new, tuple(_pair_fields(new.name, old_fields, archived, new.fields)))


def _follow_renames(changes: list[EntityChange]) -> list[EntityChange]:
    """Old references to a renamed entity point at its new name (the same table, renamed)."""
    renamed = {c.old.name: c.name for c in changes if c.action is Action.RENAME and c.old is not None}
    if not renamed:
        return changes

    def follow(fc: FieldChange) -> FieldChange:
        if fc.old is None or fc.old.to not in renamed:
            return fc
        return dataclasses.replace(fc, old=dataclasses.replace(fc.old, to=renamed[fc.old.to]))

    return [dataclasses.replace(c, fields=tuple(follow(f) for f in c.fields)) for c in changes]


def _match_entities(meta: WorkspaceMeta | None, new: Blueprint) -> list[EntityChange]:
    active = {e.name: e for e in meta.blueprint.entities} if meta else {}
    hidden = {e.name: e for e in meta.archived_entities} if meta else {}
    new_names = {e.name for e in new.entities}
    used: set[str] = set()
    changes: list[EntityChange] = []
    for ent in new.entities:
        if ent.name in active:
            used.add(ent.name)
            changes.append(_entity_change(Action.KEEP, active[ent.name], ent, _archived_of(meta, ent.name)))
        elif ent.renamed_from in active and ent.renamed_from not in new_names:
            assert ent.renamed_from is not None
            used.add(ent.renamed_from)
            changes.append(_entity_change(Action.RENAME, active[ent.renamed_from], ent,
                                          _archived_of(meta, ent.renamed_from)))
        elif ent.name in hidden:
            archived = {f.name: f for f in hidden[ent.name].fields}
            changes.append(_entity_change(Action.RESTORE, hidden[ent.name], ent, archived))
        else:
            added = tuple(FieldChange(ent.name, Action.ADD, None, f) for f in ent.fields)
            changes.append(EntityChange(Action.ADD, None, ent, added))
    changes += [EntityChange(Action.ARCHIVE, e, None) for name, e in active.items() if name not in used]
    return _follow_renames(changes)


def _physical_fields(change: EntityChange, meta: WorkspaceMeta | None) -> tuple[FieldDef, ...]:
    """Every column/junction an entity being archived leaves behind.

    Fields archived before the entity lose ``required``: records written
    since then have no value for them, so a restore must check them again.
    """
    assert change.old is not None
    kept = [f for f in change.old.fields if storage_kind(f) != "none"]
    earlier = [dataclasses.replace(f, required=False) for f in _archived_of(meta, change.old.name).values()]
    return (*kept, *earlier)


def _archived_after(meta: WorkspaceMeta | None, changes: list[EntityChange]) -> tuple[
        tuple[tuple[str, FieldDef], ...], tuple[EntityDef, ...]]:
    fields: list[tuple[str, FieldDef]] = []
    entities = {e.name: e for e in meta.archived_entities} if meta else {}
    for change in changes:
        if change.action is Action.ARCHIVE:
            assert change.old is not None
            entities[change.old.name] = EntityDef(change.old.name, change.old.label, change.old.plural,
                                                  _physical_fields(change, meta))
            continue
        entities.pop(change.name, None)
        restored = {f.old.name for f in change.fields if f.action is Action.RESTORE and f.old}
        source = change.old.name if change.old is not None and change.action is not Action.RESTORE \
            else change.name
        pool = dict(_archived_of(meta, source))
        if change.action is Action.RESTORE and change.old is not None:
            pool = {f.name: f for f in change.old.fields}
        fields += [(change.name, f) for n, f in pool.items() if n not in restored]
        fields += [(change.name, f.old) for f in change.fields
                   if f.action is Action.ARCHIVE and f.old is not None and storage_kind(f.old) != "none"]
    return tuple(fields), tuple(entities.values())


def _pipeline_tables(meta: WorkspaceMeta | None, changes: list[EntityChange]) -> frozenset[str]:
    tables = set(meta.pipeline_tables) if meta else set()
    for change in changes:
        if change.action is Action.RENAME and change.old is not None and change.old.name in tables:
            tables.discard(change.old.name)
            tables.add(change.name)
        if change.new is not None and change.new.pipelines:
            tables.add(change.name)
    return frozenset(tables)


def diff(meta: WorkspaceMeta | None, new: Blueprint) -> Diff:
    """Compare the applied metadata (None: a new workspace) with ``new``."""
    changes = _match_entities(meta, new)
    fields, entities = _archived_after(meta, changes)
    return Diff(entities=tuple(changes), archived_fields=fields, archived_entities=entities,
                pipeline_tables=_pipeline_tables(meta, changes), new_workspace=meta is None)


def removed_stages(old: PipelineDef, new: PipelineDef) -> list[str]:
    kept = set(new.stage_codes())
    return [code for code in old.stage_codes() if code not in kept]
