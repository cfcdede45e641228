"""Expressions compiled to Python closures: what the workflow engine runs for conditions and values.

Why closures: an expression is compiled once (each node becomes a small function holding its
children's functions, literals folded into constants) and then evaluated for many records without
looking at the syntax tree again.  The semantics are the shared table of the language reference;
``dsl.compile_sql`` gives the same answers in SQL, and both use :mod:`dsl.values`.

Why it is safe: values are only read with ``Mapping.get`` along the path's names (never
``getattr``), host values are normalised to language values (:func:`dsl.values.normalise` turns
anything else into null), there is no ``eval`` and no template engine, record values pasted into a
template are never parsed again, and every operator, function and template charges a step of the
run's :class:`~dsl.budget.Budget` (literals and path reads are leaves their parent's step covers).
Every problem while evaluating is a :class:`~dsl.errors.CraftRuntimeError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from dsl import ast as a
from dsl._py_functions import build_call
from dsl._py_ops import (
    ORDER,
    Const,
    Field,
    Fn,
    arithmetic,
    contains,
    empty,
    equality,
    logic,
    membership,
    order,
    type_error,
)
from dsl.budget import Budget
from dsl.errors import CraftError, CraftErrors, CraftRuntimeError
from dsl.parser import parse_expression
from dsl.values import Value, normalise, number, parse_date, render_value, seconds_duration

_EMPTY: Mapping[str, Any] = {}


class EvalContext:
    """What an expression may read: the subject record, the change, the clock, the form, the payload.

    References are already loaded as nested mappings (``record["contact"]["company"]["name"]``);
    ``bindings`` holds the records bound with ``as NAME``.  ``now``/``today`` are the workspace clock
    (never the wall clock).  ``budget`` is shared by every evaluation of one run.
    """

    __slots__ = ("bindings", "budget", "changed", "form", "now", "old", "payload", "record", "today")

    def __init__(self, *, now: datetime, today: date | None = None, record: Mapping[str, Any] = _EMPTY,
                 old: Mapping[str, Any] | None = None, changed: frozenset[str] = frozenset(),
                 form: Mapping[str, Any] | None = None, payload: Any = None,
                 bindings: Mapping[str, Mapping[str, Any]] = _EMPTY, budget: Budget | None = None) -> None:
        self.now = now
        self.today = now.astimezone(UTC).date() if today is None else today
        self.record = record
        self.old = old
        self.changed = changed
        self.form = form
        self.payload = payload
        self.bindings = bindings
        self.budget = Budget() if budget is None else budget


class CompiledExpr(Protocol):
    """A compiled expression: call it with an :class:`EvalContext` to get its value.

    What :func:`compile_expression` returns is the guarded root closure itself (not an object that
    calls it), so an evaluation costs no frame beyond the expression's own.
    """

    def __call__(self, ctx: EvalContext, /) -> Value: ...


def compile_expression(expr: a.Expr) -> CompiledExpr:
    """Compile a (checked) expression once; unknown functions raise :class:`~dsl.errors.CraftErrors`.

    A condition (``a and b``, ``a or b``) gets its guard in the same closure as the chain, since
    conditions are what runs over many records; any other root gets :func:`_guard` around it.
    """
    if isinstance(expr, a.Binary) and expr.op in ("and", "or"):
        return _condition(expr.op == "and", [_compile(part) for part in _chain(expr)], expr.span)
    return _guard(_compile(expr), expr.span)


def _host_failure(exc: Exception, span: a.Span) -> CraftRuntimeError:
    """The last net: whatever the host raised becomes a coded error (and nothing of the host escapes)."""
    return CraftRuntimeError("E_RUNTIME_TYPE", f"evaluation failed ({type(exc).__name__})", span)


def _guard(run: Fn, span: a.Span) -> Fn:
    """Evaluate, then settle the steps the closures counted (reading the clock when it is due)."""
    def evaluate(ctx: EvalContext) -> Value:
        try:
            value = run(ctx)
        except CraftRuntimeError:
            raise
        except Exception as exc:
            raise _host_failure(exc, span) from exc
        budget = ctx.budget
        if budget.steps > budget.check_at:
            budget.check(span)
        return value
    return evaluate


def _condition(conjunction: bool, operands: list[Fn], span: a.Span) -> Fn:
    """A whole ``and``/``or`` chain with :func:`_guard`'s work done in the same frame."""
    def evaluate(ctx: EvalContext) -> bool:
        budget = ctx.budget
        budget.steps += 1
        result = conjunction
        try:
            for operand in operands:
                value = operand(ctx)
                if value is True:
                    if not conjunction:
                        result = True
                        break
                elif value is None or value is False:
                    if conjunction:
                        result = False
                        break
                else:
                    raise type_error(span, f"a condition needs a yes or no, not a {type(value).__name__}")
        except CraftRuntimeError:
            raise
        except Exception as exc:
            raise _host_failure(exc, span) from exc
        if budget.steps > budget.check_at:
            budget.check(span)
        return result
    return evaluate


