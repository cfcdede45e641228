"""``compile_operation``: a validated query document as an ``OperationPlan``, or ``NotCompilable``.

Why a subset: the requests that cost most are lists and records with their scalar fields and
references, and those are what a plan can answer with a few SQL statements and a row-to-JSON loop.
Everything else — mutations, directives, introspection, aggregates, built-ins — is refused here,
once per document, and answered by strawberry, the reference.

Fields are collected as GraphQL collects them (aliases as response keys, fragments whose type
condition matches, repeated keys merged in first-seen order), so the response has the same keys in
the same order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)
from graphql.utilities import get_operation_ast

from api.graphql.compiled.plan import FieldPlan, Kind, NodePlan, NotCompilable, OperationPlan, Part, RootPlan
from api.graphql.compiled.values import converter, fast_of
from api.graphql.naming import camel, lower_first
from api.graphql.types import _scalar
from metamodel.definitions import EntityDef, FieldType
from metamodel.storage.catalog import WorkspaceMeta

Collected = dict[str, list[FieldNode]]
BUILTINS = {"id": "id", "version": "version", "createdAt": "created_at", "updatedAt": "updated_at"}
USER_PARTS = frozenset({"id", "name", "email"})
STAGE_PARTS = frozenset({"code", "name", "kind", "enteredAt"})
PAGE_PARTS = frozenset({"hasNextPage", "endCursor"})


@dataclass(frozen=True, slots=True)
class Entry:
    """What a GraphQL field name of an entity's object type is, as ``SchemaBuilder._object`` makes it."""

    kind: Kind | None  # None: outside the compiled subset (``many`` and inverse lists)
    column: str = ""
    target: str = ""
    scalar: object = None


def entity_fields(meta: WorkspaceMeta, entity: EntityDef) -> dict[str, Entry]:
    """The object type's fields in the order and with the precedence ``SchemaBuilder._object`` uses."""
    table: dict[str, Entry] = {gql: Entry(Kind.BUILTIN, col) for gql, col in BUILTINS.items()}
    table["owner"] = Entry(Kind.USER, "owner")
    if entity.pipelines:
        table["stage"] = Entry(Kind.STAGE)
        table["pipeline"] = Entry(Kind.PIPELINE)
    for fld in entity.fields:
        if fld.type is FieldType.REFERENCE and fld.to:
            table[camel(fld.name)] = Entry(Kind.REFERENCE, fld.name, fld.to)
        elif fld.type is FieldType.MANY and fld.to:
            table[camel(fld.name)] = Entry(Kind.MANY, fld.name, fld.to)
        elif fld.type is FieldType.USER:
            table[camel(fld.name)] = Entry(Kind.USER, fld.name)
        else:
            table[camel(fld.name)] = Entry(Kind.VALUE, fld.name, scalar=_scalar(fld))
    for source, via in meta.blueprint.inverses_of(entity.name):
        table[camel(via.inverse or "")] = Entry(Kind.INVERSE, via.name, source.name)
    return table


