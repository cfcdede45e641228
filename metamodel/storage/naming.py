"""SQL names for workspace objects: the only place user-chosen names meet SQL.

Names reach here only after the blueprint checker accepted them as plain
identifiers; ``safe_identifier`` re-asserts that allow-list so no code path can
build DDL from an unchecked string.  Workspaces are isolated by a PostgreSQL
schema each; on SQLite (one file, no schemas) by a strict table-name prefix.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from metamodel.errors import MetamodelError

MAX_IDENTIFIER_BYTES = 63
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WORKSPACE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
WORKSPACE_RULE = ('must start with a lowercase letter, use only a-z, 0-9, "_" and "-" (at most 40 '
                  'characters), contain no "__" and not end in "_" or "-"')


class UnsafeIdentifier(MetamodelError):
    code = "MM.E002"


def safe_identifier(name: str) -> str:
    """Return ``name`` if it is an ASCII identifier of at most 63 bytes, else raise."""
    if not _IDENTIFIER.match(name) or len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise UnsafeIdentifier(f'"{name}" is not a safe SQL identifier')
    return name


def is_workspace_name(name: str) -> bool:
    """Whether ``name`` may name a workspace.

    ``__`` separates the workspace from the table on SQLite, so a workspace
    containing it (or ending in ``_``, which makes ``a_`` + ``_b`` ambiguous)
    could own another workspace's table names; ``-`` is refused at the end
    for symmetry, so ``a`` / ``a-`` / ``a_`` never look alike.
    """
    return bool(_WORKSPACE.match(name)) and "__" not in name and name[-1] not in "_-"


def check_workspace_name(name: str) -> str:
    if not is_workspace_name(name):
        raise UnsafeIdentifier(f'workspace name "{name}" {WORKSPACE_RULE}', code="MM.E003")
    return name


def workspace_schema_name(workspace: str) -> str:
    """The PostgreSQL schema of ``workspace``: ``ws_`` + the checked name (quoted, so ``-`` is fine)."""
    return "ws_" + check_workspace_name(workspace)


def workspace_table_prefix(workspace: str) -> str:
    """The SQLite table-name prefix of ``workspace``; exact, since workspace names hold no ``__``."""
    return check_workspace_name(workspace) + "__"


def physical_identifier(name: str) -> str:
    """Return ``name`` if it is a safe identifier, a workspace schema or a workspace-prefixed name.

    For DDL that quotes names itself: the workspace part may hold ``-`` (the
    workspace checker's alphabet), every other part must be a safe identifier.
    """
    workspace, sep, rest = name.partition("__")
    if sep and is_workspace_name(workspace) and rest and _IDENTIFIER.match(rest):
        return name
    if name.startswith("ws_") and is_workspace_name(name[3:]):
        return name
    return safe_identifier(name)


def entity_table_name(entity: str) -> str:
    """The naming rule for an entity's table: ``e_`` + its lowercased name (names are case-unique).

    Unchecked, so the blueprint checker can measure a name before refusing it.
    """
    return "e_" + entity.lower()


def junction_table_name(entity: str, field: str) -> str:
    """The naming rule for the junction table of a ``many`` field (unchecked)."""
    return f"j_{entity.lower()}_{field}"


def entity_table_base(entity: str) -> str:
    return safe_identifier(entity_table_name(entity))


def junction_table_base(entity: str, field: str) -> str:
    return safe_identifier(junction_table_name(entity, field))


def constraint_name(kind: str, table_base: str, *columns: str) -> str:
    """A deterministic constraint/index name that fits 63 bytes (hash-shortened if needed)."""
    name = "_".join((kind, table_base, *columns))
    if len(name) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"{name[:MAX_IDENTIFIER_BYTES - 11]}_{digest}"


@dataclass(frozen=True, slots=True)
class WorkspaceNames:
    """Where one workspace's tables live on one dialect."""

    workspace: str
    dialect: str

    @property
    def schema(self) -> str | None:
        return workspace_schema_name(self.workspace) if self.dialect == "postgresql" else None

    def table(self, base: str) -> str:
        """The physical table name for a base name such as ``e_deal``."""
        safe_identifier(base)
        if self.dialect == "postgresql":
            return base
        return workspace_table_prefix(self.workspace) + base

    def owns(self, physical_table: str) -> bool:
        """Whether a SQLite table name belongs to this workspace (an exact prefix match)."""
        return physical_table.startswith(workspace_table_prefix(self.workspace))

    def index(self, kind: str, base: str, *columns: str) -> str:
        name = constraint_name(kind, base, *columns)
        return name if self.dialect == "postgresql" else workspace_table_prefix(self.workspace) + name


def workspace_names(workspace: str, dialect: str) -> WorkspaceNames:
    return WorkspaceNames(check_workspace_name(workspace), dialect)
