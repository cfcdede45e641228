"""The core of :mod:`dsl.compile_sql`: the resolver protocol, literals, paths and operators.

Kept apart from the public module so functions and templates (:mod:`dsl._sql_funcs`) can extend the
compiler without an import cycle.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, Protocol

import sqlalchemy as sa

from dsl import _sql_ops as ops
from dsl import ast as a
from dsl._sql_arith import Sql, SqlUnsupported, arithmetic
from dsl._sql_ops import Col

_COMPARE = {"==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}


class SqlResolver(Protocol):
    """What the compiler asks about the record an expression is evaluated on."""

    def column(self, path: tuple[str, ...]) -> Col:
        """The stored value of ``path`` (a field, or a path through references) as SQL."""
        ...

    def value_type(self, path: tuple[str, ...]) -> str:
        """The family of ``path``'s values: number, string, boolean, date, datetime, list, stage, any."""
        ...

    def clock(self, kind: Literal["now", "today"]) -> Col:
        """The workspace clock as a bound value: an aware datetime for ``now``, a date for ``today``."""
        ...


class BaseCompiler:
    """Literals, paths, operators; :class:`dsl._sql_funcs.Compiler` adds functions and templates."""

    def __init__(self, resolver: SqlResolver, dialect: str) -> None:
        self.resolver = resolver
        self.dialect = dialect

    def value(self, node: a.Expr) -> Sql:
        if isinstance(node, a.Binary):
            return self.binary(node)
        if isinstance(node, a.Unary):
            return self.unary(node)
        if isinstance(node, a.IsEmpty):
            return self.is_empty(node)
        if isinstance(node, a.Path):
            return self.path(node)
        if isinstance(node, a.Clock):
            return self.clock(node.kind)
        return self.other(node)

    def other(self, node: a.Expr) -> Sql:
        """Literals here; calls and templates in the subclass."""
        return literal(node, self.dialect)

    def clock(self, kind: Literal["now", "today"]) -> Sql:
        family = "datetime" if kind == "now" else "date"
        return Sql(ops.load(self.resolver.clock(kind), family, self.dialect), family)

    def path(self, node: a.Path) -> Sql:
        if node.scope != "record":
            raise SqlUnsupported(f'"{node.dotted}" has no value in a query', node.span)
        names = tuple(s.name for s in node.segments)
        family = self.resolver.value_type(names)
        return Sql(ops.load(self.resolver.column(names), family, self.dialect), family)

    def unary(self, node: a.Unary) -> Sql:
        operand = self.value(node.operand)
        if node.op == "not":
            return Sql(ops.falsy(operand.sql), "boolean")
        return Sql(sa.type_coerce(-operand.sql, operand.sql.type), operand.type)

    def binary(self, node: a.Binary) -> Sql:
        if node.op in ("and", "or"):
            left, right = self.value(node.left).sql, self.value(node.right).sql
            joined = sa.and_(left, right) if node.op == "and" else sa.or_(left, right)
            return Sql(ops.truth(joined), "boolean")
        if node.op in ("in", "not in"):
            found = self.membership(node)
            return Sql(ops.truth(found) if node.op == "in" else ops.falsy(found), "boolean")
        if node.op == "contains":
            return Sql(ops.truth(self.contains(node)), "boolean")
        if node.op in _COMPARE:
            return Sql(self.compare(node), "boolean")
        return arithmetic(node, self.value(node.left), self.value(node.right), self.dialect)

    def operand(self, node: a.Expr, beside: Sql) -> Sql:
        """Beside a stage, a bare name is a stage code (``stage == won``), not a field."""
        if (beside.type == "stage" and isinstance(node, a.Path) and node.scope == "record"
                and len(node.segments) == 1):
            return Sql(sa.literal(node.segments[0].name, sa.Text()), "string")
        return self.value(node)

    def compare(self, node: a.Binary) -> Col:
        if node.op in ("==", "!=") and (isinstance(node.right, a.Null) or isinstance(node.left, a.Null)):
            other = self.value(node.left if isinstance(node.right, a.Null) else node.right).sql
            return ops.truth(other.is_(None) if node.op == "==" else other.is_not(None))
        left = self.value(node.left)
        right = self.operand(node.right, left)
        if "null" in (left.type, right.type):
            return ops.truth(sa.false())
        lsql, rsql = self.comparable(left), self.comparable(right)
        if {left.type, right.type} == {"date", "datetime"}:
            lsql = ops.date_to_datetime(lsql, self.dialect) if left.type == "date" else lsql
            rsql = ops.date_to_datetime(rsql, self.dialect) if right.type == "date" else rsql
        return ops.truth(getattr(lsql, _COMPARE[node.op])(rsql))

    def comparable(self, value: Sql) -> Col:
        if value.type in ("list",):
            raise SqlUnsupported("lists cannot be compared in a query; use contains or in", a.NO_SPAN)
        return ops.ordered(value.sql, value.type, self.dialect)

    def membership(self, node: a.Binary) -> Col:
        item = self.value(node.left)
        if isinstance(node.right, a.ListLit):
            if not node.right.items:
                return sa.false()
            options = [self.operand(option, item) for option in node.right.items]
            return item.sql.in_([o.sql for o in options])
        return ops.list_has(self.value(node.right).sql, item.sql, self.dialect)

    def contains(self, node: a.Binary) -> Col:
        needle = self.value(node.right)
        if isinstance(node.left, a.ListLit):
            items = [self.value(option).sql for option in node.left.items]
            return needle.sql.in_(items) if items else sa.false()
        haystack = self.value(node.left)
        if haystack.type == "list":
            return ops.list_has(haystack.sql, needle.sql, self.dialect)
        return ops.substring_of(haystack.sql, needle.sql, self.dialect)

    def is_empty(self, node: a.IsEmpty) -> Sql:
        if isinstance(node.operand, a.ListLit):
            empty: Col = sa.true() if not node.operand.items else sa.false()
        else:
            value = self.value(node.operand)
            empty = value.sql.is_(None)
            if value.type == "string":
                empty = sa.or_(empty, value.sql == "")
            elif value.type == "list":
                empty = sa.or_(empty, ops.list_length(value.sql, self.dialect) == 0)
        return Sql(ops.falsy(empty) if node.negated else ops.truth(empty), "boolean")


def literal(node: a.Expr, dialect: str) -> Sql:
    """A literal value as a bound parameter of its family."""
    if isinstance(node, a.Number | a.Duration):
        amount = node.value if isinstance(node, a.Number) else node.amount
        number = Decimal(str(amount)) * (1 if isinstance(node, a.Number) else a.UNIT_SECONDS[node.unit])
        bound: Any = (int(number) if number == number.to_integral_value() else float(number)) \
            if dialect == "sqlite" else number
        return Sql(sa.literal(bound, sa.Numeric()), "number" if isinstance(node, a.Number) else "duration")
    if isinstance(node, a.StringLit):
        return Sql(sa.literal(node.value, sa.Text()), "string")
    if isinstance(node, a.Bool):
        return Sql(sa.type_coerce(sa.true() if node.value else sa.false(), sa.Boolean()), "boolean")
    if isinstance(node, a.Null):
        return Sql(sa.null(), "null")
    if isinstance(node, a.ListLit):
        raise SqlUnsupported("a list literal only stands after in or before contains in a query", node.span)
    raise SqlUnsupported(f"{type(node).__name__} has no SQL form", getattr(node, "span", a.NO_SPAN))