class Compiler:
    """Compiles one operation of one document against one generated schema."""

    def __init__(self, schema: object, meta: WorkspaceMeta, document: DocumentNode) -> None:
        self.gql = schema._schema  # type: ignore[attr-defined]  # graphql-core schema of strawberry's
        self.meta = meta
        self.fragments = {d.name.value: d for d in document.definitions
                          if isinstance(d, FragmentDefinitionNode)}
        self.lists = {camel(e.plural): e for e in meta.blueprint.entities}
        self.singles = {lower_first(e.name): e for e in meta.blueprint.entities}
        self.tables: dict[str, dict[str, Entry]] = {}

    def operation(self, document: DocumentNode, operation_name: str | None) -> OperationPlan:
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            raise NotCompilable("not a single query operation")
        if operation.directives or any(v.directives for v in operation.variable_definitions or ()):
            raise NotCompilable("directives")
        query_type = self.gql.query_type
        roots = tuple(self._root(key, nodes, query_type)
                      for key, nodes in self.collect([operation.selection_set], query_type.name).items())
        return OperationPlan(roots, tuple(operation.variable_definitions or ()))

    # ---- collecting fields ---------------------------------------------------------------------

    def collect(self, sets: Iterable[SelectionSetNode | None], type_name: str) -> Collected:
        """Response key → its field nodes, over fragments whose type condition is ``type_name``."""
        out: Collected = {}
        for selection_set in sets:
            if selection_set is not None:
                self._collect_into(out, selection_set, type_name)
        return out

    def _collect_into(self, out: Collected, selection_set: SelectionSetNode, type_name: str) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCompilable("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                out.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or condition.name.value == type_name:
                    self._collect_into(out, selection.selection_set, type_name)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None or fragment.directives:
                    raise NotCompilable("fragment")
                if fragment.type_condition.name.value == type_name:
                    self._collect_into(out, fragment.selection_set, type_name)

    def _sub(self, nodes: list[FieldNode], parent: GraphQLObjectType) -> tuple[GraphQLObjectType, Collected]:
        """The object type of ``nodes``' field on ``parent`` and their merged sub-selections."""
        field_type = get_named_type(parent.fields[nodes[0].name.value].type)
        if not isinstance(field_type, GraphQLObjectType):
            raise NotCompilable("not an object")
        return field_type, self.collect((n.selection_set for n in nodes), field_type.name)

    # ---- roots ---------------------------------------------------------------------------------

    def _root(self, key: str, nodes: list[FieldNode], query_type: GraphQLObjectType) -> RootPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return RootPlan(key, typename=query_type.name)
        field = query_type.fields.get(name)
        if name in self.lists and field is not None:
            conn_type, collected = self._sub(nodes, query_type)
            parts = self._connection(self.lists[name], conn_type, collected)
            return RootPlan(key, self.lists[name].name, field, nodes[0], parts=parts)
        if name in self.singles and field is not None:
            obj, sub = self._sub(nodes, query_type)
            entity = self.singles[name]
            return RootPlan(key, entity.name, field, nodes[0], node=self.node(entity, obj, sub))
        raise NotCompilable(name)

    def _connection(self, entity: EntityDef, conn_type: GraphQLObjectType,
                    collected: Collected) -> tuple[Part, ...]:
        parts: list[Part] = []
        for key, nodes in collected.items():
            name = nodes[0].name.value
            if name == "totalCount":
                parts.append((key, name, None))
            elif name == "__typename":
                parts.append((key, name, conn_type.name))
            elif name == "pageInfo":
                info_type, info = self._sub(nodes, conn_type)
                parts.append((key, name, _parts(info, PAGE_PARTS, info_type.name)))
            elif name == "edges":
                parts.append((key, name, self._edges(nodes, entity, conn_type)))
            else:
                raise NotCompilable(name)
        return tuple(parts)

    def _edges(self, nodes: list[FieldNode], entity: EntityDef,
               conn_type: GraphQLObjectType) -> tuple[Part, ...]:
        edge_type, collected = self._sub(nodes, conn_type)
        parts: list[Part] = []
        for key, sub_nodes in collected.items():
            name = sub_nodes[0].name.value
            if name == "node":
                obj, sub = self._sub(sub_nodes, edge_type)
                parts.append((key, name, self.node(entity, obj, sub)))
            elif name == "cursor":
                parts.append((key, name, None))
            elif name == "__typename":
                parts.append((key, name, edge_type.name))
            else:
                raise NotCompilable(name)
        return tuple(parts)

    # ---- records -------------------------------------------------------------------------------

    def node(self, entity: EntityDef, obj: GraphQLObjectType, collected: Collected) -> NodePlan:
        """The plan of a selection on ``entity``'s object type ``obj``."""
        table = self.tables.get(entity.name)
        if table is None:
            table = self.tables[entity.name] = entity_fields(self.meta, entity)
        return NodePlan(entity.name, tuple(self._field(entity, obj, table, key, nodes)
                                           for key, nodes in collected.items()))

    def _field(self, entity: EntityDef, obj: GraphQLObjectType, table: dict[str, Entry], key: str,
               nodes: list[FieldNode]) -> FieldPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return FieldPlan(key, Kind.TYPENAME, constant=obj.name)
        entry = table.get(name)
        if entry is None or entry.kind is None or name not in obj.fields:
            raise NotCompilable(f"{entity.name}.{name}")
        if entry.kind is Kind.INVERSE:
            conn_type, sub = self._sub(nodes, obj)
            parts = self._connection(self.meta.blueprint.get_entity(entry.target), conn_type, sub)
            return FieldPlan(key, Kind.INVERSE, entry.column, parts=parts, target=entry.target,
                             field=obj.fields[name], ast=nodes[0])
        if any(n.arguments for n in nodes):
            raise NotCompilable(f"{entity.name}.{name}")
        if entry.kind in (Kind.BUILTIN, Kind.VALUE):
            out_type = obj.fields[name].type
            return FieldPlan(key, entry.kind, entry.column, converter(entry.scalar, out_type),
                             fast_of(entry.scalar, out_type))
        sub_type, sub = self._sub(nodes, obj)
        if entry.kind in (Kind.REFERENCE, Kind.MANY):
            target = self.meta.blueprint.get_entity(entry.target)
            return FieldPlan(key, entry.kind, entry.column, node=self.node(target, sub_type, sub))
        allowed = {Kind.USER: USER_PARTS, Kind.STAGE: STAGE_PARTS, Kind.PIPELINE: frozenset({"code"})}
        return FieldPlan(key, entry.kind, entry.column, parts=_parts(sub, allowed[entry.kind], sub_type.name))


def _parts(collected: Collected, allowed: frozenset[str], type_name: str) -> tuple[Part, ...]:
    """(key, attribute, None) of a small object's selection; ``__typename`` carries its type name."""
    parts: list[Part] = []
    for key, nodes in collected.items():
        name = nodes[0].name.value
        if name == "__typename":
            parts.append((key, name, type_name))
        elif name in allowed:
            parts.append((key, name, None))
        else:
            raise NotCompilable(name)
    return tuple(parts)


def compile_operation(schema: object, meta: WorkspaceMeta, document: DocumentNode,
                      operation_name: str | None) -> OperationPlan:
    """The plan of ``document``'s operation (already validated against ``schema``)."""
    return Compiler(schema, meta, document).operation(document, operation_name)
