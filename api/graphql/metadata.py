"""The ``metadata`` root query: the workspace's entities, fields and pipelines as the role sees them.

Why a query of its own when introspection exists: introspection tells a client the GraphQL types,
not what they mean — that ``amount`` is money and required, that ``stage`` runs through ``new``,
``negotiation``, ``won``.  A generic client (an admin UI, a BI connector, a form builder) draws
kanban boards and record cards from this answer.  It is read from the request's ``WorkspaceMeta``
(no SQL), and it shows only what the role may read: an entity without ``read`` and a hidden field
are left out, so the metadata never tells a role about data it cannot see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import strawberry

from api.graphql.inputs import Factory, list_of
from api.graphql.naming import camel
from api.graphql.resolvers import Access, GraphQLContext
from metamodel.definitions import EntityDef, PipelineDef
from metamodel.storage.catalog import WorkspaceMeta

#: The GraphQL type names this module declares (kept in ``metamodel.blueprint.reserved.API_TYPE_NAMES``).
TYPE_NAMES = ("Metadata", "MetaEntity", "MetaField", "MetaPipeline", "MetaStage")


@dataclass(frozen=True, slots=True)
class MetaStage:
    code: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class MetaPipeline:
    code: str
    stages: list[MetaStage]


@dataclass(frozen=True, slots=True)
class MetaField:
    name: str
    type: str
    required: bool


@dataclass(frozen=True, slots=True)
class MetaEntity:
    name: str
    plural: str
    fields: list[MetaField]
    pipelines: list[MetaPipeline]


@dataclass(frozen=True, slots=True)
class Metadata:
    version: int
    entities: list[MetaEntity]


def _pipeline(pipeline: PipelineDef) -> MetaPipeline:
    return MetaPipeline(pipeline.code, [MetaStage(s.code, s.name, s.kind.value) for s in pipeline.stages])


def _entity(entity: EntityDef, access: Access) -> MetaEntity:
    """The entity under the names a client queries (``due_on`` → ``dueOn``), hidden fields left out."""
    fields = [MetaField(camel(f.name), f.type.value, f.required) for f in entity.fields
              if not access.is_hidden(entity.name, f.name)]
    return MetaEntity(entity.name, camel(entity.plural), fields, [_pipeline(p) for p in entity.pipelines])


def metadata_of(meta: WorkspaceMeta, access: Access) -> Metadata:
    """The metadata ``access`` may see: entities it may read, without the fields hidden from it."""
    entities = [_entity(e, access) for e in meta.blueprint.entities if access.can(e.name, "read")]
    return Metadata(meta.version, entities)


def _plain(factory: Factory, name: str, annotations: dict[str, Any]) -> type:
    return strawberry.type(type(factory.name(name), (), {"__annotations__": annotations}), name=name)


def metadata_type(factory: Factory) -> type:
    """``Metadata { version entities { name plural fields { name type required }
    pipelines { code stages { code name kind } } } }`` for one schema."""
    stage = _plain(factory, "MetaStage", {"code": str, "name": str, "kind": str})
    pipeline = _plain(factory, "MetaPipeline", {"code": str, "stages": list_of(stage)})
    field = _plain(factory, "MetaField", {"name": str, "type": str, "required": bool})
    entity = _plain(factory, "MetaEntity", {"name": str, "plural": str, "fields": list_of(field),
                                            "pipelines": list_of(pipeline)})
    return _plain(factory, "Metadata", {"version": int, "entities": list_of(entity)})


def resolve_metadata(_root: Any, ctx: GraphQLContext) -> Metadata:
    """The request's metadata as its role sees it."""
    return metadata_of(ctx.meta, ctx.access)


def metadata_query(factory: Factory) -> tuple[Any, Callable[..., Any]]:
    """The ``metadata`` root field: (type, resolver)."""
    return metadata_type(factory), resolve_metadata
