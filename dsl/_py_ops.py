"""The operators of the expression language: operations on values and the closures built from them.

Private to :mod:`dsl.evaluate`.  Why tables keyed by the exact types of both operands: Python's own
operators accept more than the language does (``True + 1``, ``[1] + [2]``, ``"ab" * 3``) and raise
``TypeError`` for the rest; a table lookup allows exactly the combinations of the semantics table,
answers in one dictionary probe, and a miss is reported as ``E_RUNTIME_TYPE``.  Null never reaches
the table functions: the closures handle it first.

Why :class:`Const` and :class:`Field` are classes: a parent sees at compile time that an operand is
a literal or a plain field and captures the value or reads the field inline, which saves a call
per evaluation on the hottest shapes (``amount > 100``, ``stage == "won"``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dsl import ast as a
from dsl.errors import CraftRuntimeError
from dsl.values import (
    Value,
    as_datetime,
    divide,
    duration_seconds,
    modulo,
    normalise,
    seconds_duration,
    whole_days,
)

if TYPE_CHECKING:
    from dsl.evaluate import EvalContext

Fn = Callable[["EvalContext"], Any]

Op = Callable[[Any, Any], Any]
Compare = Callable[[Any, Any], bool]


def _date_plus(day: date, span: timedelta) -> date:
    """date + duration: a date for whole days, else the datetime from midnight UTC."""
    return day + span if whole_days(span) else as_datetime(day) + span


def _date_minus(day: date, span: timedelta) -> date:
    return day - span if whole_days(span) else as_datetime(day) - span


def _scale(span: timedelta, factor: Decimal) -> timedelta:
    return seconds_duration(duration_seconds(span) * factor)


def _split(span: timedelta, divisor: Decimal) -> timedelta | None:
    seconds = divide(duration_seconds(span), divisor)
    return None if seconds is None else seconds_duration(seconds)


_D, _S, _T = Decimal, str, timedelta
ARITHMETIC: dict[str, dict[tuple[type, type], Op]] = {
    "+": {(_D, _D): operator.add, (_S, _S): operator.add, (date, _T): _date_plus,
          (datetime, _T): operator.add, (_T, _T): operator.add},
    "-": {(_D, _D): operator.sub, (date, _T): _date_minus, (datetime, _T): operator.sub,
          (date, date): operator.sub, (datetime, datetime): operator.sub,
          (datetime, date): lambda x, y: x - as_datetime(y),
          (date, datetime): lambda x, y: as_datetime(x) - y,
          (_T, _T): operator.sub},
    "*": {(_D, _D): operator.mul, (_T, _D): _scale, (_D, _T): lambda x, y: _scale(y, x)},
    "/": {(_D, _D): divide, (_T, _D): _split},
    "%": {(_D, _D): modulo},
}

ORDERED = frozenset({Decimal, str, date, datetime, timedelta})
ORDER: dict[str, Compare] = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def equal(left: Any, right: Any) -> bool:
    """``==`` on two non-null values: same type and equal; a date meets a datetime at midnight UTC.

    Values of different types are never equal (``true`` is not ``1``), unlike in Python.
    """
    kind = type(left)
    if kind is list and type(right) is list:  # item by item: Python's [1] == [True] is not ours
        return len(left) == len(right) and all(
            x is not None and y is not None and equal(x, y) for x, y in zip(left, right, strict=True))
    if kind is type(right):
        return bool(left == right)
    if kind in (date, datetime) and type(right) in (date, datetime):
        return as_datetime(left) == as_datetime(right)
    return False


def comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """The pair to order with ``<``…, or None when the two values cannot be ordered."""
    kind = type(left)
    if kind is type(right):
        return (left, right) if kind in ORDERED else None
    if kind in (date, datetime) and type(right) in (date, datetime):
        return as_datetime(left), as_datetime(right)
    return None


def member(value: Any, items: Sequence[Any]) -> bool:
    """``value in items`` with the language's equality (nulls in ``items`` never match)."""
    kind = type(value)
    for item in items:
        if type(item) is kind:
            if item == value:
                return True
        elif item is not None and equal(value, item):
            return True
    return False


def empty(value: Any) -> bool:
    """``is empty``: null, the empty string and the empty list."""
    return value is None or (type(value) in (str, list) and not value)


