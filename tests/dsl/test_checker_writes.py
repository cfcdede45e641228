"""What steps may write: fields of records only, never the clock, old/form/payload values, bindings
themselves, fields the platform keeps, users or sent messages.

Codes for the targets the compiler also refuses are the compiler's own, so a program gets the same code
whichever of the two sees it first.
"""

from __future__ import annotations

import pytest

from dsl.checker import check_program
from dsl.parser import parse
from dsl.schema import FieldInfo, StaticSchema
from tests.dsl.test_checker_gaps import _codes, _errors


# ------------------------------------------------------------------ writes to what is not a field
@pytest.mark.parametrize("body", [
    "  set now = 2", "  set today = 2", "  update now with title = 1",
    '  assign today round robin from group "sales"', "  set amount = 1, now = 2",
])
def test_writing_the_clock_is_a_coded_error(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body) == ["E_TYPE_MISMATCH"]


@pytest.mark.parametrize("body", ['  notify now "x"', '  create task "t" for today due in 1 day'])
def test_the_clock_is_not_a_user(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body) == ["E_NOT_A_USER"]


@pytest.mark.parametrize("body", [
    "  set old.amount = 1", '  update old.contact with name = "x"',
    '  assign old.owner round robin from group "sales"',
])
def test_old_values_cannot_be_written(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body) == ["E_TYPE_MISMATCH"]


def test_writing_an_old_value_is_refused_once_outside_update_triggers(schema: StaticSchema) -> None:
    assert _codes(schema, "  set old.amount = 1", "Deal created") == ["E_TYPE_MISMATCH"]


def test_old_values_can_still_be_read_in_update_triggers(schema: StaticSchema) -> None:
    assert _codes(schema, "  set amount = old.amount\n  update contact with name = old.contact.name") == []


def test_the_refusal_says_why_old_cannot_be_written(schema: StaticSchema) -> None:
    [error] = _errors(schema, "  set old.amount = 1")

    assert (error.span.line, error.span.col) == (2, 7) and "before the change" in (error.hint or "")


@pytest.mark.parametrize("body, trigger", [
    ("  set form.full_name = 1", "form website submitted"),
    ("  set payload.x = 1", "webhook shop received"),
])
def test_form_and_payload_values_cannot_be_written(schema: StaticSchema, body: str, trigger: str) -> None:
    assert _codes(schema, body, trigger) == ["E_TYPE_MISMATCH"]


def test_a_bound_record_itself_cannot_be_set(schema: StaticSchema) -> None:
    assert _codes(schema, '  create Lead with name = "x" as lead\n  set lead = 1') == ["E_TYPE_MISMATCH"]


def test_a_field_of_a_bound_record_can_be_set(schema: StaticSchema) -> None:
    assert _codes(schema, '  create Lead with name = "x" as lead\n  set lead.score = 1') == []


@pytest.mark.parametrize("body", [
    '  call webhook "u" as reply\n  set reply.x = 1',
    '  call webhook "u" as reply\n  update reply with x = 1',
])
def test_a_binding_that_is_not_a_record_cannot_be_written(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body) == ["E_TYPE_MISMATCH"]


@pytest.mark.parametrize("body", [
    '  create Lead with contact.name = "x"', '  create Lead with now = 1',
    '  update contact with company.name = "x"', '  create Lead with form.full_name = "x"',
])
def test_with_lists_name_plain_fields(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body) == ["E_UNKNOWN_FIELD"]


@pytest.mark.parametrize("body", [
    "  set id = 1", "  set created_at = now", "  set version = 2", '  set stage = "won"',
    "  set stage_entered_at = now", '  update contact with created_by = owner',
    '  create Lead with updated_at = now', '  assign created_by round robin from group "sales"',
])
def test_fields_the_platform_maintains_are_read_only(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body) == ["E_READ_ONLY"]


def test_setting_the_stage_points_to_move(schema: StaticSchema) -> None:
    [error] = _errors(schema, '  set stage = "won"')

    assert "move to stage" in (error.hint or "")


