"""Hostile input: arbitrary text, deep nesting, huge files and template injection end in coded errors."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import ast as a
from dsl.errors import CraftErrors
from dsl.parser import MAX_SOURCE_CHARS, parse, parse_expression
from dsl.strings import render

HEAD = 'automation "a" when Deal created do\n'
WORDS = ["automation", "process", "when", "do", "end", "if", "then", "else", "set", "=", "(", ")", "[", "]",
         "{", "}", '"', "Deal", "created", "stage", "1", "2 days", "and", "not", "#", "\n", " ", ".", ",",
         "notify", "owner", '"{x}"', "every", "at", "09:00", "for", "wait", "until", "-", "*"]


def _codes(text: str) -> list[str]:
    with pytest.raises(CraftErrors) as caught:
        parse(text)
    return caught.value.codes


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text_raises_only_craft_errors(text: str) -> None:
    with contextlib.suppress(CraftErrors):
        parse(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join))
def test_arbitrary_sequences_of_words_raise_only_craft_errors(text: str) -> None:
    with contextlib.suppress(CraftErrors):
        parse(HEAD + text + "\nend")
    with contextlib.suppress(CraftErrors):
        parse_expression(text)


def test_ten_thousand_nested_parentheses_are_too_deep() -> None:
    text = HEAD + "  set x = " + "(" * 10_000 + "1" + ")" * 10_000 + "\nend"

    assert _codes(text) == ["E_TOO_DEEP"]


def test_a_long_operator_chain_is_too_deep_not_a_recursion_error() -> None:
    assert _codes(HEAD + "  set x = " + " + ".join(["1"] * 5_000) + "\nend") == ["E_TOO_DEEP"]


def test_a_long_not_chain_is_too_deep() -> None:
    assert _codes(HEAD + "  if " + "not " * 5_000 + "x then stop end\nend") == ["E_TOO_DEEP"]


def test_deeply_nested_ifs_are_too_deep() -> None:
    text = HEAD + "if x then " * 2_000 + "stop" + " end" * 2_000 + "\nend"

    assert _codes(text) == ["E_TOO_DEEP"]


def test_a_one_megabyte_expression_is_too_large_and_fast() -> None:
    started = time.perf_counter()

    assert _codes(HEAD + "  set x = " + "1 + " * 262_144 + "1\nend") == ["E_TOO_LARGE"]
    assert time.perf_counter() - started < 1.0


def test_a_long_flat_list_parses() -> None:
    assert isinstance(parse_expression("[" + ", ".join(["1"] * 10_000) + "]"), a.ListLit)


def test_text_just_over_the_limit_is_too_large() -> None:
    assert _codes(" " * (MAX_SOURCE_CHARS + 1)) == ["E_TOO_LARGE"]


def test_nesting_within_the_limit_parses() -> None:
    assert isinstance(parse_expression("(" * 40 + "1" + ")" * 40), a.Number)


def test_brackets_inside_strings_and_comments_do_not_count() -> None:
    text = HEAD + '  notify owner "' + "(" * 200 + '"  # ' + "[" * 200 + "\nend"

    assert len(parse(text).automations) == 1


@pytest.mark.parametrize("text", ["{''.__class__}", "{x.__class__.__mro__[1]}", "{ x() }", "{1+1}",
                                  "{__import__('os')}", "{x|attr('y')}", "{}"])
def test_template_injection_is_a_syntax_error(text: str) -> None:
    assert _codes(HEAD + f'  notify owner "{text}"\nend') == ["E_BAD_INTERPOLATION"]


@pytest.mark.parametrize("text, literal", [
    ("{{ config }}", "{ config }"),
    ("{{''.__class__}}", "{''.__class__}"),
    ("{{{{x}}}}", "{{x}}"),
])
def test_doubled_braces_are_inert_text(text: str, literal: str) -> None:
    step = parse(HEAD + f'  notify owner "{text}"\nend').automations[0].body[0]

    assert isinstance(step, a.NotifyStep) and step.text == a.StringLit(literal)


def test_placeholders_are_paths_and_nothing_else() -> None:
    text = HEAD + '  notify owner "Hi {contact.name}, {{not this}} {old.amount}"\nend'
    step = parse(text).automations[0].body[0]

    assert isinstance(step, a.NotifyStep) and isinstance(step.text, a.Template)
    assert step.text.parts == (
        "Hi ", a.Path("record", (a.Ident("contact"), a.Ident("name"))), ", {not this} ",
        a.Path("old", (a.Ident("amount"),)))


def test_placeholder_errors_point_into_the_string() -> None:
    with pytest.raises(CraftErrors) as caught:
        parse(HEAD + '  notify owner "ok {bad-path}"\nend', "d.craft")

    assert str(caught.value.errors[0]).startswith("d.craft:2:20 E_BAD_INTERPOLATION")


def test_names_of_automations_are_plain_text() -> None:
    program = parse('automation "{not a template}" when Deal created do stop end')

    assert program.automations[0].name == a.StringLit("{not a template}")


@pytest.mark.parametrize("value", ["{{ config }}", "{owner.email}", "{''.__class__}", "}{", "{{{{"])
def test_record_values_with_braces_render_verbatim(value: str) -> None:
    step = parse(HEAD + '  notify owner "Deal {title}!"\nend').automations[0].body[0]
    assert isinstance(step, a.NotifyStep)

    assert render(step.text, lambda path: value) == f"Deal {value}!"


def test_null_renders_as_nothing() -> None:
    step = parse(HEAD + '  notify owner "[{title}]"\nend').automations[0].body[0]
    assert isinstance(step, a.NotifyStep)

    assert render(step.text, lambda path: None) == "[]"


def test_a_file_of_comments_is_read_in_linear_time() -> None:
    started = time.perf_counter()

    program = parse("# note\n" * 30_000)

    assert len(program.comments) == 30_000 and program.comments[-1].span.line == 30_000
    assert time.perf_counter() - started < 2.0


def test_a_file_of_broken_automations_stops_after_a_hundred_errors() -> None:
    assert _codes("automation\n" * 5_000)[-1] == "E_TOO_MANY_ERRORS"
    assert len(_codes("automation\n" * 5_000)) == 101
