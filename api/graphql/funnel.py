"""The ``funnel`` root query: reached counts, conversions, time in stage and the bottleneck of a pipeline.

Why ``where`` is JSON here: the entity is an argument, so no single generated ``<Entity>Where`` input
can type it.  The JSON is read against the entity's own where input (the same field names,
operators and enum values as ``deals(where: …)``), then goes through the same filter compiler as a
list: the role's hidden fields are refused with FORBIDDEN and ``records: own`` narrows it to the
principal's records.  The numbers come from ``metamodel.records.read_funnel`` (two statements).
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition

from api.graphql.errors import translated
from api.graphql.inputs import Factory, list_of, optional
from api.graphql.resolvers import GraphQLContext
from api.graphql.workflow_ops import plain
from metamodel.errors import InvalidQuery, Place
from metamodel.records import Funnel, funnel_query, read_funnel

if TYPE_CHECKING:
    from api.graphql.types import SchemaBuilder

REQUIRED = inspect.Parameter.empty
Fields = dict[str, tuple[Any, Any]]
Params = dict[str, list[tuple[str, Any, Any]]]
OptStr = Optional[str]  # noqa: UP045 - strawberry reads a runtime Optional


def _fail(path: str, message: str) -> InvalidQuery:
    return InvalidQuery(f"{path}: {message}", place=Place(path=path))


def where_from_json(cls: type, value: Any, path: str = "where") -> dict[str, Any]:
    """A JSON filter read as the generated where input ``cls`` reads a typed one (snake_case keys)."""
    if not isinstance(value, Mapping):
        raise _fail(path, "expected an object of fields and operators")
    fields = {f.graphql_name or f.python_name: f for f in get_object_definition(cls, strict=True).fields}
    keys: dict[str, str] = getattr(cls, "__sc_keys__", {})
    result: dict[str, Any] = {}
    for key, item in value.items():
        found = fields.get(key)
        if found is None:
            raise _fail(f"{path}.{key}", f'unknown field or operator "{key}"; use one of {", ".join(fields)}')
        result[keys[found.python_name]] = _json_value(found.type, item, f"{path}.{key}")
    return result


def _json_value(typ: Any, item: Any, path: str) -> Any:
    """One JSON value as the typed input would carry it (lists item by item, enums by name)."""
    while isinstance(typ, StrawberryOptional):
        typ = typ.of_type
    if item is None:
        return None
    if isinstance(typ, StrawberryList):
        if not isinstance(item, list):
            raise _fail(path, "expected a list")
        return [_json_value(typ.of_type, v, f"{path}[{i}]") for i, v in enumerate(item)]
    if hasattr(typ, "__sc_keys__"):
        return where_from_json(typ, item, path)
    members = _enum_members(typ)
    if members is not None:
        if item not in members:
            raise _fail(path, f'"{item}" is not one of {", ".join(members)}')
        return members[item]
    return item


def _enum_members(typ: Any) -> dict[str, Any] | None:
    """``{NAME: value}`` of an enum type (None for any other type)."""
    wrapped = typ.wrapped_cls if isinstance(typ, StrawberryEnumDefinition) else typ
    definition = getattr(wrapped, "__strawberry_definition__", None)
    if isinstance(definition, StrawberryEnumDefinition):
        wrapped = definition.wrapped_cls
    if isinstance(wrapped, type) and issubclass(wrapped, enum.Enum):
        return {m.name: m.value for m in wrapped}
    return None


class FunnelQueries:
    """The funnel types and the ``funnel`` root field of one schema."""

    def __init__(self, builder: SchemaBuilder) -> None:
        self.builder = builder
        factory: Factory = builder.factory
        opt_float = Optional[float]  # noqa: UP045
        stage = plain(factory, "FunnelStage", {
            "code": str, "name": str, "kind": str, "reached": int, "conversion_from_previous": opt_float,
            "conversion_from_start": opt_float, "avg_time_in_stage_seconds": opt_float})
        lost = plain(factory, "FunnelLostStage", {"code": str, "name": str, "reached": int,
                                                  "avg_time_in_stage_seconds": opt_float})
        self.funnel = plain(factory, "Funnel", {
            "entity": str, "pipeline": str, "total": int, "stages": list_of(stage), "lost": list_of(lost),
            "bottleneck": optional(stage)})

    def resolve(self, _root: Any, ctx: GraphQLContext, *, entity: str, pipeline: str | None,
                from_: str | None, to: str | None, where: Any) -> Funnel:
        """The funnel as the role may see it: read permission, hidden fields, own records."""
        with translated():
            funnel_query(ctx.meta, entity, pipeline, from_, to)  # bad arguments first, before FORBIDDEN
        ctx.access.require(entity, "read")
        with translated():
            typed = where_from_json(self.builder.inputs.where[entity], where) if where is not None else None
            query = funnel_query(ctx.meta, entity, pipeline, from_, to, ctx.access.scoped(typed),
                                 ctx.access.hidden)
            with ctx.store.reading() as conn:
                return read_funnel(conn, ctx.meta, query, ctx.store.clock.now())

    def root_fields(self) -> tuple[Fields, Params]:
        start = Annotated[OptStr, strawberry.argument(name="from", description="first day (YYYY-MM-DD)")]
        end = Annotated[OptStr, strawberry.argument(description="last day, included (YYYY-MM-DD)")]
        params = [("entity", str, REQUIRED), ("pipeline", OptStr, None), ("from_", start, None),
                  ("to", end, None), ("where", Optional[JSON], None)]  # noqa: UP045
        return {"funnel": (self.funnel, self.resolve)}, {"funnel": params}


def funnel_queries(builder: SchemaBuilder) -> tuple[Fields, Params]:
    """``funnel(entity, pipeline, from, to, where)`` for the builder's schema."""
    return FunnelQueries(builder).root_fields()