def compile_source(source: str, file: str = "<expression>") -> CompiledExpr:
    """Parse and compile expression text (what a plan's ``ExprRef.source`` holds)."""
    return compile_expression(parse_expression(source, file))


def compile_template(text: a.Text) -> Callable[[EvalContext], str]:
    """Compile a string with ``{path}`` placeholders; it renders like :func:`dsl.strings.render`."""
    return _guard(_compile(text), text.span)


def _duration(node: a.Expr, seconds: Decimal) -> Any:
    """A duration literal; one beyond what a clock can hold is a static error, not an OverflowError."""
    try:
        return seconds_duration(seconds)
    except (OverflowError, ValueError):
        raise CraftErrors([CraftError("E_BAD_DURATION", "this duration is too long", node.span)]) from None


def _compile(node: a.Expr) -> Fn:
    """One closure per node; the isinstance dispatch happens here, once, never while evaluating."""
    match node:
        case a.Number(value):
            return Const(number(value))
        case a.Duration(amount, unit):
            return Const(_duration(node, Decimal(repr(amount)) * a.UNIT_SECONDS[unit]))
        case a.StringLit(value):
            return Const(value)
        case a.Bool(value):
            return Const(value)
        case a.Null():
            return Const(None)
        case a.Clock(kind):
            return _clock(kind == "now")
        case a.Path():
            return _path(node)
        case a.Template(parts):
            return _template(parts, node.span)
        case a.ListLit(items):
            return _list([_compile(item) for item in items], node.span)
        case a.Unary(op, operand):
            return (_not if op == "not" else _negate)(_compile(operand), node.span)
        case a.IsEmpty(operand, negated):
            return _is_empty(_compile(operand), negated, node.span)
        case a.Call():
            return _call(node)
        case a.Binary():
            return _binary(node)
    raise TypeError(f"not an expression: {node!r}")


def _clock(now: bool) -> Fn:
    if now:
        return lambda ctx: ctx.now
    return lambda ctx: ctx.today


def _follow(value: Any, names: tuple[str, ...]) -> Value:
    """Read ``names`` one after the other, through mappings only; anything else on the way is null."""
    for name in names:
        if type(value) is not dict and not isinstance(value, Mapping):
            return None
        value = value.get(name)
    kind = type(value)
    return value if kind is str or kind is Decimal or value is None else normalise(value)


def _path(node: a.Path) -> Fn:
    """Read a path: a binding or a field of the subject, ``old.``, ``form.``, ``payload.``.

    Reading is a leaf, like a literal: it charges no step of its own (its parent's step covers it).
    """
    names = tuple(segment.name for segment in node.segments)
    first, rest = names[0], names[1:]
    if node.scope == "payload":
        return lambda ctx: _follow(ctx.payload, names)
    if node.scope == "old":
        return lambda ctx: _follow(ctx.old, names)
    if node.scope == "form":
        return lambda ctx: _follow(ctx.form, names)
    if not rest:
        return Field(first)

    second, more = rest[0], rest[1:]

    def run(ctx: EvalContext) -> Value:
        bound = ctx.bindings
        value = bound[first] if bound and first in bound else ctx.record.get(first)
        if type(value) is not dict and not isinstance(value, Mapping):
            return None
        value = value.get(second)
        if more:
            return _follow(value, more)
        kind = type(value)
        return value if kind is str or kind is Decimal or value is None else normalise(value)
    return run


