"""Errors of the generated API, and the one place metamodel errors become GraphQL errors.

Why: a client branches on ``extensions.code`` (spec/graphql.md), never on prose
and never on a traceback.  The metamodel owns its codes; this module only maps
them — renaming snake_case field names in ``extensions.fields`` and in error
paths to the camelCase names the client sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import strawberry
from graphql import GraphQLError

from api.graphql.naming import camel
from metamodel.errors import InvalidQuery, MetamodelError, ValidationFailed

FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
VALIDATION_FAILED = "VALIDATION_FAILED"

#: Codes passed through as they are; any other metamodel code is reported as VALIDATION_FAILED.
KNOWN = frozenset({"VALIDATION_FAILED", "NOT_FOUND", "VERSION_CONFLICT", "UNKNOWN_STAGE",
                   "METADATA_CHANGED", "FORBIDDEN"})


class ApiError(GraphQLError):
    """A refusal of the API itself (permissions, missing records) with its ``extensions.code``."""

    def __init__(self, code: str, message: str, *, hint: str = "",
                 fields: Mapping[str, str] | None = None) -> None:
        extensions: dict[str, Any] = {"code": code}
        if hint:
            extensions["hint"] = hint
        if fields:
            extensions["fields"] = dict(fields)
        super().__init__(message, extensions=extensions)
        self.code = code


class WorkspaceSchema(strawberry.Schema):
    """A generated schema whose log holds only the unexpected: an error a client caused (a refused
    write, a missing record, FORBIDDEN) is answered with its code, not logged with a traceback."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        unexpected = [e for e in errors if not isinstance(e.original_error, GraphQLError)
                      and not isinstance(e, ApiError) and e.original_error is not None]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def forbidden(message: str) -> ApiError:
    return ApiError(FORBIDDEN, message)


def not_found(entity: str, record_id: object) -> ApiError:
    return ApiError(NOT_FOUND, f"{entity} {record_id} does not exist")


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def camel_path(path: str) -> str:
    """``where.due_on.gte`` → ``where.dueOn.gte`` (operators are already camelCase)."""
    return _WORD.sub(lambda m: camel(m.group(0)), path)


def from_metamodel(exc: MetamodelError, field_name: Callable[[str], str] = camel) -> ApiError:
    """``exc`` as an ``ApiError``; ``field_name`` spells a record field as the input named it."""
    code = exc.code if exc.code in KNOWN else VALIDATION_FAILED
    if isinstance(exc, ValidationFailed):
        fields = {field_name(k): v for k, v in exc.fields.items()}
        message = "; ".join(f"{k}: {v}" for k, v in fields.items()) or exc.message
        return ApiError(code, message, hint=exc.hint, fields=fields)
    if isinstance(exc, InvalidQuery) and exc.place.path:
        message = camel_path(exc.message)
        where = {camel_path(exc.place.path): message} if code == VALIDATION_FAILED else None
        return ApiError(code, message, hint=exc.hint, fields=where)
    return ApiError(code, exc.message, hint=exc.hint)


@contextmanager
def translated(field_name: Callable[[str], str] = camel) -> Iterator[None]:
    """Run a resolver's storage call; a metamodel error leaves it as a coded GraphQL error."""
    try:
        yield
    except MetamodelError as exc:
        raise from_metamodel(exc, field_name) from None