def type_error(span: a.Span, message: str) -> CraftRuntimeError:
    """The error for a value of a type the operation cannot use (payloads and JSON are untyped)."""
    return CraftRuntimeError("E_RUNTIME_TYPE", message, span)


# ------------------------------------------------------------------------------ operator closures
# Each closure charges one budget step inline (``ctx.budget.steps += 1``); the evaluation checks the
# budget when it ends (see dsl.budget and CompiledExpr).
def logic(conjunction: bool, operands: list[Fn], span: a.Span) -> Fn:
    """A chain ``a and b and c`` (or ``or``) as one closure: evaluation stops at the first decider."""
    if conjunction:
        def every(ctx: EvalContext) -> bool:
            ctx.budget.steps += 1
            for operand in operands:
                value = operand(ctx)
                if value is not True:
                    if value is None or value is False:
                        return False
                    raise _not_a_condition(value, span)
            return True
        return every

    def some(ctx: EvalContext) -> bool:
        ctx.budget.steps += 1
        for operand in operands:
            value = operand(ctx)
            if value is not False:
                if value is True:
                    return True
                if value is not None:
                    raise _not_a_condition(value, span)
        return False
    return some


def _not_a_condition(value: Value, span: a.Span) -> CraftRuntimeError:
    return type_error(span, f'"and"/"or"/conditions need a yes or no, not a {type(value).__name__}')


def equality(positive: bool, node: a.Binary, left: Fn, right: Fn) -> Fn:
    """``==``/``!=``; against the literal ``null`` they test for null, otherwise null makes them false."""
    span = node.span
    if isinstance(node.right, a.Null) or isinstance(node.left, a.Null):
        other = left if isinstance(node.right, a.Null) else right

        def is_null(ctx: EvalContext) -> bool:
            ctx.budget.steps += 1
            return (other(ctx) is None) is positive
        return is_null
    if isinstance(right, Const):
        return _equal_constant(positive, left, right.value, span)

    def run(ctx: EvalContext) -> bool:
        ctx.budget.steps += 1
        x = left(ctx)
        if x is None:
            return False
        y = right(ctx)
        if y is None:
            return False
        same = x == y if type(x) is type(y) and type(x) is not list else equal(x, y)
        return same if positive else not same
    return run


def _equal_constant(positive: bool, left: Fn, y: Value, span: a.Span) -> Fn:
    """``x == "won"``: the constant is captured, not called for; a plain field is read inline."""
    kind, field = type(y), left.name if isinstance(left, Field) else None

    def run(ctx: EvalContext) -> bool:
        ctx.budget.steps += 1
        if field is None:
            x = left(ctx)
        else:
            bound = ctx.bindings
            x = bound[field] if bound and field in bound else ctx.record.get(field)
            if type(x) is not kind and x is not None:
                x = normalise(x)
        if x is None:
            return False
        same = x == y if type(x) is kind and kind is not list else equal(x, y)
        return same if positive else not same
    return run


def order(compare: Compare, left: Fn, right: Fn, span: a.Span) -> Fn:
    """``< <= > >=``: false when either side is null; a date meets a datetime at midnight UTC."""
    if isinstance(right, Const):
        return _order_constant(compare, left, right.value, span)

    def run(ctx: EvalContext) -> bool:
        ctx.budget.steps += 1
        x = left(ctx)
        if x is None:
            return False
        y = right(ctx)
        if y is None:
            return False
        if type(x) is type(y) and type(x) in ORDERED:
            return compare(x, y)
        return _order_mixed(compare, x, y, span)
    return run


def _order_constant(compare: Compare, left: Fn, y: Value, span: a.Span) -> Fn:
    """``x > 100``: the constant is captured, not called for; a plain field is read inline."""
    kind, field = type(y), left.name if isinstance(left, Field) else None
    if y is None or kind not in ORDERED:
        return _order_mixed_constant(compare, left, y, span)

    def run(ctx: EvalContext) -> bool:
        ctx.budget.steps += 1
        if field is None:
            x = left(ctx)
        else:
            bound = ctx.bindings
            x = bound[field] if bound and field in bound else ctx.record.get(field)
            if type(x) is not kind and x is not None:
                x = normalise(x)
        if x is None:
            return False
        if type(x) is kind:
            return compare(x, y)
        return _order_mixed(compare, x, y, span)
    return run


