"""``build_schema``: a strawberry schema generated from one workspace's metadata version.

Why generated classes and not one generic "Record" type: clients get real
types (``Deal.amount: Decimal``, ``Deal.contact: Contact``) they can
introspect, complete and check, and a blueprint applied a minute ago is
queryable as soon as its schema is built — no code, no restart.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Optional

import strawberry
from strawberry.scalars import JSON

from api.graphql.aggregates import aggregate_queries
from api.graphql.broadcasts import broadcast_api
from api.graphql.builtins import builtin_queries
from api.graphql.errors import WorkspaceSchema, forbidden
from api.graphql.funnel import funnel_queries
from api.graphql.inputs import EntityInputs, Factory, Lazy, Shared, list_of, optional, to_dict, to_order
from api.graphql.naming import attr_name, camel, lower_first, resolver_name
from api.graphql.notes import note_queries
from api.graphql.resolvers import Connection, GraphQLContext, Node, UserRef, mutation_fields
from api.graphql.workflow_ops import WorkflowTypes, workflow_mutations
from metamodel.definitions import EntityDef, FieldDef, FieldType
from metamodel.records.query import DEFAULT_PAGE
from metamodel.storage.catalog import WorkspaceMeta

__all__ = ["GraphQLContext", "build_schema"]

P = inspect.Parameter


def make_resolver(factory: Factory, label: str, fn: Callable[..., Any],
                  params: list[tuple[str, Any, Any]] = ()) -> Callable[..., Any]:  # type: ignore[assignment]
    """``fn(root, info, **args)`` with a distinct ``__name__`` and a signature strawberry reads.

    ``params`` are (python name, annotation, default) of the GraphQL arguments;
    strawberry spells them in camelCase (``order_by`` → ``orderBy``).
    """

    def resolve(root: Any, info: Any, **kwargs: Any) -> Any:
        return fn(root, info.context, **kwargs)

    meta = factory.meta
    resolve.__name__ = resolve.__qualname__ = resolver_name(meta.workspace, meta.version, label)
    signature = [P("root", P.POSITIONAL_OR_KEYWORD),
                 P("info", P.POSITIONAL_OR_KEYWORD, annotation=strawberry.Info)]
    signature += [P(name, P.KEYWORD_ONLY, annotation=ann, default=default) for name, ann, default in params]
    resolve.__signature__ = inspect.Signature(signature)  # type: ignore[attr-defined]
    return resolve


def object_type(factory: Factory, graphql_name: str, fields: dict[str, tuple[Any, Callable[..., Any]]],
                params: dict[str, list[tuple[str, Any, Any]]] | None = None) -> type:
    """An object type whose fields are all resolvers: ``{GraphQL name: (type or Lazy, fn)}``."""
    namespace: dict[str, Any] = {"__annotations__": {}}
    lazy: list[tuple[str, Lazy]] = []
    for gql, (typ, fn) in fields.items():
        attr = attr_name(gql)
        resolver = make_resolver(factory, f"{graphql_name}__{gql}", fn, (params or {}).get(gql, []))
        placeholder = optional(bool) if isinstance(typ, Lazy) else typ
        namespace[attr] = strawberry.field(resolver=resolver, name=gql, graphql_type=placeholder)
        if isinstance(typ, Lazy):
            lazy.append((attr, typ))
    cls = strawberry.type(type(factory.name(graphql_name), (), namespace), name=graphql_name)
    for attr, typ in lazy:
        factory.later(cls, attr, typ.make)
    return cls


@dataclass(frozen=True)
class StageRef:
    code: str
    name: str | None
    kind: str | None
    entered_at: dt.datetime | None


@dataclass(frozen=True)
class PipelineRef:
    code: str


@dataclass(frozen=True)
class EdgeRef:
    cursor: str
    node: Node


class Builtins:
    """Object types every entity shares: PageInfo, User, Stage, Pipeline."""

    def __init__(self, factory: Factory) -> None:
        def plain(name: str, annotations: dict[str, Any]) -> type:
            return strawberry.type(type(factory.name(name), (), {"__annotations__": annotations}), name=name)

        self.page_info = plain("PageInfo", {"has_next_page": bool, "end_cursor": Optional[str]})  # noqa: UP045
        self.user = plain("User", {"id": strawberry.ID, "name": Optional[str], "email": Optional[str]})  # noqa: UP045
        self.stage = plain("Stage", {"code": str, "name": Optional[str], "kind": Optional[str],  # noqa: UP045
                                     "entered_at": Optional[dt.datetime]})  # noqa: UP045
        self.pipeline = plain("Pipeline", {"code": str})


def _scalar(fld: FieldDef) -> Any:
    if fld.type is FieldType.ROLLUP:
        return int if fld.agg in (None, "count") else Decimal
    table: dict[FieldType, Any] = {
        FieldType.INTEGER: int, FieldType.DECIMAL: Decimal, FieldType.MONEY: Decimal, FieldType.BOOLEAN: bool,
        FieldType.DATE: dt.date, FieldType.DATETIME: dt.datetime, FieldType.TAGS: list[str],
        FieldType.MULTI_ENUM: list[str], FieldType.JSON: JSON}
    return table.get(fld.value_type, str)


def _typed(value: Any, scalar: Any) -> Any:
    """Values as their scalar serialises them (formulas may come back as text or float from SQLite)."""
    if value is None:
        return None
    if scalar is dt.date and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if scalar is dt.datetime and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if scalar is Decimal and not isinstance(value, Decimal):
        return Decimal(str(value))
    if scalar is str and not isinstance(value, str):
        return str(value)
    return value


class SchemaBuilder:
    """Builds every type of one workspace's schema (see ``build_schema``)."""

    def __init__(self, meta: WorkspaceMeta) -> None:
        self.meta = meta
        self.factory = Factory(meta)
        self.shared = Shared(self.factory)
        self.inputs = EntityInputs(meta, self.factory, self.shared)
        self.builtins = Builtins(self.factory)
        self.workflow = WorkflowTypes(self.factory)
        self.objects: dict[str, type] = {}
        self.connections: dict[str, type] = {}

    def build(self) -> strawberry.Schema:
        for entity in self.meta.blueprint.entities:
            self.objects[entity.name] = self._object(entity)
            self.connections[entity.name] = self._connection(entity)
        extra_fields, extra_params = builtin_queries(self.factory, self.workflow)
        aggregate_fields, aggregate_params = aggregate_queries(self)
        extra_fields.update(aggregate_fields)
        extra_params.update(aggregate_params)
        funnel_fields, funnel_params = funnel_queries(self)
        note_fields, note_params, note_mutations = note_queries(self.factory)
        extra_fields.update({**funnel_fields, **note_fields})
        extra_params.update({**funnel_params, **note_params})
        broadcast_fields, broadcast_params, broadcast_mutations = broadcast_api(self.factory)
        extra_fields.update(broadcast_fields)
        extra_params.update(broadcast_params)
        query = object_type(self.factory, "Query", {**self._query_fields(), **extra_fields},
                            {**self._query_params(), **extra_params})
        mutation_specs = mutation_fields(self.meta, self.inputs, self._object_of)
        mutation_specs.update(workflow_mutations(self.workflow))
        mutation_specs.update(broadcast_mutations)
        mutation_specs.update(note_mutations)
        fields = {k: (t, f) for k, (t, f, _) in mutation_specs.items()}
        params = {k: p for k, (_, _, p) in mutation_specs.items()}
        mutation = object_type(self.factory, "Mutation", fields, params)
        self.factory.finish()
        return WorkspaceSchema(query=query, mutation=mutation)

    def object_type(self, graphql_name: str, fields: dict[str, tuple[Any, Callable[..., Any]]],
                    params: dict[str, list[tuple[str, Any, Any]]] | None = None) -> type:
        """An object type of this schema (see the module's ``object_type``)."""
        return object_type(self.factory, graphql_name, fields, params)

    def _connection_of(self, entity: str) -> Lazy:
        return Lazy(lambda: self.connections[entity])

    def _object_of(self, entity: str) -> Lazy:
        return Lazy(lambda: self.objects[entity])

    def list_params(self, entity: str) -> list[tuple[str, Any, Any]]:
        where, order = self.inputs.where[entity], self.inputs.order[entity]
        return [("where", optional(where), None), ("order_by", optional(list_of(order)), None),
                ("first", int, DEFAULT_PAGE), ("after", optional(str), None)]

    # ---- Query ----------------------------------------------------------------------------------

    def _query_fields(self) -> dict[str, tuple[Any, Callable[..., Any]]]:
        fields: dict[str, tuple[Any, Callable[..., Any]]] = {}
        for entity in self.meta.blueprint.entities:
            name = entity.name

            def many(_root: Any, ctx: GraphQLContext, *, where: Any, order_by: Any, first: int, after: Any,
                     name: str = name) -> Connection:
                return ctx.list(name, to_dict(where) if where else None, to_order(order_by), first, after)

            def one(_root: Any, ctx: GraphQLContext, *, id: str, name: str = name) -> Node:
                ctx.access.require(name, "read")
                return ctx.get(name, id)

            fields[camel(entity.plural)] = (self.connections[name], many)
            fields[lower_first(name)] = (optional(self.objects[name]), one)
        return fields

    def _query_params(self) -> dict[str, list[tuple[str, Any, Any]]]:
        params: dict[str, list[tuple[str, Any, Any]]] = {}
        for entity in self.meta.blueprint.entities:
            params[camel(entity.plural)] = self.list_params(entity.name)
            params[lower_first(entity.name)] = [("id", strawberry.ID, P.empty)]
        return params

    # ---- objects --------------------------------------------------------------------------------

    def _connection(self, entity: EntityDef) -> type:
        edge = object_type(self.factory, f"{entity.name}Edge", {
            "cursor": (str, lambda root, _ctx: root.cursor),
            "node": (self.objects[entity.name], lambda root, _ctx: root.node)})
        return object_type(self.factory, f"{entity.name}Connection", {
            "totalCount": (int, lambda root, _ctx: root.count()),
            "pageInfo": (self.builtins.page_info, lambda root, _ctx: root.page),
            "edges": (list_of(edge), lambda root, _ctx: [EdgeRef(root.cursor(i), n)
                                                      for i, n in enumerate(root.nodes)])})

    def _object(self, entity: EntityDef) -> type:
        user = optional(self.builtins.user)
        fields: dict[str, tuple[Any, Callable[..., Any]]] = {
            "id": (strawberry.ID, lambda root, _ctx: root.record["id"]),
            "version": (int, lambda root, _ctx: root.record["version"]),
            "createdAt": (dt.datetime, lambda root, _ctx: root.record["created_at"]),
            "updatedAt": (dt.datetime, lambda root, _ctx: root.record["updated_at"]),
            "owner": (user, _user_resolver("owner"))}
        if entity.pipelines:
            fields["stage"] = (optional(self.builtins.stage), _stage_resolver(entity))
            fields["pipeline"] = (optional(self.builtins.pipeline),
                                  lambda root, _ctx: PipelineRef(root.record["pipeline"])
                                  if root.record.get("pipeline") else None)
        params: dict[str, list[tuple[str, Any, Any]]] = {}
        for fld in entity.fields:
            fields[camel(fld.name)] = self._field(entity, fld)
        for source, via in self.meta.blueprint.inverses_of(entity.name):
            gql = camel(via.inverse or "")
            fields[gql] = (self._connection_of(source.name), _inverse_resolver(source.name, via.name))
            params[gql] = self.list_params(source.name)
        return object_type(self.factory, entity.name, fields, params)

    def _field(self, entity: EntityDef, fld: FieldDef) -> tuple[Any, Callable[..., Any]]:
        name = fld.name
        if fld.type is FieldType.REFERENCE and fld.to:
            target = fld.to

            def reference(root: Node, ctx: GraphQLContext) -> Node | None:
                if ctx.access.is_hidden(root.entity, name) or root.record.get(name) is None:
                    return None
                return ctx.targets(root, name, target).get(root.record[name])

            return Lazy(lambda: optional(self.objects[target])), reference
        if fld.type is FieldType.MANY and fld.to:
            target = fld.to

            def many(root: Node, ctx: GraphQLContext) -> list[Node]:
                if ctx.access.is_hidden(root.entity, name):
                    return []
                found = ctx.targets(root, name, target, many=True)
                return [found[i] for i in root.record.get(name) or () if i in found]

            return Lazy(lambda: list_of(self.objects[target])), many
        if fld.type is FieldType.USER:
            return optional(self.builtins.user), _user_resolver(name)
        scalar = _scalar(fld)

        def value(root: Node, ctx: GraphQLContext) -> Any:
            if ctx.access.is_hidden(root.entity, name):
                return None
            return _typed(root.record.get(name), scalar)

        return optional(scalar), value


