"""Naming rules of blueprints: identifier shapes, reserved words, derived names.

Every name a consultant chooses ends up somewhere strict: a SQL table or
column, a GraphQL type, field or enum value, a URL.  The rules live here in one
place, and so does the one rule that turns an entity into its SQL table names
(``sql_names``), so the checker measures exactly what storage will create.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from metamodel.blueprint.reserved import (
    BUILTIN_ENTITIES,
    BUILTIN_FIELDS,
    GRAPHQL_RESERVED_TYPES,
    GRAPHQL_RESERVED_VALUES,
    SQL_RESERVED,
)
from metamodel.definitions import EntityDef, FieldType
from metamodel.storage.naming import entity_table_name, junction_table_name

MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1; longer names are silently truncated
PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
LOWER_CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")

NAME_INVALID = "MM.E110"
NAME_NOT_ASCII = "MM.E111"
NAME_SQL_KEYWORD = "MM.E112"
NAME_BUILTIN_FIELD = "MM.E113"
NAME_GRAPHQL_RESERVED = "MM.E114"
NAME_BUILTIN_ENTITY = "MM.E115"
NAME_TOO_LONG = "MM.E116"


class NameKind(StrEnum):
    """What a name names; each kind has its shape and its reserved words."""

    ENTITY = "entity"
    FIELD = "field"
    INVERSE = "inverse list"
    PIPELINE = "pipeline"
    STAGE = "stage"
    ROLE = "role"
    GROUP = "group"
    FORM = "form"
    PLURAL = "plural"


_SHAPES: dict[NameKind, tuple[re.Pattern[str], str]] = {
    NameKind.ENTITY: (PASCAL, "PascalCase: a capital letter, then letters and digits (e.g. PurchaseRequest)"),
    NameKind.PLURAL: (LOWER_CAMEL, "lowerCamelCase letters and digits (e.g. purchaseRequests)"),
}
_SNAKE_SHAPE = (SNAKE, "snake_case: a lowercase letter, then lowercase letters, digits and _ (e.g. due_on)")


@dataclass(frozen=True, slots=True)
class NameIssue:
    """Why a name is refused: a code, the reason and a hint."""

    code: str
    message: str
    hint: str = ""


def fold(name: str) -> str:
    """The key under which two names count as the same: NFKC-normalised and case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def lower_camel(name: str) -> str:
    """``PurchaseRequest`` → ``purchaseRequest`` (the GraphQL field of one record)."""
    return name[:1].lower() + name[1:]


def derive_plural(entity: str) -> str:
    """The default GraphQL list name: lowerCamel plus a simple English plural.

    Company → companies, Box → boxes, PurchaseRequest → purchaseRequests.
    Irregular words (Person → persons) are fine: ``plural:`` overrides.
    """
    base = lower_camel(entity)
    if len(base) > 1 and base.endswith("y") and base[-2] not in "aeiou":
        return base[:-1] + "ies"
    if base.endswith(("s", "x", "z", "ch", "sh")):
        return base + "es"
    return base + "s"


@dataclass(frozen=True, slots=True)
class SqlNames:
    """The SQL identifiers storage derives from one entity (before any workspace prefix)."""

    table: str
    junctions: tuple[tuple[str, str], ...] = ()

    def junction(self, field: str) -> str:
        """The junction table of the ``many`` field ``field``."""
        return dict(self.junctions)[field]


def sql_names(entity: EntityDef) -> SqlNames:
    """The one naming rule: table ``e_<entity>``, junction ``j_<entity>_<field>`` for ``many`` fields."""
    junctions = tuple((f.name, junction_table_name(entity.name, f.name))
                      for f in entity.fields if f.type is FieldType.MANY)
    return SqlNames(table=entity_table_name(entity.name), junctions=junctions)


def too_long(identifier: str) -> bool:
    """True when PostgreSQL would truncate ``identifier``."""
    return len(identifier.encode("utf-8")) > MAX_IDENTIFIER_BYTES


def name_issue(kind: NameKind, name: str) -> NameIssue | None:
    """The first reason ``name`` cannot name a ``kind``, or None when it is fine."""
    label = f"{kind.value} {'code' if kind in (NameKind.STAGE, NameKind.PIPELINE) else 'name'}"
    if not name.isascii():
        return NameIssue(NAME_NOT_ASCII, f'{label} "{name}" must use ASCII letters only',
                         "use a transliteration; the label can carry any text")
    if name.startswith("__") or (kind is NameKind.ENTITY and name in GRAPHQL_RESERVED_TYPES):
        return NameIssue(NAME_GRAPHQL_RESERVED, f'{label} "{name}" is reserved by GraphQL')
    pattern, shape = _SHAPES.get(kind, _SNAKE_SHAPE)
    if not pattern.match(name):
        return NameIssue(NAME_INVALID, f'{label} "{name}" must be {shape}')
    if too_long(name):
        return NameIssue(NAME_TOO_LONG, f'{label} "{name}" is longer than {MAX_IDENTIFIER_BYTES} bytes')
    return _reserved_issue(kind, name)


def _reserved_issue(kind: NameKind, name: str) -> NameIssue | None:
    label = f"{kind.value} name"
    if kind is NameKind.ENTITY and name in BUILTIN_ENTITIES:
        return NameIssue(NAME_BUILTIN_ENTITY, f'entity name "{name}" is a built-in entity',
                         "every workspace already has User, Task, Message and Note")
    if kind in (NameKind.FIELD, NameKind.INVERSE) and name in BUILTIN_FIELDS:
        return NameIssue(NAME_BUILTIN_FIELD, f'{label} "{name}" is a built-in field of every record',
                         f"built-in fields: {', '.join(sorted(BUILTIN_FIELDS))}")
    if kind in (NameKind.FIELD, NameKind.INVERSE) and name in SQL_RESERVED:
        return NameIssue(NAME_SQL_KEYWORD, f'{label} "{name}" is an SQL keyword',
                         f'pick a more specific name, e.g. "{name}_value"')
    if kind in (NameKind.STAGE, NameKind.PIPELINE) and name in GRAPHQL_RESERVED_VALUES:
        return NameIssue(NAME_GRAPHQL_RESERVED, f'{kind.value} code "{name}" cannot be a GraphQL enum value')
    return None
