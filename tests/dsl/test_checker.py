"""The checker: spec examples check clean; each kind of mistake gets its code, place and suggestion."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.checker import check, check_files, check_program, dependencies
from dsl.errors import CODES, CraftError, CraftErrors
from dsl.parser import parse
from dsl.schema import StaticSchema, Use

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.craft"))


def _errors(schema: StaticSchema, text: str) -> list[CraftError]:
    return check_program(parse(text, "deals.craft"), schema)


def _codes(schema: StaticSchema, text: str) -> list[str]:
    return [e.code for e in _errors(schema, text)]


def _steps(schema: StaticSchema, body: str, trigger: str = "Deal updated") -> list[str]:
    return _codes(schema, f'automation "a" when {trigger} do\n{body}\nend')


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_every_spec_example_checks_clean(schema: StaticSchema, path: Path) -> None:
    assert check_program(parse(path.read_text(encoding="utf-8"), path.name), schema) == []


def test_unknown_field_names_place_and_suggestion(schema: StaticSchema) -> None:
    text = 'automation "a"\nwhen Deal updated\ndo\n  set ammount = 1\nend'

    assert [str(e) for e in _errors(schema, text)] == [
        'deals.craft:4:7 E_UNKNOWN_FIELD Deal has no field "ammount" — did you mean "amount"?']


def test_check_raises_all_problems_together(schema: StaticSchema) -> None:
    text = 'automation "a" when Deal updated do\n  set ammount = 1\n  notify group "sails" "x"\nend'

    with pytest.raises(CraftErrors) as caught:
        check(parse(text), schema)

    assert caught.value.codes == ["E_UNKNOWN_FIELD", "E_UNKNOWN_GROUP"]


@pytest.mark.parametrize("trigger, code", [
    ("Dael created", "E_UNKNOWN_ENTITY"),
    ("Deal.ammount changed", "E_UNKNOWN_FIELD"),
    ("Deal.amount, Lead.score changed", "E_MIXED_ENTITIES"),
    ("Deal entered stage wonn", "E_UNKNOWN_STAGE"),
    ("Deal entered stage won in pipeline sale", "E_UNKNOWN_PIPELINE"),
    ("Ticket entered stage open", "E_AMBIGUOUS_PIPELINE"),
    ("Contract entered stage new", "E_UNKNOWN_STAGE"),
    ("3 days before Deal.title", "E_NOT_A_DATE"),
    ('every monday at 09:00 in "Europe/Berlinn" for Deal', "E_BAD_TIMEZONE"),
    ("form websit submitted", "E_UNKNOWN_FORM"),
])
def test_trigger_mistakes(schema: StaticSchema, trigger: str, code: str) -> None:
    assert _steps(schema, "  stop", trigger) == [code]


@pytest.mark.parametrize("trigger", [
    "Ticket entered stage open in pipeline repairs", "Deal left stage won",
    "Lead stays in stage new for 1 hour", "1 day after Deal.closes_on", "manual for Deal",
    "webhook shop received"])
def test_good_triggers_check_clean(schema: StaticSchema, trigger: str) -> None:
    assert _steps(schema, "  stop", trigger) == []


def test_did_you_mean_for_an_entity(schema: StaticSchema) -> None:
    error = _errors(schema, 'automation "a" when Dael created do stop end')[0]

    assert error.hint == 'did you mean "Deal"?'


@pytest.mark.parametrize("body, code", [
    ("  set contact.nmae = 1", "E_UNKNOWN_FIELD"),
    ("  set title.x = 1", "E_NOT_A_REFERENCE"),
    ("  move to stage wonn", "E_UNKNOWN_STAGE"),
    ('  notify group "sails" "x"', "E_UNKNOWN_GROUP"),
    ('  notify title "x"', "E_NOT_A_USER"),
    ('  assign title round robin from group "sales"', "E_NOT_A_USER"),
    ("  set amount = lowercase(title)", "E_UNKNOWN_FUNCTION"),
    ('  start process "Delivry"', "E_UNKNOWN_PROCESS"),
    ('  create Dael with title = "x"', "E_UNKNOWN_ENTITY"),
    ('  create Lead with nmae = "x"', "E_UNKNOWN_FIELD"),
    ('  notify owner "Hi {contact.nmae}"', "E_UNKNOWN_FIELD"),
    ('  call webhook "u" method FETCH', "E_BAD_METHOD"),
    ('  create Lead as x\n  create Lead as x', "E_DUPLICATE_NAME"),
    ('  create Lead as lead\n  set lead.nmae = "x"', "E_UNKNOWN_FIELD"),
    ('  task "t" for owner due in 1 day', "E_PROCESS_STEP_OUTSIDE_PROCESS"),
    ('  add tag "x"\n  update contact with nmae = "y"', "E_UNKNOWN_FIELD"),
    ("  update title with name = 1", "E_NOT_A_REFERENCE"),
])
def test_step_mistakes(schema: StaticSchema, body: str, code: str) -> None:
    assert _steps(schema, body) == [code]


def test_bindings_reach_the_fields_of_the_created_record(schema: StaticSchema) -> None:
    body = '  create Lead with name = title as lead\n  assign lead.owner round robin from group "sales"\n' \
           '  notify lead.owner "New lead {lead.name}"\n  update contact with name = "x"'

    assert _steps(schema, body) == []


@pytest.mark.parametrize("condition, code", [
    ("amount > \"big\"", "E_TYPE_MISMATCH"),
    ("amount", "E_TYPE_MISMATCH"),
    ("paid and title", "E_TYPE_MISMATCH"),
    ("title - 1 > 0", "E_TYPE_MISMATCH"),
    ("stage == negotiatoin", "E_UNKNOWN_STAGE"),
    ("stage in [won, lots]", "E_UNKNOWN_STAGE"),
    ("len(title, 2) > 1", "E_TYPE_MISMATCH"),
])
def test_condition_mistakes(schema: StaticSchema, condition: str, code: str) -> None:
    assert _codes(schema, f'automation "a" when Deal updated where {condition} do stop end') == [code]


@pytest.mark.parametrize("condition", [
    "now - created_at > 2 days", "closes_on + 3 days < today", "tags contains \"vip\"",
    "stage in [won, lost] or title is empty", "coalesce(amount, 0) * 2 >= 10 and not paid",
    "contact.company.name == \"ACME\"", "amount != null", "days_between(closes_on, today) > 3",
    "changed(amount) and old.amount < amount",
])
def test_good_conditions_check_clean(schema: StaticSchema, condition: str) -> None:
    assert _codes(schema, f'automation "a" when Deal updated where {condition} do stop end') == []


@pytest.mark.parametrize("trigger", ["Deal created", "Deal entered stage won", "manual for Deal"])
def test_old_is_refused_outside_update_triggers(schema: StaticSchema, trigger: str) -> None:
    assert _steps(schema, "  if old.amount > 1 then stop end", trigger) == ["E_OLD_OUTSIDE_UPDATE"]


def test_changed_function_is_refused_outside_update_triggers(schema: StaticSchema) -> None:
    assert _steps(schema, "  if changed(amount) then stop end", "Deal created") == ["E_OLD_OUTSIDE_UPDATE"]


def test_form_and_payload_belong_to_their_triggers(schema: StaticSchema) -> None:
    assert _steps(schema, '  set title = form.x\n  set title = payload.y') == ["E_NO_FORM_HERE",
                                                                               "E_NO_PAYLOAD_HERE"]


def test_form_fields_are_checked_with_suggestions(schema: StaticSchema) -> None:
    errors = _errors(schema, 'automation "a" when form website submitted do\n'
                             '  create Lead with name = form.ful_name\nend')

    assert [(e.code, e.hint) for e in errors] == [("E_UNKNOWN_FIELD", 'did you mean "full_name"?')]


def test_a_webhook_automation_has_no_subject(schema: StaticSchema) -> None:
    assert _steps(schema, "  set title = payload.title", "webhook shop received") == ["E_UNKNOWN_NAME"]


@pytest.mark.parametrize("trigger", ["every day at 08:00 for Deal", "Deal deleted"])
@pytest.mark.parametrize("wait", ["wait 1 day", "wait until paid", "wait 1 hour until paid"])
def test_waits_are_refused_where_a_run_cannot_wait(schema: StaticSchema, trigger: str, wait: str) -> None:
    assert _steps(schema, f"  {wait}", trigger) == ["E_WAIT_NOT_ALLOWED"]


def test_duplicate_automation_names(schema: StaticSchema) -> None:
    text = 'automation "a" when Deal created do stop end\nautomation "a" when Deal updated do stop end'

    errors = _errors(schema, text)
    assert [(e.code, e.span.line, e.hint) for e in errors] == [
        ("E_DUPLICATE_NAME", 2, "the first is on line 1")]


def test_a_process_checks_against_its_entity(schema: StaticSchema) -> None:
    text = 'process "P" for Deal\n  approval "ok" by owner options yes, no as choice\n' \
           '  if choice == "yes" then move to stage wonn end\nend'

    assert _codes(schema, text) == ["E_UNKNOWN_STAGE"]


def test_every_checker_code_is_documented(schema: StaticSchema) -> None:
    text = 'automation "a" when Dael created do\n  set x = 1\nend'

    assert all(code in CODES for code in _codes(schema, text))


_NAMES = ["amount", "ammount", "stage", "owner", "lead", "contact", "title", "x", "paid", "won", "Deal",
          "Task"]
_TRIGGERS = ["Deal created", "Deal updated", "Deal deleted", "Lead.score changed", "Deal entered stage won",
             "Ticket left stage open", "every day at 08:00 for Deal", "form website submitted",
             "webhook shop received", "manual for Nope", "3 days before Deal.@"]
_STEPS = ["set @ = @", "set @.@ = old.@ + 1", "move to stage @", "create @ with @ = @ as @",
          "update @ with @ = form.@", 'notify @ "{@}"', 'assign @ round robin from group "@"',
          "wait until @ == @", "if @ in [@, @] then stop else set @ = payload.@ end",
          'task "t" for @ due in 1 day as @', 'approval "a" by @ options a as @',
          'start process "@"', 'send email to @ subject "{@.@}" body "b"', "set @ = @(@, 1 day) - now"]


@st.composite
def _programs(draw: st.DrawFn) -> str:
    def fill(template: str) -> str:
        return re.sub("@", lambda _: draw(st.sampled_from(_NAMES)), template)

    steps = "\n".join(fill(draw(st.sampled_from(_STEPS))) for _ in range(draw(st.integers(0, 5))))
    if draw(st.booleans()):
        return f'process "p" for {fill("@")}\n{steps}\nend'
    return f'automation "a" when {fill(draw(st.sampled_from(_TRIGGERS)))} do\n{steps}\nend'


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_programs())
def test_checking_any_program_returns_coded_errors_and_never_raises(schema: StaticSchema, text: str) -> None:
    try:
        program = parse(text)
    except CraftErrors:
        return
    assert all(error.code in CODES for error in check_program(program, schema))


def test_parse_and_check_of_a_2000_line_file_takes_under_a_second(schema: StaticSchema) -> None:
    spec = (Path(__file__).parent / "golden" / "spec_automations.craft").read_text()
    copies = [spec.replace('automation "', f'automation "{i} ') for i in range(30)]
    text = "\n".join(copies)
    assert text.count("\n") >= 2000

    started = time.perf_counter()
    errors = check_program(parse(text), schema)
    assert errors == [] and time.perf_counter() - started < 1.0


def test_dependencies_list_what_each_automation_relies_on(schema: StaticSchema) -> None:
    text = ('automation "a" when Deal entered stage won where amount > 1 and stage != lost do\n'
            '  notify group "heads" "{contact.name}"\n  start process "P"\nend\n'
            'process "P" for Lead\n  set score = 1\nend')

    uses = dependencies(parse(text), schema)

    assert uses[("automation", "a")] == {
        Use("entity", "Deal"), Use("stage", "won", "Deal"), Use("pipeline", "sales", "Deal"),
        Use("field", "amount", "Deal"), Use("field", "stage", "Deal"), Use("stage", "lost", "Deal"),
        Use("group", "heads"), Use("field", "contact", "Deal"), Use("field", "name", "Contact"),
        Use("process", "P")}
    assert uses[("process", "P")] == {Use("entity", "Lead"), Use("field", "score", "Lead")}


def test_dependencies_of_a_form_automation_name_the_form(schema: StaticSchema) -> None:
    uses = dependencies(parse('automation "f" when form website submitted do stop end'), schema)

    assert uses[("automation", "f")] == {Use("form", "website")}


@pytest.mark.parametrize("path", sorted((Path(__file__).parent / "golden_errors").glob("*.craft")),
                         ids=lambda p: p.name)
def test_golden_error_files_report_exactly_their_expected_errors(schema: StaticSchema, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = [word for line in text.splitlines() if line.startswith("# expect:")
                for word in line.split()[2:]]

    try:
        errors = check_program(parse(text, path.name), schema)
    except CraftErrors as caught:
        errors = caught.errors
    assert [f"{e.code}@{e.span.line}:{e.span.col}" for e in errors] == expected


def test_check_files_reports_syntax_and_check_errors_of_every_file_together(schema: StaticSchema) -> None:
    sources = {
        "deals.craft": 'automation "a" when Deal created\n  stop\nend\n'
                       'automation "b" when Deal created do\n  set ammount = 1\nend',
        "leads.craft": 'automation "b" when Lead created do\n  start process "P"\nend',
        "processes.craft": 'process "P" for Lead\n  stop\nend',
    }

    errors = check_files(sources, schema)

    assert [(e.span.file, e.span.line, e.code) for e in errors] == [
        ("deals.craft", 2, "E_SYNTAX"), ("deals.craft", 5, "E_UNKNOWN_FIELD"),
        ("leads.craft", 1, "E_DUPLICATE_NAME")]
    assert errors[-1].hint == "the first is on deals.craft:4"