def test_formula_and_rollup_fields_are_read_only() -> None:
    schema = StaticSchema({"Deal": {"total": _info("total", "formula", "money"),
                                    "count": _info("count", "rollup", "integer")}})

    text = 'automation "a" when Deal created do\n  set total = 1\n  set count = 2\nend'

    assert [e.code for e in check_program(parse(text), schema)] == ["E_READ_ONLY", "E_READ_ONLY"]


def _info(name: str, kind: str, returns: str) -> FieldInfo:
    return FieldInfo(name, kind, returns=returns)


def test_a_plain_field_of_a_user_subject_is_not_a_user(schema: StaticSchema) -> None:
    assert _codes(schema, '  notify name "x"', "manual for User") == ["E_NOT_A_USER"]


def test_a_bound_user_record_is_a_user_though_creating_it_is_refused(schema: StaticSchema) -> None:
    body = '  create User with name = "x" as someone\n  notify someone "hi"'

    assert _codes(schema, body) == ["E_READ_ONLY"]


def test_owner_and_declared_fields_stay_writable(schema: StaticSchema) -> None:
    assert _codes(schema, '  set owner = created_by, title = "x"\n  update contact with name = title') == []


@pytest.mark.parametrize("body", [
    "  set amount = 1, amount = 2", '  create Lead with name = "a", name = "b"',
    '  update contact with name = "a", name = "b"',
])
def test_one_step_sets_a_field_once(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body) == ["E_DUPLICATE_NAME"]


def test_different_records_may_set_fields_of_the_same_name(schema: StaticSchema) -> None:
    assert _codes(schema, '  set title = "a", contact.name = "b", owner = created_by') == []


@pytest.mark.parametrize("body", [
    '  create Deal with title = "x", stage = "won" as deal', '  update contact with name = "x"',
    '  create Lead with stage = "new" as lead\n  set lead.stage = "contacted"',
])
def test_other_records_may_be_given_a_stage(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body) == []


@pytest.mark.parametrize("body", [
    '  create Deal with stage = "wonn"', '  create Lead as lead\n  set lead.stage = "won"'])
def test_a_stage_given_to_another_record_must_exist(schema: StaticSchema, body: str) -> None:
    assert _codes(schema, body) == ["E_UNKNOWN_STAGE"]


@pytest.mark.parametrize("body, trigger", [
    ('  create User with email = payload.email, role = "admin"', "webhook shop received"),
    ('  update owner with role = "admin"', "Deal updated"), ('  set owner.name = "x"', "Deal updated"),
    ('  assign created_by round robin from group "sales"', "manual for User"),
])
def test_users_and_sent_messages_are_not_written_by_automations(schema: StaticSchema, body: str,
                                                                trigger: str) -> None:
    assert _codes(schema, body, trigger) == ["E_READ_ONLY"]


def test_sent_messages_are_not_created_by_hand() -> None:
    schema = StaticSchema({"Message": {"to": FieldInfo("to", "string")}, "Deal": {}})
    text = 'automation "a" when Deal created do\n  create Message with to = "x"\nend'

    assert [e.code for e in check_program(parse(text), schema)] == ["E_READ_ONLY"]


def test_tasks_may_be_created_and_updated(schema: StaticSchema) -> None:
    body = ('  create task "t" for owner due in 1 day as job\n  update job with title = "x"\n'
            '  set job.status = "done"')

    assert _codes(schema, body) == []


@pytest.mark.parametrize("name", ["total", "count"])
def test_a_changed_trigger_on_a_computed_field_is_refused(name: str) -> None:
    schema = StaticSchema({"Deal": {"total": _info("total", "formula", "money"),
                                    "count": _info("count", "rollup", "integer")}})
    text = f'automation "a" when Deal.{name} changed do\n  stop\nend'

    assert [e.code for e in check_program(parse(text), schema)] == ["E_COMPUTED_CHANGED"]
