"""YAML loading with positions: values, 1-based places, duplicates and syntax errors."""

from __future__ import annotations

from metamodel.blueprint.yaml_positions import load_located, render_path

TEXT = """entities:
  Deal:
    fields:
      title: {type: string}
    tags: [a, 'b']
"""


def test_values_are_plain_python() -> None:
    doc = load_located(TEXT, "b.yaml")
    assert doc.data == {"entities": {"Deal": {"fields": {"title": {"type": "string"}}, "tags": ["a", "b"]}}}
    assert doc.problems == []


def test_key_positions_are_one_based() -> None:
    doc = load_located(TEXT, "b.yaml")
    place = doc.key_place(("entities", "Deal", "fields", "title"))
    assert (place.file, place.line, place.col) == ("b.yaml", 4, 7)


def test_value_positions_point_at_the_value() -> None:
    doc = load_located(TEXT, "b.yaml")
    place = doc.value_place(("entities", "Deal", "fields", "title", "type"))
    assert (place.line, place.col) == (4, 21)


def test_list_items_have_positions() -> None:
    doc = load_located(TEXT, "b.yaml")
    place = doc.key_place(("entities", "Deal", "tags", 1))
    assert (place.line, place.col) == (5, 15)


def test_absent_path_falls_back_to_nearest_ancestor() -> None:
    doc = load_located(TEXT, "b.yaml")
    place = doc.value_place(("entities", "Deal", "fields", "title", "max_length"))
    assert (place.line, place.col) == (4, 7)
    assert place.path == "entities.Deal.fields.title.max_length"


def test_duplicate_key_is_a_positioned_problem() -> None:
    doc = load_located("a: 1\nb: 2\na: 3\n", "d.yaml")
    [problem] = doc.problems
    assert (problem.code, problem.place.line, problem.place.col) == ("MM.E102", 3, 1)
    assert "line 1" in problem.message
    assert doc.data == {"a": 1, "b": 2}


def test_syntax_error_is_a_positioned_problem() -> None:
    doc = load_located("a:\n  b: [1, 2\nc: 3\n", "s.yaml")
    [problem] = doc.problems
    assert (problem.code, problem.place.file, problem.place.line) == ("MM.E101", "s.yaml", 3)
    assert doc.data is None


def test_tab_indentation_is_a_syntax_error() -> None:
    [problem] = load_located("a:\n\tb: 1\n", "t.yaml").problems
    assert (problem.code, problem.place.line, problem.place.col) == ("MM.E101", 2, 1)


def test_keys_stay_text_even_when_yaml_would_make_them_booleans() -> None:
    assert load_located("on: 1\nno: 2\n1: 3\n", "k.yaml").data == {"on": 1, "no": 2, "1": 3}


def test_scalar_source_text_is_kept() -> None:
    doc = load_located("a: yes\nb: 0.10\n", "r.yaml")
    assert doc.data == {"a": True, "b": 0.1}
    assert (doc.text(("a",)), doc.text(("b",))) == ("yes", "0.10")


def test_aliases_are_expanded() -> None:
    doc = load_located("base: &b {type: string}\ncopy: *b\n", "a.yaml")
    assert doc.data["copy"] == {"type": "string"}


def test_merge_keys_merge_and_explicit_keys_win() -> None:
    doc = load_located("base: &b {type: string, required: true}\nf:\n  <<: *b\n  type: text\n", "m.yaml")
    assert doc.data["f"] == {"type": "text", "required": True}


def test_recursive_alias_is_a_problem_not_a_crash() -> None:
    [problem] = load_located("a: &x [1, *x]\n", "r.yaml").problems
    assert problem.code == "MM.E101"


def test_mapping_as_key_is_a_problem() -> None:
    [problem] = load_located("? [a, b]\n: 1\n", "c.yaml").problems
    assert (problem.code, problem.place.line, problem.place.col) == ("MM.E104", 1, 3)


def test_empty_document_has_no_data_and_no_problems() -> None:
    doc = load_located("# nothing yet\n", "e.yaml")
    assert (doc.data, doc.problems) == (None, [])


def test_render_path_reads_like_the_document() -> None:
    assert render_path(("users", 0, "email")) == "users[0].email"
