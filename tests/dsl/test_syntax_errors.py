"""Syntax errors: the malformed-snippet table, recovery to the next automation, and error formatting."""

from __future__ import annotations

import pytest

from dsl.errors import CODES, CraftErrors, codes_table
from dsl.parser import parse, parse_partial
from dsl.syntax_examples import SYNTAX_EXAMPLES, SyntaxExample


def _errors(text: str, file: str = "deals.craft") -> CraftErrors:
    with pytest.raises(CraftErrors) as caught:
        parse(text, file)
    return caught.value


@pytest.mark.parametrize("example", SYNTAX_EXAMPLES, ids=lambda e: f"{e.code}:{e.message[:40]}")
def test_malformed_snippet_gives_its_code_place_and_message(example: SyntaxExample) -> None:
    first = _errors(example.snippet).errors[0]

    assert (first.code, first.span.line, first.span.col) == (example.code, example.line, example.col)
    assert example.message in first.message


@pytest.mark.parametrize("example", SYNTAX_EXAMPLES, ids=lambda e: f"{e.code}:{e.message[:40]}")
def test_every_code_of_the_table_is_documented(example: SyntaxExample) -> None:
    assert example.code in CODES


def test_error_prints_file_line_column_code_and_message() -> None:
    error = _errors('automation "a" when Deal created\n    stop\nend').errors[0]

    assert str(error).startswith('deals.craft:2:5 E_SYNTAX expected "do"')


def test_friendly_message_also_names_what_was_found() -> None:
    error = _errors('automation "a" when Deal created\n  notify owner "x"\nend').errors[0]

    assert error.hint == 'found "notify"'


def test_unexpected_token_lists_what_was_expected() -> None:
    error = _errors('automation "a" when Deal created do\n  wait until done for 3 days\nend').errors[0]

    assert error.hint == 'expected "at"'


def test_a_file_reports_the_syntax_errors_of_every_automation() -> None:
    text = """
automation "one" when Deal created
  stop
end

automation "two" when Deal created do
  stop
end

automation "three" when Deal created do
  move to won
end

process "four" Deal
end
"""
    errors = _errors(text)

    assert [(e.span.line, e.code) for e in errors] == [(3, "E_SYNTAX"), (11, "E_SYNTAX"), (14, "E_SYNTAX")]


def test_a_missing_end_is_reported_where_the_automation_stops() -> None:
    text = 'automation "one" when Deal created do\n  stop\n\nautomation "two" when Deal created do stop end\n'

    errors = _errors(text)

    assert [(e.code, e.span.line, e.span.col) for e in errors] == [("E_UNEXPECTED_END", 2, 7)]


def test_text_before_the_first_automation_is_an_error() -> None:
    errors = _errors('hello\nautomation "a" when Deal created do stop end')

    assert errors.codes == ["E_UNEXPECTED_TOKEN"]
    assert errors.errors[0].span.line == 1


def test_string_errors_of_one_automation_are_all_reported() -> None:
    text = 'automation "a" when Deal created do\n  notify owner "{1+1}"\n  notify owner "\\q"\nend'

    assert _errors(text).codes == ["E_BAD_INTERPOLATION", "E_BAD_ESCAPE"]


def test_the_codes_table_lists_every_code_once() -> None:
    table = codes_table().splitlines()

    assert len(table) == len(CODES) + 2
    assert all(any(f"`{code}`" in row for row in table) for code in CODES)


@pytest.mark.parametrize("body", ["  wait until x = 1", "  send email to x = 1 subject \"s\" body \"b\"",
                                  "  set a = (b = 1)"])
def test_a_single_equals_in_a_condition_suggests_double(body: str) -> None:
    error = _errors(f'automation "a" when Deal created do\n{body}\nend').errors[0]

    assert (error.code, error.message) == ("E_SYNTAX", 'use "==" to compare ("=" only assigns)')


def test_single_quotes_get_a_hint() -> None:
    error = _errors("automation \"a\" when Deal created do\n  notify owner 'hi'\nend").errors[0]

    assert (error.code, error.hint) == ("E_UNEXPECTED_CHARACTER", 'strings use double quotes: "…"')


def test_parse_partial_keeps_the_automations_that_parse() -> None:
    text = 'automation "a" when Deal created\n  stop\nend\nautomation "b" when Deal created do stop end'

    program, errors = parse_partial(text, "d.craft")

    assert [item.name.value for item in program.items] == ["b"]
    assert [e.code for e in errors] == ["E_SYNTAX"]
