"""The built-in functions of the expression language as closures (private to :mod:`dsl.evaluate`).

Each builder gets the ``Call`` node and its compiled arguments and returns one closure, so which
function is meant is decided once, when the expression is compiled.  Every closure charges one
budget step, like the others in :mod:`dsl.evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dsl import ast as a
from dsl._check_expr import FUNCTIONS
from dsl._py_ops import Fn, comparable, type_error
from dsl.errors import CraftError, CraftErrors, CraftRuntimeError
from dsl.values import WHITESPACE, parse_date, round_half_up, utc_date

if TYPE_CHECKING:
    from dsl.evaluate import EvalContext

Builder = Callable[[a.Call, list[Fn]], Fn]


_STRICT: dict[str, tuple[tuple[type, ...], Callable[[Any], Any]]] = {
    "lower": ((str,), str.lower),
    "upper": ((str,), str.upper),
    "trim": ((str,), lambda text: text.strip(WHITESPACE)),
    "len": ((str, list), lambda value: Decimal(len(value))),
    "abs": ((Decimal,), abs),
    "date_of": ((date, datetime), utc_date),
    "date": ((str,), parse_date),
}


def _strict(node: a.Call, args: list[Fn]) -> Fn:
    """A one-argument function that maps null to null and refuses values of other types."""
    kinds, apply = _STRICT[node.name.name]
    (arg,), span, name, usual = args, node.span, node.name.name, _STRICT[node.name.name][0][0]
    if name in ("upper", "lower"):
        return _case(arg, apply, name, span)

    def run(ctx: EvalContext) -> Any:
        ctx.budget.steps += 1
        value = arg(ctx)
        if type(value) is usual:
            return apply(value)
        if value is None:
            return None
        if type(value) not in kinds:
            raise type_error(span, f"{name}() cannot use a {type(value).__name__} value")
        return apply(value)
    return run


def _case(arg: Fn, apply: Callable[[str], str], name: str, span: a.Span) -> Fn:
    """upper/lower: like the others, but the text may grow (``"ß"`` -> ``"SS"``), so it is measured."""
    def run(ctx: EvalContext) -> Any:
        budget = ctx.budget
        budget.steps += 1
        value = arg(ctx)
        if type(value) is str:
            result = apply(value)
            if len(result) > budget.max_output:
                budget.output(result, span)
            return result
        if value is None:
            return None
        raise type_error(span, f"{name}() cannot use a {type(value).__name__} value")
    return run


def _round(node: a.Call, args: list[Fn]) -> Fn:
    span = node.span
    digits_of = args[1] if len(args) > 1 else None

    def run(ctx: EvalContext) -> Any:
        ctx.budget.steps += 1
        value = args[0](ctx)
        digits = Decimal(0) if digits_of is None else digits_of(ctx)
        if value is None or digits is None:
            return None
        if type(value) is not Decimal or type(digits) is not Decimal or digits != digits.to_integral_value():
            raise type_error(span, "round() needs a number and a whole number of digits")
        try:
            if abs(digits) > 18:
                raise ArithmeticError
            return round_half_up(value, int(digits))
        except ArithmeticError as exc:
            raise CraftRuntimeError("E_RUNTIME_RANGE", "round() left the range of numbers", span) from exc
    return run


def _extreme(node: a.Call, args: list[Fn]) -> Fn:
    """min/max: nulls are ignored; null only when every argument is null."""
    span, want_min = node.span, node.name.name == "min"

    def run(ctx: EvalContext) -> Any:
        ctx.budget.steps += 1
        best: Any = None
        for arg in args:
            value = arg(ctx)
            if value is None:
                continue
            if best is None:
                best = value
                continue
            pair = comparable(value, best)
            if pair is None:
                raise type_error(span, f"{node.name.name}() cannot compare its arguments")
            if (pair[0] < pair[1]) if want_min else (pair[0] > pair[1]):
                best = value
        return best
    return run


def _coalesce(node: a.Call, args: list[Fn]) -> Fn:
    """The first non-null argument; the later ones are not evaluated."""

    def run(ctx: EvalContext) -> Any:
        ctx.budget.steps += 1
        for arg in args:
            value = arg(ctx)
            if value is not None:
                return value
        return None
    return run


def _days_between(node: a.Call, args: list[Fn]) -> Fn:
    """Whole days from the first to the second (datetimes count by their UTC date)."""
    span = node.span
    first, second = args

    def run(ctx: EvalContext) -> Any:
        ctx.budget.steps += 1
        start, end = first(ctx), second(ctx)
        if start is None or end is None:
            return None
        if type(start) not in (date, datetime) or type(end) not in (date, datetime):
            raise type_error(span, "days_between() needs two dates")
        return Decimal((utc_date(end) - utc_date(start)).days)
    return run


def _changed(node: a.Call, args: list[Fn]) -> Fn:
    """``changed(x)``: whether the update that started the run changed field ``x`` of the subject."""
    target = node.args[0]
    if not isinstance(target, a.Path):
        raise CraftErrors([CraftError("E_TYPE_MISMATCH", "changed() takes a field", node.span)])
    name = target.segments[0].name

    def run(ctx: EvalContext) -> Any:
        ctx.budget.steps += 1
        return name in ctx.changed
    return run


BUILDERS: dict[str, Builder] = {
    **dict.fromkeys(_STRICT, _strict), "round": _round, "min": _extreme, "max": _extreme,
    "coalesce": _coalesce, "days_between": _days_between, "changed": _changed,
}
#: The checker's table, so the two can never disagree on how many arguments a function takes.
ARITY: dict[str, tuple[int, int | None]] = {name: (lo, hi) for name, (lo, hi, _) in FUNCTIONS.items()}


def build_call(node: a.Call, args: list[Fn]) -> Fn:
    """The closure for a call; an unknown function or a wrong number of arguments is a static error."""
    name = node.name.name
    if name not in BUILDERS:
        raise CraftErrors([CraftError("E_UNKNOWN_FUNCTION", f'there is no function "{name}"', node.span)])
    fewest, most = ARITY[name]
    if len(args) < fewest or (most is not None and len(args) > most):
        message = f"{name}() gets {len(args)} argument(s)"
        raise CraftErrors([CraftError("E_TYPE_MISMATCH", message, node.span)])
    return BUILDERS[name](node, args)
