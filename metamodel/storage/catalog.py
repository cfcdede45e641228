"""The applied metadata of a workspace: which blueprint, at which version.

``WorkspaceMeta`` is what every layer above storage is handed: the checked
definitions plus the version that keys cached tables and compiled plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from metamodel.definitions import Blueprint, EntityDef, FieldDef
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
    _tables: list[WorkspaceTables] = field(default_factory=list, compare=False, repr=False)

    @property
    def tables(self) -> WorkspaceTables:
        if not self._tables:
            self._tables.append(tables_for(self.workspace, self.version, self.dialect, self.blueprint))
        return self._tables[0]
