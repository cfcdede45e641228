"""Functions and templates of :mod:`dsl.compile_sql` (the compiler's second half).

Why min/max are CASE chains: SQLite's scalar ``min()``/``max()`` return NULL as soon as one argument
is NULL, while the language ignores nulls; a CASE chain behaves the same on both databases.
"""

from __future__ import annotations

import sqlalchemy as sa

from dsl import _sql_ops as ops
from dsl import ast as a
from dsl._check_expr import FUNCTIONS
from dsl._sql_arith import Sql, SqlUnsupported
from dsl._sql_core import BaseCompiler
from dsl._sql_ops import Col
from dsl.values import WHITESPACE, parse_date

_SAME_TYPE = {"lower": "string", "upper": "string", "abs": None}


class Compiler(BaseCompiler):
    """The whole expression compiler: :class:`BaseCompiler` plus calls and templates."""

    def other(self, node: a.Expr) -> Sql:
        if isinstance(node, a.Call):
            return self.call(node)
        if isinstance(node, a.Template):
            return self.template(node)
        return super().other(node)

    def template(self, node: a.Template) -> Sql:
        """Concatenation of the parts; a null value renders as the empty string."""
        pieces: list[Col] = []
        for part in node.parts:
            if isinstance(part, str):
                pieces.append(sa.literal(part, sa.Text()))
                continue
            value = self.clock(part.kind) if isinstance(part, a.Clock) else self.path(part)
            pieces.append(sa.func.coalesce(ops.as_text(value.sql, value.type, self.dialect), ""))
        if not pieces:
            return Sql(sa.literal("", sa.Text()), "string")
        result = pieces[0]
        for piece in pieces[1:]:
            result = result.concat(piece)
        return Sql(sa.type_coerce(result, sa.Text()), "string")

    def call(self, node: a.Call) -> Sql:
        name = node.name.name
        fewest, most, _ = FUNCTIONS.get(name, (0, 0, ""))
        if name not in FUNCTIONS or len(node.args) < fewest or (most is not None and len(node.args) > most):
            raise SqlUnsupported(f"{name}() with {len(node.args)} argument(s) has no value", node.span)
        if name == "date":
            return self.date_literal(node)
        args = [self.value(arg) for arg in node.args]
        if name in ("min", "max"):
            return self.extreme(args, name)
        if name == "coalesce":
            args = self.unify_dates(args)
            family = next((arg.type for arg in args if arg.type != "null"), "null")
            return Sql(sa.func.coalesce(*[arg.sql for arg in args], type_=args[0].sql.type), family)
        if name in _SAME_TYPE:
            first = args[0]
            return Sql(getattr(sa.func, name)(first.sql, type_=first.sql.type), first.type)
        if name == "trim":
            return self.trim(args[0])
        if name == "len":
            return self.length(args[0])
        if name == "round":
            digits = args[1].sql if len(args) > 1 else sa.literal(0, sa.Integer())
            return Sql(ops.round_half_up(args[0].sql, digits, self.dialect), "number")
        if name == "days_between":
            return self.days_between(args[0], args[1])
        if name == "date_of":
            return Sql(self.as_date(args[0]), "date")
        raise SqlUnsupported(f"{name}() has no value in a query", node.span)

    def trim(self, arg: Sql) -> Sql:
        """Strip the same white space as Python (plain SQL ``trim`` strips spaces only)."""
        chars = sa.literal(WHITESPACE, sa.Text())
        func = sa.func.btrim if self.dialect == "postgresql" else sa.func.trim
        return Sql(func(arg.sql, chars, type_=arg.sql.type), arg.type)

    def date_literal(self, node: a.Call) -> Sql:
        """``date("YYYY-MM-DD")``: only a literal text; a bad one is null, as in Python."""
        arg = node.args[0] if node.args else None
        if not isinstance(arg, a.StringLit):
            raise SqlUnsupported('date() takes a literal "YYYY-MM-DD" in a query', node.span)
        day = parse_date(arg.value)  # the evaluator's own rule: exactly YYYY-MM-DD, else null
        if day is None:
            return Sql(sa.null(), "date")
        if self.dialect == "sqlite":
            return Sql(sa.func.date(sa.literal(day.isoformat(), sa.Text()), type_=sa.Text()), "date")
        return Sql(sa.literal(day, sa.Date()), "date")

    def length(self, value: Sql) -> Sql:
        if value.type == "list":
            return Sql(ops.list_length(value.sql, self.dialect), "number")
        return Sql(sa.type_coerce(sa.func.length(value.sql), sa.Numeric()), "number")

    def as_date(self, value: Sql) -> Col:
        return ops.datetime_to_date(value.sql, self.dialect) if value.type == "datetime" else value.sql

    def days_between(self, first: Sql, second: Sql) -> Sql:
        later = ops.day_number(self.as_date(second), self.dialect)
        earlier = ops.day_number(self.as_date(first), self.dialect)
        return Sql(sa.type_coerce(later - earlier, sa.Numeric()), "number")

    def unify_dates(self, args: list[Sql]) -> list[Sql]:
        """Dates beside datetimes become their midnight UTC: one SQL expression has one type."""
        if {arg.type for arg in args} >= {"date", "datetime"}:
            return [Sql(ops.date_to_datetime(arg.sql, self.dialect), "datetime") if arg.type == "date"
                    else arg for arg in args]
        return args

    def extreme(self, args: list[Sql], name: str) -> Sql:
        """min/max ignoring nulls: NULL only when every argument is NULL."""
        known = [arg for arg in args if arg.type != "null"]
        if not known:
            return Sql(sa.null(), "null")
        known = self.unify_dates(known)
        family = known[0].type
        result = known[0].sql
        for arg in known[1:]:
            candidate = ops.ordered(arg.sql, family, self.dialect)
            current = ops.ordered(result, family, self.dialect)
            better = candidate < current if name == "min" else candidate > current
            result = sa.case((result.is_(None), arg.sql), (arg.sql.is_(None), result), (better, arg.sql),
                             else_=result)
        return Sql(sa.type_coerce(result, known[0].sql.type), family)
