"""``esAggregate`` and ``esGroupBy``: counts, sums, averages, minima and maxima computed in SQL.

Why every visible numeric field is computed at once: the aggregates of one request are one
statement either way (``RecordStore.aggregate`` / ``group_by``), and the selection does not have to
be threaded through the resolvers.  Fields hidden from the role are never sent to the database; a
client asking for one gets FORBIDDEN, exactly like grouping or filtering by it.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import strawberry

from api.graphql.errors import forbidden, translated
from api.graphql.inputs import list_of, optional, to_dict
from api.graphql.naming import camel
from api.graphql.resolvers import GraphQLContext
from metamodel.definitions import EntityDef, FieldDef, FieldType

if TYPE_CHECKING:
    from api.graphql.types import SchemaBuilder

REQUIRED = inspect.Parameter.empty
FUNCTIONS = ("sum", "avg", "min", "max")
Fields = dict[str, tuple[Any, Callable[..., Any]]]
Params = dict[str, list[tuple[str, Any, Any]]]
_NOT_GROUPABLE = frozenset({FieldType.MANY, FieldType.TAGS, FieldType.MULTI_ENUM, FieldType.JSON})


def numeric(fld: FieldDef) -> type | None:
    """The scalar of a field that can be summed and averaged (None for any other field)."""
    if fld.type is FieldType.ROLLUP:
        return int if fld.agg in (None, "count") else Decimal
    return {FieldType.INTEGER: int, FieldType.DECIMAL: Decimal, FieldType.MONEY: Decimal}.get(fld.value_type)


def _key_scalar(fld: FieldDef) -> Any:
    if fld.type in (FieldType.REFERENCE, FieldType.USER):
        return strawberry.ID
    scalars: dict[FieldType, Any] = {FieldType.BOOLEAN: bool, FieldType.INTEGER: int}
    return numeric(fld) or scalars.get(fld.value_type, str)


@dataclass(frozen=True)
class Numbers:
    """One function's values (``sum``, ``avg``…) by field name, as the metamodel computed them."""

    entity: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Result:
    """An aggregate, or one group of a group-by: ``{"count": n, "sum": {...}, "key": {...}}``."""

    entity: str
    values: dict[str, Any]


class EntityAggregates:
    """The aggregate and group-by types and root fields of one entity."""

    def __init__(self, builder: SchemaBuilder, entity: EntityDef) -> None:
        self.builder, self.entity = builder, entity
        self.numeric = {f.name: s for f in entity.fields if (s := numeric(f)) is not None}
        self.keys: dict[str, Any] = {f.name: _key_scalar(f) for f in entity.fields
                                     if f.type not in _NOT_GROUPABLE and f.type is not FieldType.JSON}
        self.keys["owner"] = strawberry.ID
        if entity.pipelines:
            self.keys.update(stage=str, pipeline=str)

    def _numbers(self, suffix: str, scalar: Callable[[Any], Any]) -> type:
        fields: Fields = {camel(name): (optional(scalar(typ)), _number(name))
                          for name, typ in self.numeric.items()}
        return self.builder.object_type(f"{self.entity.name}{suffix}", fields)

    def _result_fields(self) -> Fields:
        fields: Fields = {"count": (int, lambda root, _ctx: root.values["count"])}
        if self.numeric:
            values = self._numbers("Numbers", lambda typ: typ)
            averages = self._numbers("Averages", lambda _typ: Decimal)
            for func in FUNCTIONS:
                fields[func] = (averages if func == "avg" else values, _function(func))
        return fields

    def root_fields(self) -> tuple[Fields, Params]:
        name, plural = self.entity.name, camel(self.entity.plural)
        where = optional(self.builder.inputs.where[name])
        aggregate = self.builder.object_type(f"{name}Aggregate", self._result_fields())
        key = self.builder.object_type(f"{name}GroupKey", {
            camel(k): (optional(s), _key(k)) for k, s in self.keys.items()})
        group = self.builder.object_type(f"{name}Group", {
            "key": (key, lambda root, _ctx: root), **self._result_fields()})
        members = {_enum_name(k): k for k in self.keys}
        make: Any = enum.Enum
        by_enum = strawberry.enum(make(self.builder.factory.name(f"{name}GroupField"), members),
                                  name=f"{name}GroupField")
        fields: Fields = {f"{plural}Aggregate": (aggregate, self._aggregate),
                          f"{plural}GroupBy": (list_of(group), self._group_by)}
        params: Params = {f"{plural}Aggregate": [("where", where, None)],
                          f"{plural}GroupBy": [("by", list_of(by_enum), REQUIRED), ("where", where, None)]}
        return fields, params

    def _wanted(self, ctx: GraphQLContext) -> dict[str, list[str]] | None:
        visible = [n for n in self.numeric if not ctx.access.is_hidden(self.entity.name, n)]
        return {func: visible for func in FUNCTIONS} if visible else None

    def _aggregate(self, _root: Any, ctx: GraphQLContext, *, where: Any) -> Result:
        name = self.entity.name
        ctx.access.require(name, "read")
        scoped = ctx.access.scoped(to_dict(where) if where else None)
        with translated():
            values = ctx.store.aggregate(name, scoped, self._wanted(ctx), hidden=ctx.access.hidden)
        return Result(name, values)

    def _group_by(self, _root: Any, ctx: GraphQLContext, *, by: list[Any], where: Any) -> list[Result]:
        name = self.entity.name
        ctx.access.require(name, "read")
        scoped = ctx.access.scoped(to_dict(where) if where else None)
        fields = [member.value for member in by]
        with translated():
            groups = ctx.store.group_by(name, fields, scoped, self._wanted(ctx), hidden=ctx.access.hidden)
        return [Result(name, g) for g in groups]


def _enum_name(field: str) -> str:
    return field.upper()


def _function(func: str) -> Callable[[Result, GraphQLContext], Numbers]:
    return lambda root, _ctx: Numbers(root.entity, root.values.get(func, {}))


def _number(name: str) -> Callable[[Numbers, GraphQLContext], Any]:
    def value(root: Numbers, ctx: GraphQLContext) -> Any:
        if ctx.access.is_hidden(root.entity, name):
            raise forbidden(f"your role may not aggregate {camel(name)} of {root.entity} records")
        return root.values.get(name)

    return value


def _key(name: str) -> Callable[[Result, GraphQLContext], Any]:
    def value(root: Result, _ctx: GraphQLContext) -> Any:
        found = root.values.get("key", {})
        return found.get(name)

    return value


def aggregate_queries(builder: SchemaBuilder) -> tuple[Fields, Params]:
    """``esAggregate`` and ``esGroupBy`` of every entity of the builder's workspace."""
    fields: Fields = {}
    params: Params = {}
    for entity in builder.meta.blueprint.entities:
        more_fields, more_params = EntityAggregates(builder, entity).root_fields()
        fields.update(more_fields)
        params.update(more_params)
    return fields, params
