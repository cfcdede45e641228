"""The formatter: canonical, idempotent, meaning-preserving, and it keeps comments."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl import ast as a
from dsl.format import format_expression, format_program
from dsl.parser import parse, parse_expression

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.craft"))
MESSY = """
# intake rules
automation   "Messy"   when Deal.a,Deal.b changed   where not(a==1) and (b+1)*2>3 or c is not empty
do set x=1,lead.y="q\\"uote {{braces}} {contact.name}"   # trailing
  if a then stop else if b then
     wait 1 hours until (x) else
   # inside else
   call webhook "https://x/{id}" method POST with {"full name":name,id:-id} as r
  end
  approval "ok" by group "g" options "a b", yes as pick
end
process "P" for Deal task "t" for owner due in 1 days remind every 1 hour
end   # done
"""


def _roundtrip(source: str) -> tuple[a.Program, str]:
    program = parse(source)
    return program, format_program(program)


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_formatting_a_spec_example_is_idempotent(path: Path) -> None:
    _, once = _roundtrip(path.read_text(encoding="utf-8"))

    assert format_program(parse(once)) == once


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_formatting_a_spec_example_preserves_its_meaning(path: Path) -> None:
    program, once = _roundtrip(path.read_text(encoding="utf-8"))

    assert parse(once) == program


def test_messy_text_becomes_canonical() -> None:
    _, once = _roundtrip(MESSY)

    assert once == """\
# intake rules
automation "Messy"
when Deal.a, Deal.b changed where not a == 1 and (b + 1) * 2 > 3 or c is not empty
do
  set x = 1, lead.y = "q\\"uote {{braces}} {contact.name}"  # trailing
  if a then
    stop
  else if b then
    wait 1 hour until x
  else
    # inside else
    call webhook "https://x/{id}" method POST with {"full name": name, id: -id} as r
  end
  approval "ok" by group "g" options "a b", yes as pick
end

process "P" for Deal
  task "t" for owner due in 1 day remind every 1 hour
end  # done
"""


def test_messy_text_keeps_its_meaning_and_settles() -> None:
    program, once = _roundtrip(MESSY)

    assert parse(once) == program
    assert format_program(parse(once)) == once


def test_an_empty_program_formats_to_nothing() -> None:
    assert format_program(parse("")) == ""


def test_only_comments_are_kept() -> None:
    assert format_program(parse("# a\n\n# b\n")) == "# a\n# b\n"


@pytest.mark.parametrize("source, canonical", [
    ("(a + b) * c", "(a + b) * c"),
    ("a + (b * c)", "a + b * c"),
    ("a - (b - c)", "a - (b - c)"),
    ("(a - b) - c", "a - b - c"),
    ("-(a + 1)", "-(a + 1)"),
    ("not (a or b)", "not (a or b)"),
    ("(not a) == b", "(not a) == b"),
    ("(a == b) == c", "(a == b) == c"),
    ("(a is empty) is empty", "(a is empty) is empty"),
    ("x in [1, 2.50, 3 days]", "x in [1, 2.5, 3 days]"),
    ("coalesce(a, 'b')".replace("'", '"'), 'coalesce(a, "b")'),
    ("0.1 + 1.0", "0.1 + 1.0"),
])
def test_expressions_get_only_the_brackets_they_need(source: str, canonical: str) -> None:
    assert format_expression(parse_expression(source)) == canonical
    assert parse_expression(canonical) == parse_expression(source)


_NAMES = st.sampled_from(["a", "b", "stage", "owner", "amount"])
_LEAVES = st.one_of(
    st.integers(0, 10**6).map(a.Number),
    st.floats(0, 1e6, allow_nan=False).map(lambda f: a.Number(round(f, 3))),
    st.tuples(st.integers(1, 90), st.sampled_from(list(a.UNIT_SECONDS))).map(lambda t: a.Duration(*t)),
    st.text(max_size=8).map(a.StringLit),
    st.booleans().map(a.Bool),
    st.just(a.Null()),
    st.sampled_from([a.Clock("now"), a.Clock("today")]),
    st.lists(_NAMES, min_size=1, max_size=3).map(lambda ns: a.Path("record", tuple(a.Ident(n) for n in ns))),
    _NAMES.map(lambda n: a.Path("old", (a.Ident(n),))),
)
_OPS: list[a.BinaryOp] = ["or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains",
                          "+", "-", "*", "/", "%"]


def _compound(children: st.SearchStrategy[a.Expr]) -> st.SearchStrategy[a.Expr]:
    return st.one_of(
        st.tuples(st.sampled_from(_OPS), children, children).map(lambda t: a.Binary(*t)),
        st.tuples(st.sampled_from(["-", "not"]), children).map(lambda t: a.Unary(*t)),  # type: ignore[arg-type]
        st.tuples(children, st.booleans()).map(lambda t: a.IsEmpty(*t)),
        st.lists(children, max_size=3).map(lambda xs: a.ListLit(tuple(xs))),
        st.lists(children, max_size=3).map(lambda xs: a.Call(a.Ident("max"), tuple(xs))),
    )


@settings(max_examples=400, deadline=None)
@given(st.recursive(_LEAVES, _compound, max_leaves=12))
def test_any_expression_tree_survives_printing_and_parsing(tree: a.Expr) -> None:
    assert parse_expression(format_expression(tree)) == tree


_STEP_SNIPPETS = [
    "set amount = 1, title = \"x {title}\"", "move to stage won", "create Lead with name = title as lead",
    "create task \"Call {name}\" for owner due in 2 hours", "update contact with name = \"n\"",
    "add tag \"vip\"", "notify group \"heads\" \"hi\"", "send sms to contact.phone text \"t\"",
    "call webhook \"https://x\" with {a: 1}", "wait 3 days until paid", "wait until paid for at most 1 week",
    "assign owner least busy from group \"sales\"", "start process \"P\"", "stop",
]
_SPACE = st.sampled_from([" ", "\n", "  ", "\n\n", " # note\n", "\n# own line\n"])


@st.composite
def _bodies(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        if depth < 2 and draw(st.booleans()):
            inner = draw(_bodies(depth + 1))
            other = draw(st.sampled_from(["", " else stop", " else if paid then stop"]))
            parts.append(f"if amount > 1 then{draw(_SPACE)}{inner}{other}{draw(_SPACE)}end")
        else:
            parts.append(draw(st.sampled_from(_STEP_SNIPPETS)))
    return "".join(p + draw(_SPACE) for p in parts)


@settings(max_examples=150, deadline=None)
@given(_bodies(), _SPACE, _SPACE)
def test_any_program_formats_idempotently_and_keeps_meaning(body: str, before: str, after: str) -> None:
    source = f'{before}automation "a" when Deal updated where paid do{after}{body}end{after}'
    program = parse(source)
    once = format_program(program)

    assert parse(once) == program
    assert format_program(parse(once)) == once
    assert once.count("#") == source.count("#")