def _order_mixed_constant(compare: Compare, left: Fn, y: Value, span: a.Span) -> Fn:
    def run(ctx: EvalContext) -> bool:
        ctx.budget.steps += 1
        x = left(ctx)
        return x is not None and y is not None and _order_mixed(compare, x, y, span)
    return run


def _order_mixed(compare: Compare, x: Value, y: Value, span: a.Span) -> bool:
    pair = comparable(x, y)
    if pair is None:
        raise type_error(span, f"cannot order a {type(x).__name__} and a {type(y).__name__}")
    return compare(*pair)


def membership(positive: bool, left: Fn, right: Fn, span: a.Span) -> Fn:
    """``x in [..]`` is false when ``x`` or the list is null; ``x not in [..]`` is its negation.

    So ``null not in [1]`` is true, like ``not (null in [1])`` (and like SQL's ``NOT`` of an unknown
    ``IN`` counted as false).
    """
    def run(ctx: EvalContext) -> bool:
        ctx.budget.steps += 1
        value = left(ctx)
        if value is None:
            return not positive
        items = right(ctx)
        if items is None:
            return not positive
        if type(items) is not list:
            raise type_error(span, '"in" needs a list on its right')
        return member(value, items) is positive
    return run


def contains(left: Fn, right: Fn, span: a.Span) -> Fn:
    """Substring for strings, membership for lists (tags); null on either side is false."""
    constant = isinstance(right, Const)
    part_constant = right.value if isinstance(right, Const) else None

    def run(ctx: EvalContext) -> bool:
        ctx.budget.steps += 1
        whole = left(ctx)
        if whole is None:
            return False
        part = part_constant if constant else right(ctx)
        if type(whole) is str and type(part) is str:
            return part in whole
        if part is None:
            return False
        if type(whole) is list:
            return member(part, whole)
        raise type_error(span, '"contains" needs a text or a list on its left and text on its right')
    return run


def arithmetic(op: str, left: Fn, right: Fn, span: a.Span) -> Fn:
    """``+ - * / %``: null in, null out; the operand types pick the operation (see the tables above)."""
    table, field = ARITHMETIC[op], left.name if isinstance(left, Field) else None
    numbers = table[(Decimal, Decimal)]
    constant = isinstance(right, Const)
    y_constant = right.value if isinstance(right, Const) else None

    def run(ctx: EvalContext) -> Value:
        ctx.budget.steps += 1
        if field is None:
            x = left(ctx)
        else:
            bound = ctx.bindings
            x = bound[field] if bound and field in bound else ctx.record.get(field)
            if type(x) is not Decimal and x is not None:
                x = normalise(x)
        if x is None:
            return None
        y = y_constant if constant else right(ctx)
        if y is None:
            return None
        if type(x) is Decimal and type(y) is Decimal:
            try:
                return numbers(x, y)
            except ArithmeticError as exc:
                raise CraftRuntimeError("E_RUNTIME_RANGE", f'"{op}" left the range of numbers', span) from exc
        apply = table.get((type(x), type(y)))
        if apply is None:
            raise type_error(span, f'"{op}" does not work on {type(x).__name__} and {type(y).__name__}')
        try:
            result = apply(x, y)
        except (ArithmeticError, ValueError) as exc:
            raise CraftRuntimeError("E_RUNTIME_RANGE", f'"{op}" left the range of values', span) from exc
        if type(result) is str and len(result) > ctx.budget.max_output:
            ctx.budget.output(result, span)
        return result
    return run


class Const:
    """A folded literal; parents see it at compile time and capture the value instead of calling."""

    __slots__ = ("value",)

    def __init__(self, value: Value) -> None:
        self.value = value

    def __call__(self, ctx: EvalContext) -> Value:
        return self.value


class Field:
    """A field of the subject read by one name (``amount``); hot parents read it inline instead."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, ctx: EvalContext) -> Value:
        bound, name = ctx.bindings, self.name
        value = bound[name] if bound and name in bound else ctx.record.get(name)
        kind = type(value)
        return value if kind is str or kind is Decimal or value is None else normalise(value)
