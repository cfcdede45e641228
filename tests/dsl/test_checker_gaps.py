"""The checker's refusals that used to slip through (or crash it): subjects, processes, functions,
stages, options, durations, bindings and URLs (what steps may write: test_checker_writes.py).

Codes for the refusals the compiler also makes (writing what is not a field, a subject step without a
subject, a process of another entity) are the compiler's own, so a program gets the same code whichever
of the two sees it first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dsl
from dsl.checker import check_files, check_program, dependencies
from dsl.errors import CODES, CraftError, CraftErrors
from dsl.parser import parse
from dsl.schema import FieldInfo, StaticSchema, Use
from tests.dsl.test_checker import _NAMES, _STEPS, _TRIGGERS
from tests.dsl.test_robustness import WORDS

CHECKER_MODULES = ("checker.py", "_check_expr.py", "_check_steps.py", "_check_writes.py")
PROCESSES = '\nprocess "For deals" for Deal\n  stop\nend\nprocess "For leads" for Lead\n  stop\nend'


def _errors(schema: StaticSchema, body: str, trigger: str = "Deal updated") -> list[CraftError]:
    text = f'automation "a" when {trigger} do\n{body}\nend{PROCESSES}'
    return check_program(parse(text, "gaps.craft"), schema)


def _codes(schema: StaticSchema, body: str, trigger: str = "Deal updated") -> list[str]:
    return [e.code for e in _errors(schema, body, trigger)]


# ------------------------------------------------------------------ steps that need a subject
@pytest.mark.parametrize("body", [
    "  move to stage won", '  add tag "x"', '  remove tag "x"', '  start process "For deals"'])
def test_subject_steps_are_refused_without_a_subject(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body, "webhook shop received") == ["E_UNKNOWN_NAME"]


def test_a_webhook_automation_may_create_and_update_bound_records(schema: StaticSchema) -> None:
    body = '  create Deal with title = payload.title as deal\n  update deal with amount = payload.amount'

    assert _codes(schema, body, "webhook shop received") == []


def test_a_subject_step_is_not_refused_again_when_the_form_is_unknown(schema: StaticSchema) -> None:
    assert _codes(schema, "  move to stage won", "form nope submitted") == ["E_UNKNOWN_FORM"]


# ------------------------------------------------------------------ processes of the right entity
def test_a_process_of_another_entity_is_refused(schema: StaticSchema) -> None:
    [error] = _errors(schema, '  start process "For leads"')

    assert (error.code, error.span.col) == ("E_TYPE_MISMATCH", 17)


def test_a_process_of_the_subject_entity_starts(schema: StaticSchema) -> None:
    assert _codes(schema, '  start process "For deals"') == []


def test_a_process_may_start_a_process_of_its_own_entity_only(schema: StaticSchema) -> None:
    steps = '  start process "For deals"\n  start process "For leads"'
    text = f'process "Chain" for Deal\n{steps}\nend{PROCESSES}'

    assert [e.code for e in check_program(parse(text), schema)] == ["E_TYPE_MISMATCH"]


def test_processes_of_other_files_are_matched_by_entity(schema: StaticSchema) -> None:
    sources = {"a.craft": 'automation "a" when Deal created do\n  start process "L"\nend',
               "b.craft": 'process "L" for Lead\n  stop\nend'}

    assert [e.code for e in check_files(sources, schema)] == ["E_TYPE_MISMATCH"]


def test_a_process_of_another_entity_still_counts_as_used(schema: StaticSchema) -> None:
    text = f'automation "a" when Deal created do\n  start process "For leads"\nend{PROCESSES}'

    assert Use("process", "For leads") in dependencies(parse(text), schema)[("automation", "a")]


# ------------------------------------------------------------------ arbitrary programs never crash
_MORE_NAMES = [*_NAMES, "now", "today", "old.amount", "form.x", "payload.y", "tags", "created_at"]
_MORE_STEPS = [*_STEPS, "set @ = 1, @ = 2", "update @ with @ = @", 'add tag "@"', 'notify @ "x"',
               'create task "t" for @ due in 1 day as @', 'call webhook "u" as @', "wait 1 day until @",
               "set @.@ = @ + @", 'remove tag "@"', "move to stage @ in pipeline @"]


@st.composite
def _programs(draw: st.DrawFn) -> str:
    def fill(template: str) -> str:
        return re.sub("@", lambda _: draw(st.sampled_from(_MORE_NAMES)), template)

    steps = "\n".join(fill(draw(st.sampled_from(_MORE_STEPS))) for _ in range(draw(st.integers(0, 6))))
    if draw(st.booleans()):
        return f'process "p" for {fill("@")}\n{steps}\nend'
    return f'automation "a" when {fill(draw(st.sampled_from(_TRIGGERS)))} do\n{steps}\nend'


def _check_any(schema: StaticSchema, text: str) -> None:
    try:
        program = parse(text)
    except CraftErrors:
        return
    assert all(error.code in CODES for error in check_program(program, schema))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_programs())
def test_checking_programs_with_any_write_target_returns_coded_errors(schema: StaticSchema,
                                                                      text: str) -> None:
    _check_any(schema, text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from([*WORDS, "now", "today", "old", "form", "payload", "x", "update",
                                       "with", "move", "to", "assign"]), max_size=30).map(" ".join),
       trigger=st.sampled_from(_TRIGGERS))
def test_checking_random_step_sources_returns_coded_errors(schema: StaticSchema, words: str,
                                                           trigger: str) -> None:
    _check_any(schema, f'automation "a" when {trigger.replace("@", "closes_on")} do\n{words}\nend')


# ------------------------------------------------------------------ found by reading the checker
@pytest.mark.parametrize("body", [
    '  set title = "x"', "  move to stage won", '  add tag "x"', '  start process "For deals"',
    '  assign owner round robin from group "sales"',
])
def test_a_deleted_record_is_not_changed(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body, "Deal deleted") == ["E_READ_ONLY"]


def test_a_deleted_automation_may_read_its_record_and_change_others(schema: StaticSchema) -> None:
    body = '  notify owner "{title} is gone"\n  update contact with name = title\n  set contact.name = "x"'

    assert _codes(schema, body, "Deal deleted") == []


@pytest.mark.parametrize("condition", ["changed(1)", "changed(contact.name)", "changed(old.amount)",
                                       "changed(now)", "changed(nmae)"])
def test_changed_takes_one_field_of_the_subject(schema: StaticSchema, condition: str) -> None:
    assert len(_codes(schema, f"  if {condition} then stop end")) == 1


@pytest.mark.parametrize("expression", [
    "lower(amount)", "upper(1)", "trim(paid)", "len(1)", "abs(title)", "round(title)", "round(1, title)",
    "days_between(title, today)", "date_of(1)", 'date(1)', "max(title, 1)", "min(today, 1)",
])
def test_function_arguments_are_type_checked(schema: StaticSchema, expression: str) -> None:
    assert _codes(schema, f"  if {expression} == null then stop end") == ["E_TYPE_MISMATCH"]


@pytest.mark.parametrize("expression", [
    'lower(title) == "x"', "len(tags) > 1", "len(title) > 1", "abs(amount - 1) > 0", "round(amount, 2) > 1",
    "days_between(closes_on, now) > 1", "date_of(created_at) < today", 'date("2026-01-01") < today',
    "max(amount, 1) > 2", "min(closes_on, today) < today", "max(created_at, today) < now",
    "coalesce(title, 1) == null", "lower(contact.name) == null",
])
def test_well_typed_function_calls_check_clean(schema: StaticSchema, expression: str) -> None:
    assert _codes(schema, f"  if {expression} then stop end") == []


def test_max_of_numbers_is_a_number(schema: StaticSchema) -> None:
    assert _codes(schema, "  set title = max(amount, 1)") == ["E_TYPE_MISMATCH"]


@pytest.mark.parametrize("condition", ['stage == "wonn"', 'stage in ["won", "lots"]', 'stage != "Won"'])
def test_quoted_stage_names_are_checked_too(schema: StaticSchema, condition: str) -> None:
    assert _codes(schema, f"  if {condition} then stop end") == ["E_UNKNOWN_STAGE"]


def test_quoted_stage_names_that_exist_check_clean(schema: StaticSchema) -> None:
    assert _codes(schema, '  if stage in ["won", lost] or stage == "new" then stop end') == []


def test_a_binding_made_in_a_branch_is_not_visible_after_the_if(schema: StaticSchema) -> None:
    body = '  if paid then\n    create Lead with name = "x" as lead\n  end\n  set lead.name = "y"'

    assert _codes(schema, body) == ["E_UNKNOWN_NAME"]


def test_a_binding_made_in_a_branch_is_visible_inside_it(schema: StaticSchema) -> None:
    body = '  if paid then\n    create Lead with name = "x" as lead\n    set lead.name = "y"\n  end'

    assert _codes(schema, body) == []


def test_a_binding_made_before_the_if_is_visible_after_it(schema: StaticSchema) -> None:
    body = '  create Lead as lead\n  if paid then\n    set lead.score = 1\n  end\n  set lead.name = "y"'

    assert _codes(schema, body) == []


def test_binding_names_stay_unique_across_branches(schema: StaticSchema) -> None:
    body = '  if paid then\n    create Lead as x\n  else\n    create Deal as x\n  end'

    assert _codes(schema, body) == ["E_DUPLICATE_NAME"]


@pytest.mark.parametrize("body, trigger", [
    ("  wait 999999999999 weeks", "Deal updated"),
    ('  create task "t" for owner due in 5300 weeks', "Deal updated"),
    ("  wait until paid for at most 40000 days", "Deal updated"),
    ("  stop", "Lead stays in stage new for 999999999 days"),
    ("  stop", "999999999999 weeks before Deal.closes_on"),
])
def test_durations_longer_than_a_century_are_refused(schema: StaticSchema, body: str, trigger: str) -> None:
    assert _codes(schema, body, trigger) == ["E_BAD_DURATION"]


def test_reminders_come_at_most_once_a_minute(schema: StaticSchema) -> None:
    text = ('process "P" for Deal\n  task "a" for owner due in 1 day remind every 30 seconds\n'
            '  task "b" for owner due in 1 day remind every 1 minute\nend')

    assert [(e.code, e.span.line) for e in check_program(parse(text), schema)] == [("E_BAD_DURATION", 2)]


@pytest.mark.parametrize("body, trigger", [
    ("  wait 0 days", "Deal updated"), ('  create task "t" for owner due in 0 minutes', "Deal updated"),
    ("  stop", "0 days before Deal.closes_on"), ("  wait 100 weeks", "Deal updated"),
])
def test_zero_and_ordinary_durations_are_accepted(schema: StaticSchema, body: str, trigger: str) -> None:
    assert _codes(schema, body, trigger) == []


def _enum_schema() -> StaticSchema:
    status = FieldInfo("status", "enum", options=("open", "done"))
    labels = FieldInfo("labels", "multi_enum", options=("red", "blue"))
    return StaticSchema({"Job": {"status": status, "labels": labels, "note": FieldInfo("note", "string")}})


@pytest.mark.parametrize("body", [
    '  set status = "dnoe"', '  if status == "dnoe" then stop end',
    '  if status in ["open", "clsoed"] then stop end',
    '  create Job with status = "x"', '  if status != "Open" then stop end',
])
def test_enum_values_must_be_options(body: str) -> None:
    text = f'automation "a" when Job updated do\n{body}\nend'

    assert [e.code for e in check_program(parse(text), _enum_schema())] == ["E_UNKNOWN_OPTION"]


def test_an_unknown_option_suggests_the_close_one() -> None:
    text = 'automation "a" when Job updated do\n  set status = "dnoe"\nend'

    [error] = check_program(parse(text), _enum_schema())
    assert error.hint == 'did you mean "done"?'


@pytest.mark.parametrize("body", [
    '  set status = "done"', '  if status == "open" or status in ["open", "done"] then stop end',
    '  set status = note', '  if note == "dnoe" then stop end', '  if labels contains "red" then stop end',
])
def test_enum_options_and_other_values_check_clean(body: str) -> None:
    text = f'automation "a" when Job updated do\n{body}\nend'

    assert check_program(parse(text), _enum_schema()) == []


def test_a_binding_may_not_hide_a_field_of_the_subject(schema: StaticSchema) -> None:
    assert _codes(schema, '  create Lead with name = "x" as title') == ["E_DUPLICATE_NAME"]


def test_every_code_the_checker_can_report_is_documented() -> None:
    folder = Path(dsl.__file__).parent
    texts = [(folder / name).read_text(encoding="utf-8") for name in CHECKER_MODULES]
    used = {code for text in texts for code in re.findall(r'"(E_[A-Z_]+)"', text)}

    assert sorted(used - CODES.keys()) == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)",
                                 "gopher://h/{title}"])
def test_webhooks_call_http_urls_only(schema: StaticSchema, url: str) -> None:
    assert _codes(schema, f'  call webhook "{url}"') == ["E_BAD_URL"]


@pytest.mark.parametrize("url", ["https://example.com/hook", "http://example.com/{title}", "{contact.name}",
                                 "HTTPS://EXAMPLE.COM", "hooks/deal"])
def test_http_urls_and_urls_built_from_fields_are_accepted(schema: StaticSchema, url: str) -> None:
    assert _codes(schema, f'  call webhook "{url}"') == []


def test_a_webhook_body_names_each_key_once(schema: StaticSchema) -> None:
    assert _codes(schema, '  call webhook "https://x" with {a: 1, b: 2, a: 3}') == ["E_DUPLICATE_NAME"]


def test_approval_options_are_distinct(schema: StaticSchema) -> None:
    text = 'process "P" for Deal\n  approval "ok" by owner options yes, no, yes as choice\nend'

    assert [e.code for e in check_program(parse(text), schema)] == ["E_DUPLICATE_NAME"]


@pytest.mark.parametrize("condition, codes", [
    ('choice == "yse"', ["E_UNKNOWN_OPTION"]), ('choice in ["yes", "maybe"]', ["E_UNKNOWN_OPTION"]),
    ('choice == "yes"', []), ('choice != "no"', []),
])
def test_an_approval_outcome_is_compared_with_its_options(schema: StaticSchema, condition: str,
                                                          codes: list[str]) -> None:
    text = (f'process "P" for Deal\n  approval "ok" by owner options yes, no as choice\n'
            f'  if {condition} then stop end\nend')

    assert [e.code for e in check_program(parse(text), schema)] == codes


@pytest.mark.parametrize("condition", ['amount in ["a", "b"]', "title not in [1, 2]", "title contains 1",
                                       "paid in [1]"])
def test_in_and_contains_compare_values_of_one_family(schema: StaticSchema, condition: str) -> None:
    assert _codes(schema, f"  if {condition} then stop end") == ["E_TYPE_MISMATCH"]


@pytest.mark.parametrize("condition", ["amount in [1, 2.5, null]", 'title in ["a", contact.name]',
                                       'title contains "x"', 'tags contains "vip"', "closes_on in [today]",
                                       "amount in tags"])
def test_in_and_contains_of_matching_values_check_clean(schema: StaticSchema, condition: str) -> None:
    assert _codes(schema, f"  if {condition} then stop end") == []
