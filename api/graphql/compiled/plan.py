"""The plan of a compiled query: what to load and how to shape it, fixed per document.

A plan depends only on the document and the schema (one metadata version), never on the caller:
what the caller's role hides or may not read is applied when the plan runs (``executor``), so one
plan serves every role and is cached per document (``cache``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from graphql import FieldNode, GraphQLField


class NotCompilable(Exception):
    """The document (or this run of it) leaves the compiled subset: strawberry answers instead."""


class Kind(Enum):
    """What one selected field of a record shows."""

    TYPENAME = "typename"    # ``__typename``: a constant
    BUILTIN = "builtin"      # id, version, createdAt, updatedAt: never hidden
    VALUE = "value"          # a scalar field of the blueprint (null when hidden)
    USER = "user"            # owner or a user field: ``{id name email}``
    STAGE = "stage"          # ``{code name kind enteredAt}``
    PIPELINE = "pipeline"    # ``{code}``
    REFERENCE = "reference"  # another record, loaded per batch
    MANY = "many"            # a list of other records (a ``many`` field), loaded per batch
    INVERSE = "inverse"      # the records referencing this one: a connection, loaded per batch


#: One response key of a small object (connection, page info, edge, user, stage, pipeline):
#: (key, what, payload) — ``what`` names the attribute; ``__typename`` carries its type name.
Part = tuple[str, str, Any]
Convert = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One response key of a record: its kind, the record column it reads and what it nests."""

    key: str
    kind: Kind
    column: str = ""
    convert: Convert | None = None   # a value's ``_typed`` + the GraphQL scalar's serialiser
    fast: Any = None                 # its fast path (``codegen.Fast``), inlined by the shaper
    constant: str = ""               # ``__typename``
    parts: tuple[Part, ...] = ()     # user / stage / pipeline selections
    node: NodePlan | None = None     # a reference's (or many list's) target selection
    target: str = ""                 # an inverse list's source entity (``column``: its reference)
    field: GraphQLField | None = None  # an inverse list's field and node, for its arguments
    ast: FieldNode | None = None


@dataclass(frozen=True, slots=True)
class NodePlan:
    """A selection on one entity's object type."""

    entity: str
    fields: tuple[FieldPlan, ...]


@dataclass(frozen=True, slots=True)
class RootPlan:
    """One root field: an entity list (``parts`` of the connection), a single record (``node``),
    or the root ``__typename`` (no entity)."""

    key: str
    entity: str = ""
    field: GraphQLField | None = None    # for its arguments at run time
    ast: FieldNode | None = None
    typename: str = ""
    parts: tuple[Part, ...] = ()         # totalCount, pageInfo (parts), edges (parts), __typename
    node: NodePlan | None = None


@dataclass(frozen=True, slots=True)
class OperationPlan:
    """A compiled query operation: its root fields in response order."""

    roots: tuple[RootPlan, ...]
    variable_definitions: tuple[Any, ...]
