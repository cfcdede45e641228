"""Checking a formula field's expression: parse, type-check against the schema, dry-run the SQL.

Why a dry run: a formula is computed in SQL, so an expression that checks but has no SQL form
(``old.x``, ``changed(x)``, a bare list) must be refused when the blueprint is loaded, not at the
first query.  The dry run compiles for both dialects against a resolver that knows only the schema.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from dsl import ast as a
from dsl._check_expr import Scope, expr_type, value_type
from dsl._sql_arith import SqlUnsupported
from dsl._sql_funcs import Compiler
from dsl._sql_ops import Col
from dsl.errors import CraftError, CraftErrors
from dsl.parser import parse_expression
from dsl.schema import SchemaProtocol

#: The code of an expression that checks but cannot be computed in SQL (the metamodel's own code).
NOT_IN_SQL = "MM.E129"
#: A formula's ``returns`` type -> the value families its expression may have.
_RETURNS = {"string": "string", "text": "string", "integer": "number", "decimal": "number",
            "money": "number", "boolean": "boolean", "date": "date", "datetime": "datetime"}


class _SchemaResolver:
    """Answers the compiler's questions from the schema alone (no tables): a dry run."""

    def __init__(self, schema: SchemaProtocol, entity: str) -> None:
        self.schema = schema
        self.entity = entity
        self.unknown: list[str] = []  # paths that name no field, in the order met

    def column(self, path: tuple[str, ...]) -> Col:
        return sa.null()

    def value_type(self, path: tuple[str, ...]) -> str:
        owner, info = self.entity, None
        for name in path:
            if info is not None:
                if name == "kind" and info.type == "stage":
                    return "stage"
                owner = info.target or ""
            info = self.schema.fields(owner).get(name)
            if info is None:
                self.unknown.append(".".join(path))
                return "any"
        return value_type(info) if info is not None else "any"

    def clock(self, kind: Literal["now", "today"]) -> Col:
        return sa.null()


def check_formula(text: str, schema: SchemaProtocol, entity: str, returns: str | None = None,
                  file: str = "<formula>") -> list[CraftError]:
    """Every problem of formula ``text`` on ``entity`` (empty when it can be computed in SQL)."""
    try:
        expr = parse_expression(text, file)
    except CraftErrors as exc:
        return list(exc.errors)
    errors: list[CraftError] = []
    found = expr_type(Scope(schema, errors, entity), expr)
    if errors:
        return errors
    wanted = _RETURNS.get(returns or "")
    if wanted and found not in (wanted, "any", "null"):
        return [CraftError("E_TYPE_MISMATCH", f"the formula returns {returns}, but its expression gives "
                           f"{found}", expr_span(expr))]
    for dialect in ("sqlite", "postgresql"):
        try:
            Compiler(_SchemaResolver(schema, entity), dialect).value(expr)
        except SqlUnsupported as exc:
            return [CraftError(NOT_IN_SQL, str(exc), exc.span)]
    return []


def expr_span(expr: Any) -> a.Span:
    span = getattr(expr, "span", a.NO_SPAN)
    return span if isinstance(span, a.Span) else a.NO_SPAN


def check_condition_sql(text: str, schema: SchemaProtocol, entity: str,
                        file: str = "<condition>") -> list[CraftError]:
    """Every problem of a rollup condition on the rows of ``entity`` (empty when SQL can run it).

    Why not the full checker: conditions may say ``stage.kind == won``, which only the SQL side
    knows; names are checked by the dry run instead (bare names beside a stage are stage codes).
    """
    try:
        expr = parse_expression(text, file)
    except CraftErrors as exc:
        return list(exc.errors)
    resolver = _SchemaResolver(schema, entity)
    try:
        value = Compiler(resolver, "postgresql").value(expr)
        Compiler(_SchemaResolver(schema, entity), "sqlite").value(expr)
    except SqlUnsupported as exc:
        return [CraftError(NOT_IN_SQL, str(exc), exc.span)]
    errors = [CraftError("E_UNKNOWN_FIELD", f'{entity} has no field "{path}"', expr_span(expr))
              for path in dict.fromkeys(resolver.unknown)]
    if not errors and value.type not in ("boolean", "any"):
        errors.append(CraftError("E_TYPE_MISMATCH", f"a condition must be boolean, not {value.type}",
                                 expr_span(expr)))
    return errors
