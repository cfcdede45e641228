"""Syntax tree, part one: spans, names, paths and expressions (re-exported by :mod:`dsl.ast`).

Spans are fields with ``compare=False``: see :mod:`dsl.ast` for why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node stands in its file; lines and columns count from 1, ``end_col`` is just past the end."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int


#: The span of a node built by code rather than parsed (tests, rewrites): equality ignores spans anyway.
NO_SPAN = Span("<built>", 0, 0, 0, 0)

# ------------------------------------------------------------------------------------------- names
@dataclass(frozen=True, slots=True)
class Ident:
    """A name written in the source (entity, field, stage, binding…), kept with its place for errors."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Scope: TypeAlias = Literal["record", "old", "form", "payload"]


@dataclass(frozen=True, slots=True)
class Path:
    """``a.b.c``: a field of the subject (or of a binding), following references.

    ``scope`` says what the first word was: ``old.x`` (value before the change), ``form.x``,
    ``payload.x``; those words are not part of ``segments``.
    """

    scope: Scope
    segments: tuple[Ident, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def dotted(self) -> str:
        """The path as written, scope included."""
        names = [s.name for s in self.segments]
        return ".".join(names if self.scope == "record" else [self.scope, *names])


# ------------------------------------------------------------------------------------- expressions
@dataclass(frozen=True, slots=True)
class Number:
    value: int | float
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


DurationUnit: TypeAlias = Literal["seconds", "minutes", "hours", "days", "weeks"]
UNIT_SECONDS: dict[str, int] = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}


@dataclass(frozen=True, slots=True)
class Duration:
    """``3 days``; the unit is stored in its plural form whatever was written (``1 hour`` == ``1 hours``)."""

    amount: int | float
    unit: DurationUnit
    span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @property
    def seconds(self) -> float:
        return float(self.amount) * UNIT_SECONDS[self.unit]


@dataclass(frozen=True, slots=True)
class StringLit:
    """A string without placeholders (braces written as ``{{``/``}}`` are already plain braces here)."""

    value: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Template:
    """A string with ``{path}`` placeholders: literal text and paths, in order.

    Only the source text is split into parts; a record value inserted at run time is never read
    as a template again, so braces inside data stay data.
    """

    parts: tuple[str | Path | Clock, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Text: TypeAlias = StringLit | Template


@dataclass(frozen=True, slots=True)
class Bool:
    value: bool
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Null:
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Clock:
    """``now`` (a datetime) or ``today`` (a date), read from the workspace clock."""

    kind: Literal["now", "today"]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Unary:
    op: Literal["-", "not"]
    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


BinaryOp: TypeAlias = Literal[
    "or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "+", "-", "*", "/", "%"]


@dataclass(frozen=True, slots=True)
class Binary:
    op: BinaryOp
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class IsEmpty:
    """``x is empty`` / ``x is not empty`` (``negated``)."""

    operand: Expr
    negated: bool
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Call:
    """``name(args)``: a built-in function; ``changed(x)`` is one too."""

    name: Ident
    args: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Expr: TypeAlias = (Number | Duration | StringLit | Template | Bool | Null | Clock | Path | Unary | Binary
                   | IsEmpty | Call | ListLit)
