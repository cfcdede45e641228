"""Leaf values as the reference serialises them, with fast paths for the common Python types.

The reference path turns a stored value into JSON in two steps: the resolver's ``_typed`` (formulas
may come back from SQLite as text or float) and the GraphQL scalar's ``serialize`` (graphql-core's
String, Int, Boolean, ID; strawberry's Decimal, Date, DateTime, JSON).  ``converter`` composes the
same two steps, so any value converts exactly as it would there; the fast paths only skip the calls
for the types where the result is known (a ``str`` in a String field is itself, a ``Decimal`` is its
``str``…).  A value the reference would refuse with an error (an Int beyond 32 bits, a null inside a
list of non-null items) raises ``NotCompilable``, and the request is answered by the reference.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from graphql import GraphQLList, GraphQLNonNull, GraphQLOutputType, GraphQLScalarType

from api.graphql.compiled.codegen import Fast
from api.graphql.compiled.plan import Convert, NotCompilable
from api.graphql.types import _typed

INT_MIN, INT_MAX = -(2**31), 2**31 - 1

#: scalar name → the common Python class of its values and what the serialiser makes of them
FAST: dict[str, Fast] = {
    "String": Fast(str),
    "Boolean": Fast(bool),
    "Int": Fast(int, int_range=True),
    "ID": Fast(int, str),
    "Decimal": Fast(Decimal, str),
    "DateTime": Fast(dt.datetime, dt.datetime.isoformat),
    "Date": Fast(dt.date, dt.date.isoformat),
}


def fast_of(scalar: Any, gql_type: GraphQLOutputType) -> Fast | None:
    """The fast path of ``converter(scalar, gql_type)``, when it has one (lists have none)."""
    inner = gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type
    fast = FAST.get(inner.name) if isinstance(inner, GraphQLScalarType) else None
    if fast is None or scalar not in (None, fast.cls):
        return None
    return fast


def _slow(scalar: Any, gql: GraphQLScalarType) -> Convert:
    serialize = gql.serialize

    def convert(value: Any) -> Any:
        try:
            result = serialize(_typed(value, scalar) if scalar is not None else value)
        except Exception as exc:  # the reference reports it as an error: let it
            raise NotCompilable(f"{gql.name} cannot show {value!r}") from exc
        if result is None:
            raise NotCompilable(f"{gql.name} serialised {value!r} as null")
        return result

    return convert


def _scalar_converter(scalar: Any, gql: GraphQLScalarType) -> Convert:
    slow = _slow(scalar, gql)
    fast = fast_of(scalar, gql)
    if fast is None:
        return lambda value: None if value is None else slow(value)
    cls: Any = fast.cls
    make, int_range = fast.make or (lambda v: v), fast.int_range

    def to_json(value: Any) -> Any:
        if value is None:
            return None
        if value.__class__ is cls and (not int_range or INT_MIN <= value <= INT_MAX):
            return make(value)
        return slow(value)

    return to_json


def converter(scalar: Any, gql_type: GraphQLOutputType) -> Convert:
    """``value → JSON`` for a field of output type ``gql_type`` whose resolver types it as ``scalar``
    (None: the resolver hands the stored value over as it is)."""
    inner = gql_type.of_type if isinstance(gql_type, GraphQLNonNull) else gql_type
    if isinstance(inner, GraphQLList):
        return _list_converter(inner)
    if not isinstance(inner, GraphQLScalarType):
        raise NotCompilable(f"not a scalar: {inner}")
    return _scalar_converter(scalar, inner)


def _list_converter(gql_list: GraphQLList[Any]) -> Convert:
    item_type = gql_list.of_type
    non_null = isinstance(item_type, GraphQLNonNull)
    item = converter(None, item_type)

    def to_list(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise NotCompilable("a list field holds no list")
        out = []
        for entry in value:
            if entry is None and non_null:
                raise NotCompilable("null inside a list of non-null items")
            out.append(item(entry))
        return out

    return to_list
