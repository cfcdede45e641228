"""The evaluator as a sandbox: no host attribute is reachable, record values stay inert text, and any
expression on any values ends in a value or a :class:`CraftRuntimeError` — never a Python error."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsl
from dsl import ast as a
from dsl.errors import CraftRuntimeError
from dsl.evaluate import CompiledExpr, EvalContext, compile_expression, compile_source, compile_template
from dsl.format import format_expression
from dsl.parser import parse_expression

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class Secret:
    """A host object that must never be reachable: reading any attribute of it is a failure."""

    password = "hunter2"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"attribute {name} was read")


def ev(source: str, record: dict[str, Any], **context: Any) -> Any:
    return compile_source(source)(EvalContext(now=NOW, record=record, **context))


@pytest.mark.parametrize(
    "source",
    [
        "__class__",
        "s.__class__",
        "s.__class__.__mro__",
        "f.__globals__",
        "__builtins__",
        "d.__dict__",
        "s.upper",
        "obj.password",
        "obj",
        "payload.__class__",
        "old.__init__",
        "cfg.__getitem__",
    ],
)
def test_host_attributes_are_not_reachable_through_paths(source: str) -> None:
    record = {"s": "text", "f": ev, "d": {"a": 1}, "obj": Secret(), "cfg": {"x": 1}}

    assert ev(source, record, payload={"a": 1}, old={"a": 1}) is None


def test_a_host_object_stored_in_a_record_is_null_and_never_touched() -> None:
    assert ev("obj is empty", {"obj": Secret()}) is True


@pytest.mark.parametrize(
    "value",
    [
        "{{ config }}",
        "{''.__class__}",
        "{contact.name}",
        "}{",
        "{% import os %}",
        "${7*7}",
        "{0.__class__}",
        "%s %(x)s",
        "\\{x\\}",
    ],
)
def test_record_values_inserted_into_a_template_stay_inert_text(value: str) -> None:
    template = parse_expression('"Note: {note}!"')
    assert isinstance(template, a.Template)

    rendered = compile_template(template)(
        EvalContext(now=NOW, record={"note": value, "contact": {"name": "X"}})
    )

    assert rendered == f"Note: {value}!"


def test_a_record_value_concatenated_is_not_interpolated() -> None:
    assert ev('note + "{{x}}"', {"note": "{x}", "x": "no"}) == "{x}{x}"


def test_a_plain_string_compiles_as_a_template_of_itself() -> None:
    assert compile_template(a.StringLit("{{not a path}}"))(EvalContext(now=NOW)) == "{{not a path}}"


# --------------------------------------------------------------------------------- random expressions
_NAMES = ["n", "s", "d", "t", "tags", "x", "obj", "rec", "b", "dur", "__class__", "nested"]
_RECORD: dict[str, Any] = {
    "n": Decimal("2.5"),
    "s": "a{b}",
    "d": date(2026, 1, 31),
    "t": NOW,
    "tags": ["a", "b"],
    "x": None,
    "obj": Secret(),
    "rec": {"n": 1, "s": "in"},
    "b": False,
    "dur": timedelta(hours=1),
    "nested": {"rec": {"rec": {"s": "deep"}}},
    "huge": 10**30,
    "inf": float("inf"),
}
#: function -> (fewest, most) arguments
_FUNCTIONS = {
    "lower": (1, 1),
    "upper": (1, 1),
    "trim": (1, 1),
    "len": (1, 1),
    "round": (1, 2),
    "abs": (1, 1),
    "min": (1, 3),
    "max": (1, 3),
    "coalesce": (1, 3),
    "days_between": (2, 2),
    "date_of": (1, 1),
    "date": (1, 1),
}
_BINARY = ["or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "+", "-", "*", "/", "%"]

_paths = st.lists(st.sampled_from([*_NAMES, "huge", "inf"]), min_size=1, max_size=3).map(
    lambda names: a.Path("record", tuple(a.Ident(name) for name in names))
)


def _leaves_with(numbers: st.SearchStrategy[a.Expr]) -> st.SearchStrategy[a.Expr]:
    return st.one_of(
        numbers,
        st.text(max_size=5).map(a.StringLit),
        st.booleans().map(a.Bool),
        st.just(a.Null()),
        st.sampled_from(["now", "today"]).map(a.Clock),  # type: ignore[arg-type]
        st.tuples(st.integers(-1000, 10**6), st.sampled_from(["seconds", "hours", "days", "weeks"])).map(
            lambda pair: a.Duration(pair[0], pair[1])  # type: ignore[arg-type]
        ),
        _paths,
        st.lists(_paths | st.text(max_size=3), max_size=3).map(lambda parts: a.Template(tuple(parts))),
    )


def _extend(children: st.SearchStrategy[a.Expr]) -> st.SearchStrategy[a.Expr]:
    calls = st.sampled_from(sorted(_FUNCTIONS)).flatmap(
        lambda name: st.lists(children, min_size=_FUNCTIONS[name][0], max_size=_FUNCTIONS[name][1]).map(
            lambda args: a.Call(a.Ident(name), tuple(args))
        )
    )
    return st.one_of(
        st.tuples(st.sampled_from(_BINARY), children, children).map(lambda t: a.Binary(t[0], t[1], t[2])),  # type: ignore[arg-type]
        st.tuples(st.sampled_from(["-", "not"]), children).map(lambda t: a.Unary(t[0], t[1])),  # type: ignore[arg-type]
        st.tuples(children, st.booleans()).map(lambda t: a.IsEmpty(t[0], t[1])),
        st.lists(children, max_size=3).map(lambda items: a.ListLit(tuple(items))),
        calls,
    )


_any_numbers = st.integers(-(10**20), 10**20).map(a.Number) | st.floats(
    allow_nan=False, allow_infinity=False
).map(a.Number)
#: numbers the parser accepts (at most 18 digits), so that the formatted text parses again
_written_numbers = st.integers(0, 10**17).map(a.Number) | st.integers(0, 10**6).map(
    lambda n: a.Number(n / 100)
)
_expressions = st.recursive(_leaves_with(_any_numbers), _extend, max_leaves=12)
_written_expressions = st.recursive(_leaves_with(_written_numbers), _extend, max_leaves=12)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=_expressions)
def test_any_expression_on_any_values_ends_in_a_value_or_a_runtime_error(expr: a.Expr) -> None:
    compiled = compile_expression(expr)
    ctx = EvalContext(now=NOW, record=_RECORD, payload=[1, 2], old={"n": object()})
    try:
        compiled(ctx)
    except CraftRuntimeError as error:
        assert error.code.startswith(("E_RUNTIME_", "E_BUDGET_"))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expr=_written_expressions)
def test_an_expression_means_the_same_after_formatting_and_parsing_it_again(expr: a.Expr) -> None:
    ctx = EvalContext(now=NOW, record=_RECORD)

    assert _outcome(compile_source(format_expression(expr)), ctx) == _outcome(compile_expression(expr), ctx)


def _outcome(compiled: CompiledExpr, ctx: EvalContext) -> object:
    """The value, or the error code: what two evaluations are compared by."""
    try:
        return compiled(ctx)
    except CraftRuntimeError as error:
        return error.code


_EVALUATOR_FILES = ("evaluate.py", "_py_ops.py", "_py_functions.py", "values.py", "budget.py")


@pytest.mark.parametrize(
    "word", ["eval(", "exec(", "getattr(", "__import__", "jinja", "format_map(", ".format("]
)
def test_the_evaluator_uses_no_eval_no_attribute_lookup_and_no_template_engine(word: str) -> None:
    sources = [(Path(dsl.__file__).parent / name).read_text(encoding="utf-8") for name in _EVALUATOR_FILES]

    assert not any(word in source for source in sources)


def test_a_duration_too_long_for_a_clock_is_a_static_error() -> None:
    with pytest.raises(dsl.CraftErrors) as caught:
        compile_source("now - 999999999999 weeks")
    assert [e.code for e in caught.value] == ["E_BAD_DURATION"]


@pytest.mark.parametrize(("text", "expected"), [("[1] == [true]", False), ("[1] != [true]", True),
                                                ("[1, 2] == [1, 2]", True), ('["a"] == ["a", "b"]', False)])
def test_lists_are_equal_item_by_item_with_the_languages_equality(text: str, expected: bool) -> None:
    assert compile_source(text)(EvalContext(now=datetime(2026, 1, 1, tzinfo=UTC))) is expected


def test_date_of_a_duration_literal_is_a_runtime_type_error_however_it_is_written() -> None:
    ctx = EvalContext(now=NOW, record=_RECORD)
    negative = a.Duration(-1, "seconds")  # type: ignore[arg-type]

    assert _outcome(compile_expression(a.Call(a.Ident("date"), (negative,))), ctx) == "E_RUNTIME_TYPE"
    assert _outcome(compile_source("date(-1 seconds)"), ctx) == "E_RUNTIME_TYPE"
