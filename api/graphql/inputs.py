"""Generated input types (where, orderBy, record input) and their translation to the store's dicts.

Why typed inputs rather than one JSON argument: a client's editor completes
and checks ``where: {amount: {gte: 1000}}`` against the introspected schema,
and a misspelt field is refused before anything runs.  Each generated input
class carries ``__sc_keys__`` (attribute → store key) so translating a request
back to the snake_case filter dict of ``RecordStore.list`` is one generic walk.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types.base import get_object_definition

from api.graphql.naming import attr_name, camel, class_name
from metamodel.definitions import EntityDef, FieldDef, FieldType
from metamodel.storage.catalog import WorkspaceMeta

Thunk = Callable[[], Any]
Spec = tuple[str, Any, str]  # (GraphQL name, type or Lazy, store key)


def optional(typ: Any) -> Any:
    """``Optional[typ]`` for a type only known at runtime."""
    return Optional[typ]  # noqa: UP045 - strawberry reads a runtime Optional


def list_of(typ: Any) -> Any:
    """``list[typ]`` for a type only known at runtime."""
    return list.__class_getitem__(typ)


class Lazy:
    """A type that exists only once every class of the schema does (recursive inputs)."""

    def __init__(self, make: Thunk) -> None:
        self.make = make


class Factory:
    """Makes the runtime classes of one schema, with names unique per workspace and version.

    Types that refer to each other (``DealWhere.contact: ContactWhere`` and back)
    are made with a placeholder and patched by ``finish`` once all exist.
    """

    def __init__(self, meta: WorkspaceMeta) -> None:
        self.meta = meta
        self.pending: list[tuple[type, str, Thunk]] = []

    def name(self, graphql_name: str) -> str:
        return class_name(self.meta.workspace, self.meta.version, graphql_name)

    def input(self, graphql_name: str, specs: list[Spec]) -> type:
        """An input type whose every field is optional (UNSET when the client left it out)."""
        namespace: dict[str, Any] = {"__annotations__": {}}
        keys: dict[str, str] = {}
        for gql, typ, key in specs:
            attr = attr_name(gql)
            placeholder = bool if isinstance(typ, Lazy) else typ
            namespace["__annotations__"][attr] = optional(placeholder)
            namespace[attr] = strawberry.field(name=gql, default=strawberry.UNSET)
            keys[attr] = key
        cls = strawberry.input(type(self.name(graphql_name), (), namespace), name=graphql_name)
        cls.__sc_keys__ = keys  # type: ignore[attr-defined]
        for gql, typ, _key in specs:
            if isinstance(typ, Lazy):
                self.later(cls, attr_name(gql), _optional_of(typ))
        return cls

    def later(self, cls: type, attr: str, thunk: Thunk) -> None:
        self.pending.append((cls, attr, thunk))

    def finish(self) -> None:
        for cls, attr, thunk in self.pending:
            definition = get_object_definition(cls, strict=True)
            next(f for f in definition.fields if f.python_name == attr).type = thunk()
        self.pending.clear()


def _optional_of(lazy: Lazy) -> Thunk:
    return lambda: optional(lazy.make())


def _enum(name: str, graphql_name: str, members: dict[str, str]) -> Any:
    """A strawberry enum made at runtime (its Python class name unique per schema)."""
    make: Any = enum.Enum
    return strawberry.enum(make(name, members), name=graphql_name)


EQ = ("eq", "neq")
IN = ("in", "nin")
CMP = ("gt", "gte", "lt", "lte")
STR = ("contains", "icontains", "startsWith")


class Shared:
    """The operator inputs and enums every entity of one schema shares."""

    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self.direction = _enum(factory.name("SortDirection"), "SortDirection", {"ASC": "asc", "DESC": "desc"})
        self.stage_kind = _enum(factory.name("StageKind"), "StageKind",
                                {"OPEN": "open", "WON": "won", "LOST": "lost"})
        ops = self._operators
        self.string = ops("StringFilter", str, EQ + IN + CMP + STR)
        self.code = ops("EnumFilter", str, EQ + IN)
        self.int = ops("IntFilter", int, EQ + IN + CMP)
        self.decimal = ops("DecimalFilter", Decimal, EQ + IN + CMP)
        self.boolean = ops("BooleanFilter", bool, EQ + IN)
        self.date = ops("DateFilter", dt.date, EQ + IN + CMP)
        self.datetime = ops("DateTimeFilter", dt.datetime, EQ + IN + CMP)
        self.id = ops("IDFilter", strawberry.ID, EQ + IN)
        self.list = ops("ListFilter", str, ("hasAny", "hasAll"))
        self.json = ops("JSONFilter", str, ())
        kind = ops("StageKindFilter", self.stage_kind, EQ + IN, null=False)
        stage_specs = self._specs(str, EQ + IN + ("isNull",))
        self.stage = factory.input("StageFilter", [*stage_specs, ("kind", kind, "kind")])
        self.user = factory.input("UserWhere", [("id", self.id, "id"), ("email", self.string, "email"),
                                                ("name", self.string, "name")])

    def _operators(self, name: str, typ: Any, ops: tuple[str, ...], null: bool = True) -> type:
        return self.factory.input(name, self._specs(typ, ops + (("isNull",) if null else ())))

    @staticmethod
    def _specs(typ: Any, ops: tuple[str, ...]) -> list[Spec]:
        def op_type(op: str) -> Any:
            if op == "isNull":
                return bool
            return list_of(typ) if op in IN or op in ("hasAny", "hasAll") else typ

        return [(op, op_type(op), op) for op in ops]

    def for_field(self, fld: FieldDef) -> Any:
        """The operator input of a scalar field (None for references and lists of records)."""
        typ = fld.value_type
        if fld.type is FieldType.ROLLUP:
            return self.int if fld.agg in (None, "count") else self.decimal
        table: dict[FieldType, Any] = {
            FieldType.ENUM: self.code, FieldType.INTEGER: self.int, FieldType.DECIMAL: self.decimal,
            FieldType.MONEY: self.decimal, FieldType.BOOLEAN: self.boolean, FieldType.DATE: self.date,
            FieldType.DATETIME: self.datetime, FieldType.TAGS: self.list, FieldType.MULTI_ENUM: self.list,
            FieldType.JSON: self.json, FieldType.USER: self.user}
        return table.get(typ, self.string)


class EntityInputs:
    """Where, quantified-list, orderBy and record inputs of every entity of a blueprint."""

    def __init__(self, meta: WorkspaceMeta, factory: Factory, shared: Shared) -> None:
        self.where: dict[str, type] = {}
        self.some: dict[str, type] = {}
        self.order: dict[str, type] = {}
        self.record: dict[str, type] = {}
        for entity in meta.blueprint.entities:
            where_specs = self._where_specs(meta, entity, shared)
            self.where[entity.name] = factory.input(f"{entity.name}Where", where_specs)
            self.some[entity.name] = factory.input(f"{entity.name}ListWhere", [
                ("some", self._where_of(entity.name), "some"), ("none", self._where_of(entity.name), "none")])
            self.order[entity.name] = factory.input(f"{entity.name}OrderBy", order_specs(entity, shared))
            self.record[entity.name] = factory.input(f"{entity.name}Input", record_specs(entity))

    def _where_of(self, entity: str) -> Lazy:
        return Lazy(lambda: self.where[entity])

    def _some_of(self, entity: str) -> Lazy:
        return Lazy(lambda: self.some[entity])

    def _where_specs(self, meta: WorkspaceMeta, entity: EntityDef, shared: Shared) -> list[Spec]:
        specs: list[Spec] = [("id", shared.id, "id"), ("version", shared.int, "version"),
                             ("createdAt", shared.datetime, "created_at"),
                             ("updatedAt", shared.datetime, "updated_at"), ("owner", shared.user, "owner")]
        if entity.pipelines:
            specs += [("stage", shared.stage, "stage"), ("pipeline", shared.code, "pipeline")]
        for fld in entity.fields:
            if fld.type is FieldType.REFERENCE and fld.to:
                specs.append((camel(fld.name), self._where_of(fld.to), fld.name))
            elif fld.type is FieldType.MANY and fld.to:
                specs.append((camel(fld.name), self._some_of(fld.to), fld.name))
            else:
                specs.append((camel(fld.name), shared.for_field(fld), fld.name))
        for source, via in meta.blueprint.inverses_of(entity.name):
            specs.append((camel(via.inverse or ""), self._some_of(source.name), via.inverse or ""))
        me = self._where_of(entity.name)
        many = Lazy(lambda: list_of(me.make()))
        specs += [("and", many, "and"), ("or", many, "or"), ("not", me, "not")]
        return specs


UNSORTABLE = frozenset({FieldType.REFERENCE, FieldType.MANY, FieldType.TAGS, FieldType.MULTI_ENUM,
                        FieldType.JSON, FieldType.USER})


def order_specs(entity: EntityDef, shared: Shared) -> list[Spec]:
    """One direction per sortable name: built-ins, the stage (pipeline order) and scalar fields."""
    names = [("id", "id"), ("createdAt", "created_at"), ("updatedAt", "updated_at"), ("version", "version")]
    if entity.pipelines:
        names.append(("stage", "stage"))
    names += [(camel(f.name), f.name) for f in entity.fields if f.value_type not in UNSORTABLE]
    return [(gql, shared.direction, key) for gql, key in names]


def input_name(fld: FieldDef) -> str:
    """The input name of a field: references and users as ``contactId``, many as ``partnerIds``."""
    if fld.type in (FieldType.REFERENCE, FieldType.USER):
        return camel(fld.name) + "Id"
    if fld.type is FieldType.MANY:
        return camel(fld.name) + "Ids"
    return camel(fld.name)


_INPUT_TYPES: dict[FieldType, Any] = {
    FieldType.INTEGER: int, FieldType.DECIMAL: Decimal, FieldType.MONEY: Decimal, FieldType.BOOLEAN: bool,
    FieldType.DATE: dt.date, FieldType.DATETIME: dt.datetime, FieldType.TAGS: list[str],
    FieldType.MULTI_ENUM: list[str], FieldType.JSON: JSON, FieldType.REFERENCE: strawberry.ID,
    FieldType.USER: strawberry.ID, FieldType.MANY: list[strawberry.ID]}


def record_specs(entity: EntityDef) -> list[Spec]:
    """Fields a create or update may set: stored fields, many lists, and stage/pipeline."""
    specs: list[Spec] = [(input_name(f), _INPUT_TYPES.get(f.type, str), f.name)
                         for f in entity.fields if f.type not in (FieldType.FORMULA, FieldType.ROLLUP)]
    if entity.pipelines:
        specs += [("stage", str, "stage"), ("pipeline", str, "pipeline")]
    return specs


# --- translation back to the store's dicts -----------------------------------------------------------

def to_dict(value: Any) -> Any:
    """A where input (or part of it) as the snake_case dict ``RecordStore.list`` reads."""
    keys = getattr(type(value), "__sc_keys__", None)
    if keys is not None:
        return {keys[attr]: to_dict(item) for attr in keys
                if (item := getattr(value, attr)) is not strawberry.UNSET}
    if isinstance(value, list):
        return [to_dict(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def to_order(items: list[Any] | None) -> list[tuple[str, str]]:
    """``[{amount: DESC}, {createdAt: ASC}]`` → ``[("amount", "desc"), ("created_at", "asc")]``."""
    order: list[tuple[str, str]] = []
    for item in items or ():
        for key, direction in to_dict(item).items():
            if direction is not None:
                order.append((key, direction))
    return order


def to_values(value: Any) -> dict[str, Any]:
    """A record input as the values ``create``/``update`` take (null clears, UNSET leaves alone)."""
    converted: dict[str, Any] = to_dict(value)
    return converted