def _user_resolver(name: str) -> Callable[[Node, GraphQLContext], UserRef | None]:
    def user(root: Node, ctx: GraphQLContext) -> UserRef | None:
        if ctx.access.is_hidden(root.entity, name) or root.record.get(name) is None:
            return None
        return ctx.users(root, name).get(root.record[name])

    return user


def _stage_resolver(entity: EntityDef) -> Callable[[Node, GraphQLContext], StageRef | None]:
    def stage(root: Node, _ctx: GraphQLContext) -> StageRef | None:
        code = root.record.get("stage")
        if code is None:
            return None
        pipeline = entity.find_pipeline(root.record.get("pipeline") or "") or entity.default_pipeline
        found = pipeline.find_stage(code) if pipeline else None
        return StageRef(code, found.name if found else None, found.kind.value if found else None,
                        root.record.get("stage_entered_at"))

    return stage


def _inverse_resolver(source: str, via: str) -> Callable[..., Connection]:
    def inverse(root: Node, ctx: GraphQLContext, *, where: Any, order_by: Any, first: int,
                after: Any) -> Connection:
        ctx.access.require(source, "read")
        if ctx.access.is_hidden(source, via):  # else its filter is refused, naming a where never written
            name = camel(ctx.meta.blueprint.get_entity(source).get_field(via).inverse or via)
            raise forbidden(f"{source}.{via} is hidden from your role, so "
                            f"{lower_first(root.batch.entity)}.{name} is too")
        return ctx.inverse(root, source, via, to_dict(where) if where else None, to_order(order_by), first,
                           after)

    return inverse


def build_schema(meta: WorkspaceMeta) -> strawberry.Schema:
    """The GraphQL schema of ``meta``: types, lists, single records and record mutations.

    Class names carry the workspace and version, so schemas of several
    workspaces and versions live side by side in one process.
    """
    return SchemaBuilder(meta).build()
