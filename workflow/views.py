"""Records as the language reads them: mappings that follow references when a path asks.

Why lazy: an expression like ``contact.company.name`` needs two more records, and most steps need
none; a :class:`RecordView` loads a referenced record (or user, or task) the first time a path reads
through it, once per run, through a :class:`Loader` that caches by id.  ``dsl`` reads values only
with ``Mapping.get``, so nothing but field values is reachable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from metamodel.definitions import FieldType
from metamodel.errors import NotFound
from metamodel.records.store import RecordStore
from metamodel.storage.system_tables import tasks, users

USER_FIELDS = ("created_by", "owner")
_USER_COLUMNS = (users.c.id, users.c.email, users.c.name, users.c.role, users.c.active)


class Loader:
    """Loads records, users and tasks of one workspace for one step, each at most once."""

    def __init__(self, conn: Connection, store: RecordStore) -> None:
        self.conn = conn
        self.store = store
        self.workspace = store.meta.workspace
        self._cache: dict[tuple[str, int], Mapping[str, Any] | None] = {}

    def targets(self, entity: str) -> dict[str, str]:
        """Reference and user fields of ``entity`` -> the entity they point to."""
        ent = self.store.meta.blueprint.find_entity(entity)
        found = dict.fromkeys(USER_FIELDS, "User")
        if ent is not None:
            for fld in ent.fields:
                if fld.type is FieldType.REFERENCE and fld.to:
                    found[fld.name] = fld.to
                elif fld.type is FieldType.USER:
                    found[fld.name] = "User"
        if entity == "Task":
            found["assignee"] = "User"
        return found

    def view(self, entity: str, record_id: int | None) -> Mapping[str, Any] | None:
        """The record as a :class:`RecordView`; None when there is no such (live) record."""
        if record_id is None:
            return None
        key = (entity, int(record_id))
        if key not in self._cache:
            values = self._load(entity, int(record_id))
            self._cache[key] = None if values is None else RecordView(self, entity, values)
        return self._cache[key]

    def forget(self, entity: str, record_id: int) -> None:
        """Drop a cached record after a step changed it."""
        self._cache.pop((entity, int(record_id)), None)

    def _load(self, entity: str, record_id: int) -> dict[str, Any] | None:
        if entity == "User":
            row = self.conn.execute(sa.select(*_USER_COLUMNS).where(
                users.c.workspace == self.workspace, users.c.id == record_id)).mappings().first()
            return None if row is None else dict(row)
        if entity == "Task":
            row = self.conn.execute(sa.select(tasks).where(
                tasks.c.workspace == self.workspace, tasks.c.id == record_id)).mappings().first()
            return None if row is None else {**row, "assignee": row["assignee_id"]}
        try:
            return self.store.get(entity, record_id, include_deleted=True, conn=self.conn)
        except NotFound:
            return None


class RecordView(Mapping[str, Any]):
    """One record's values; reference and user fields read as the records they point to."""

    __slots__ = ("_entity", "_loader", "_targets", "_values")

    def __init__(self, loader: Loader, entity: str, values: Mapping[str, Any]) -> None:
        self._loader = loader
        self._entity = entity
        self._values = values
        self._targets = loader.targets(entity)

    @property
    def entity(self) -> str:
        return self._entity

    @property
    def stored(self) -> Mapping[str, Any]:
        """The stored values (references as ids)."""
        return self._values

    def __getitem__(self, name: str) -> Any:
        value = self._values[name]
        target = self._targets.get(name)
        if target is None or value is None or isinstance(value, list):
            return value
        return self._loader.view(target, value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def record_id_of(value: Any) -> Any:
    """A value an expression produced, as record input: a record as its id, a whole number as int
    (other mappings — a webhook reply, a payload — stay as they are, for json fields).

    The language has one number type (Decimal); integer fields take only whole ints.
    """
    if isinstance(value, RecordView):
        return value.stored.get("id")
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


def revive(kind: FieldType | None, value: Any) -> Any:
    """A JSON-safe value from an outbox event (``json_safe``) back as the value the field holds."""
    if not isinstance(value, str):
        return value
    try:
        if kind in (FieldType.DECIMAL, FieldType.MONEY):
            return Decimal(value)
        if kind is FieldType.DATE:
            return date.fromisoformat(value)
        if kind is FieldType.DATETIME:
            return datetime.fromisoformat(value)
    except (ValueError, InvalidOperation):
        return value
    return value


def as_of(loader: Loader, entity: str, current: Mapping[str, Any] | None,
          changes: Mapping[str, Any], stage: Mapping[str, Any] | None = None, *,
          after: bool) -> Mapping[str, Any]:
    """The record as a change left it (``after``) or found it (``old``): its current values with the
    changed fields (and the stage) set to the change's values, revived to their field types — so a
    later change never decides a trigger or an ``old.x`` of this one."""
    if not isinstance(current, RecordView):
        return current or {}
    definition = loader.store.meta.blueprint.find_entity(entity)
    values = dict(current.stored)
    for name, (before, then) in changes.items():
        fld = definition.find_field(name) if definition else None
        values[name] = revive(fld.type if fld else None, then if after else before)
    if stage is not None:
        values["stage"] = stage.get("to") if after else stage.get("from")
        if after:
            values["pipeline"] = stage.get("pipeline")
    return RecordView(loader, entity, values)