def _charged(read: Fn, span: a.Span) -> Fn:
    def run(ctx: EvalContext) -> Value:
        ctx.budget.steps += 1
        return read(ctx)
    return run


def _template(parts: tuple[str | a.Path | a.Clock, ...], span: a.Span) -> Fn:
    """Render placeholders as plain text (:func:`dsl.values.render_value`); never parsed again."""
    compiled = [Const(part) if isinstance(part, str) else _compile(part) for part in parts]

    def run(ctx: EvalContext) -> str:
        ctx.budget.steps += 1
        text = "".join([render_value(part(ctx)) for part in compiled])
        return ctx.budget.output(text, span)
    return run


def _list(items: list[Fn], span: a.Span) -> Fn:
    if all(isinstance(item, Const) for item in items):
        values = [item.value for item in items if isinstance(item, Const)]
        return lambda ctx: list(values)
    return _charged(lambda ctx: [item(ctx) for item in items], span)


def _not(operand: Fn, span: a.Span) -> Fn:
    def run(ctx: EvalContext) -> bool:
        ctx.budget.steps += 1
        value = operand(ctx)
        if value is None or value is False:
            return True
        if value is True:
            return False
        raise type_error(span, '"not" needs a yes or no')
    return run


def _negate(operand: Fn, span: a.Span) -> Fn:
    def run(ctx: EvalContext) -> Value:
        ctx.budget.steps += 1
        value = operand(ctx)
        if value is None:
            return None
        if type(value) not in (Decimal, timedelta):
            raise type_error(span, "only a number or a duration can be negated")
        return -value
    return run


def _is_empty(operand: Fn, negated: bool, span: a.Span) -> Fn:
    def run(ctx: EvalContext) -> bool:
        ctx.budget.steps += 1
        return empty(operand(ctx)) is not negated
    return run


def _call(node: a.Call) -> Fn:
    args = [_compile(arg) for arg in node.args]
    if node.name.name == "date" and len(args) == 1 and isinstance(args[0], Const):
        literal = args[0].value  # a text or null literal is read once; any other value errs as it runs
        if isinstance(literal, str) or literal is None:
            return Const(parse_date(literal) if isinstance(literal, str) else None)
    return build_call(node, args)


def _binary(node: a.Binary) -> Fn:
    """Dispatch on the operator once; bare names beside ``stage`` are stage codes (as in the checker)."""
    op, span = node.op, node.span
    right_node = _stage_codes(node.right) if _is_stage(node) else node.right
    if op in ("and", "or"):
        return logic(op == "and", [_compile(part) for part in _chain(node)], span)
    left, right = _compile(node.left), _compile(right_node)
    if op in ("==", "!="):
        return equality(op == "==", node, left, right)
    if op in ORDER:
        return order(ORDER[op], left, right, span)
    if op in ("in", "not in"):
        return membership(op == "in", left, right, span)
    if op == "contains":
        return contains(left, right, span)
    return arithmetic(op, left, right, span)


def _chain(node: a.Expr, op: str | None = None) -> list[a.Expr]:
    """The operands of ``a and b and c`` (parsed as ``(a and b) and c``), left to right."""
    op = op or (node.op if isinstance(node, a.Binary) else None)
    if isinstance(node, a.Binary) and node.op == op:
        return [*_chain(node.left, op), *_chain(node.right, op)]
    return [node]


def _is_stage(node: a.Binary) -> bool:
    return (node.op in ("==", "!=", "in", "not in") and isinstance(node.left, a.Path)
            and node.left.scope in ("record", "old") and node.left.segments[-1].name == "stage")


def _stage_codes(node: a.Expr) -> a.Expr:
    """``won`` in ``stage == won`` / ``stage in [won, lost]`` is the text "won", not a field."""
    if isinstance(node, a.ListLit):
        return a.ListLit(tuple(_stage_codes(item) for item in node.items), node.span)
    if isinstance(node, a.Path) and node.scope == "record" and len(node.segments) == 1:
        return a.StringLit(node.segments[0].name, node.span)
    return node
