"""Specification of simulation scenarios (spec/cli.md): parsing, places of problems, expectations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from textwrap import dedent

import pytest

from workflow.errors import WorkflowError
from workflow.scenario import (
    Advance,
    Alias,
    CompleteTask,
    Create,
    Decide,
    Delete,
    Expect,
    ExpectStep,
    Facts,
    MessageExpect,
    Move,
    NotificationExpect,
    Run,
    Scenario,
    ScenarioInvalid,
    Submit,
    TaskExpect,
    Update,
    Webhook,
    check_expectation,
    load_scenario,
    parse_duration,
    parse_scenario,
)
from workflow.scenario_expect import same_value

SPEC_EXAMPLE = """\
workspace: sim
start: "2026-03-02T09:00:00Z"
steps:
  - create: Contact
    as: ann
    values: {name: Ann, email: ann@example.com, phone: "+10000000001"}
  - create: Order
    as: o1
    values: {title: "Order 1", amount: 120, contact: ann}
  - move: o1
    to: awaiting_payment
  - advance: 2 days
  - expect: {messages: 1}            # the intake email only
  - advance: 1 day 1 minute
  - expect: {messages: 2, last_message: {channel: sms, to: "+10000000001"}}
  - update: o1
    values: {paid: true}
"""

HEAD = 'start: "2026-03-02T09:00:00Z"\nsteps:\n  - create: Contact\n    as: ann\n'


def parse(text: str) -> Scenario:
    return parse_scenario(dedent(text), "s.yaml")


def problems(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(ScenarioInvalid) as caught:
        parse(text)
    return [(p.line, p.col, p.message) for p in caught.value.problems]


def only_problem(text: str) -> tuple[int, int, str]:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# ---- parsing ------------------------------------------------------------------------------------
def test_spec_example_parses_to_the_right_steps() -> None:
    scenario = parse(SPEC_EXAMPLE)
    assert scenario.workspace == "sim"
    assert scenario.start == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert scenario.steps == (
        Create(entity="Contact", alias="ann",
               values={"name": "Ann", "email": "ann@example.com", "phone": "+10000000001"}),
        Create(entity="Order", alias="o1",
               values={"title": "Order 1", "amount": 120, "contact": Alias("ann")}),
        Move(alias="o1", stage="awaiting_payment"),
        Advance(delta=timedelta(days=2)),
        ExpectStep(expect=Expect(messages=1)),
        Advance(delta=timedelta(days=1, minutes=1)),
        ExpectStep(expect=Expect(messages=2, last_message=MessageExpect(channel="sms", to="+10000000001"))),
        Update(alias="o1", values={"paid": True}),
    )


def test_alias_value_becomes_an_alias_marker() -> None:
    contact = parse(SPEC_EXAMPLE).steps[1]
    assert isinstance(contact, Create)
    assert type(contact.values["contact"]) is Alias
    assert contact.values["contact"].name == "ann"


def test_steps_remember_their_line() -> None:
    assert [step.line for step in parse(SPEC_EXAMPLE).steps] == [4, 7, 10, 12, 13, 14, 15, 16]


def test_workspace_defaults_to_sim() -> None:
    assert parse('start: "2026-03-02T09:00:00Z"').workspace == "sim"


def test_start_with_an_offset_is_read_as_utc() -> None:
    assert parse('start: "2026-03-02T10:00:00+01:00"').start == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_unquoted_start_is_read_as_written() -> None:
    assert parse("start: 2026-03-02T09:00:00Z").start == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_time_zone_is_kept() -> None:
    assert parse('start: "2026-03-02T09:00:00Z"\ntime_zone: Europe/Berlin').time_zone == "Europe/Berlin"


def test_every_step_kind_parses() -> None:
    scenario = parse(HEAD + """\
  - move: ann
    to: won
    pipeline: sales
  - submit: website
    values: {full_name: Bob}
  - webhook: shop
    payload: {order: 7}
  - run: "Send welcome"
    on: ann
  - complete_task: call ann
  - decide: Confirm delivery
    option: delivered
  - delete: ann
""")
    assert scenario.steps[1:] == (
        Move(alias="ann", stage="won", pipeline="sales"),
        Submit(form="website", values={"full_name": "Bob"}),
        Webhook(name="shop", payload={"order": 7}),
        Run(automation="Send welcome", alias="ann"),
        CompleteTask(title="call ann"),
        Decide(title="Confirm delivery", option="delivered"),
        Delete(alias="ann"),
    )


def test_expect_with_every_key_parses() -> None:
    step = parse(HEAD + """\
  - expect:
      messages: 1
      last_message: {channel: email, to: ann@example.com, subject: Hi, body_contains: order}
      tasks: 2
      open_tasks: 1
      last_task: {title: Call, assignee: bob@example.com, status: open}
      notifications: 3
      last_notification: {to: bob@example.com, text_contains: New order}
      record: {ann: {stage: won, friend: ann}}
      instances: {failed: 0, done: 2}
      errors: 0
""").steps[1]
    assert step == ExpectStep(expect=Expect(
        messages=1, tasks=2, open_tasks=1, notifications=3, errors=0,
        last_message=MessageExpect(channel="email", to="ann@example.com", subject="Hi",
                                   body_contains="order"),
        last_task=TaskExpect(title="Call", assignee="bob@example.com", status="open"),
        last_notification=NotificationExpect(to="bob@example.com", text_contains="New order"),
        records={"ann": {"stage": "won", "friend": Alias("ann")}}, instances={"failed": 0, "done": 2}))


@pytest.mark.parametrize(("text", "delta"), [
    ("2 days", timedelta(days=2)),
    ("1 day 1 minute", timedelta(days=1, minutes=1)),
    ("3 hours 30 minutes", timedelta(hours=3, minutes=30)),
    ("90 seconds", timedelta(seconds=90)),
    ("1 week", timedelta(weeks=1)),
    ("1 hour, 2 minutes and 3 seconds", timedelta(hours=1, minutes=2, seconds=3)),
])
def test_durations_read_as_written(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


# ---- problems and their places ------------------------------------------------------------------
def test_unknown_step_kind_is_reported_with_a_suggestion() -> None:
    line, col, message = only_problem(HEAD + "  - creat: Order\n")
    assert (line, col) == (5, 5)
    assert 'unknown step kind "creat"' in message and 'did you mean "create"' in message


def test_two_kinds_in_one_step_are_reported_at_the_second() -> None:
    line, col, message = only_problem(HEAD + "  - move: ann\n    delete: ann\n")
    assert (line, col) == (6, 5)
    assert "exactly one kind" in message


def test_bad_duration_is_reported_at_its_value() -> None:
    line, col, message = only_problem(HEAD + "  - advance: 2 dayz\n")
    assert (line, col) == (5, 14)
    assert 'unknown time unit "dayz"' in message and 'did you mean "days"' in message


def test_duration_without_unit_is_reported() -> None:
    line, col, message = only_problem(HEAD + "  - advance: 90\n")
    assert (line, col) == (5, 14)
    assert "needs a unit" in message


def test_missing_start_is_reported() -> None:
    line, col, message = only_problem("workspace: sim\nsteps: []\n")
    assert (line, col) == (1, 1)
    assert 'needs "start"' in message


def test_start_without_time_zone_is_reported_at_its_value() -> None:
    line, col, message = only_problem('workspace: sim\nstart: "2026-03-02T09:00:00"\n')
    assert (line, col) == (2, 8)
    assert "no time zone" in message


def test_start_that_is_no_date_is_reported_at_its_value() -> None:
    line, col, message = only_problem("start: next monday\n")
    assert (line, col) == (1, 8)
    assert "not an ISO date-time" in message


def test_expect_with_unknown_key_is_reported_with_a_suggestion() -> None:
    line, col, message = only_problem(HEAD + "  - expect: {mesages: 1}\n")
    assert (line, col) == (5, 14)
    assert 'unknown key "mesages"' in message and 'did you mean "messages"' in message


def test_unknown_key_inside_last_message_is_reported() -> None:
    line, col, message = only_problem(HEAD + "  - expect: {last_message: {chanel: sms}}\n")
    assert (line, col) == (5, 29)
    assert 'did you mean "channel"' in message


def test_values_that_are_not_a_mapping_are_reported_at_the_value() -> None:
    line, col, message = only_problem(HEAD + "  - update: ann\n    values: [paid]\n")
    assert (line, col) == (6, 13)
    assert '"values" must be a mapping' in message


def test_update_takes_no_alias() -> None:
    line, col, message = only_problem(HEAD + "  - update: ann\n    as: bob\n    values: {paid: true}\n")
    assert (line, col) == (6, 5)
    assert 'takes no "as"' in message


def test_unknown_key_of_a_step_is_reported_with_a_suggestion() -> None:
    found = problems(HEAD + "  - move: ann\n    too: won\n")
    assert (6, 5, '"move" takes no "too" — did you mean "to"? (it takes to, pipeline)') in found


def test_alias_never_bound_is_reported() -> None:
    line, col, message = only_problem(HEAD + "  - move: an\n    to: won\n")
    assert (line, col) == (5, 11)
    assert 'no record is called "an"' in message and 'did you mean "ann"' in message


def test_unknown_top_level_key_is_reported_with_a_suggestion() -> None:
    line, col, message = only_problem('start: "2026-03-02T09:00:00Z"\ntimezone: UTC\n')
    assert (line, col) == (2, 1)
    assert 'did you mean "time_zone"' in message


def test_unknown_time_zone_is_reported_at_its_value() -> None:
    line, col, message = only_problem('start: "2026-03-02T09:00:00Z"\ntime_zone: Mars/Base\n')
    assert (line, col) == (2, 12)
    assert 'unknown time zone "Mars/Base"' in message


def test_yaml_syntax_error_names_its_place() -> None:
    line, _, message = only_problem('start: "2026-03-02T09:00:00Z"\nsteps:\n  - create: [Contact\n')
    assert line >= 3 and "YAML" in message


def test_every_problem_is_reported_at_once() -> None:
    found = problems("steps:\n  - creat: X\n  - advance: soon\n  - expect: {mesages: 1}\n")
    assert [line for line, _, _ in found] == [1, 2, 3, 4]


def test_each_problem_is_one_line_with_place_and_code() -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        parse_scenario("steps:\n  - creat: X\n", "orders.yaml")
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("orders.yaml:1:1 WF_BAD_SCENARIO ")
    assert lines[1].startswith("orders.yaml:2:5 WF_BAD_SCENARIO ")


def test_scenario_invalid_is_a_typed_workflow_error() -> None:
    with pytest.raises(WorkflowError) as caught:
        parse("steps: []\n")
    assert caught.value.code == "WF_BAD_SCENARIO"


def test_scenario_file_is_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text(SPEC_EXAMPLE, encoding="utf-8")
    assert load_scenario(path).file == str(path)


def test_missing_file_is_a_scenario_problem(tmp_path: Path) -> None:
    with pytest.raises(ScenarioInvalid) as caught:
        load_scenario(tmp_path / "missing.yaml")
    assert "cannot read the file" in caught.value.problems[0].message


# ---- expectations -------------------------------------------------------------------------------
EMAIL = {"channel": "email", "to": "ann@example.com", "subject": "Order 1 accepted", "body": "We got it."}
SMS = {"channel": "sms", "to": "+10000000001", "subject": None, "body": "Please pay order 1"}
TASK = {"title": "Call Ann about order Order 1", "assignee": "bob@example.com", "status": "open"}


def test_expectations_that_hold_give_no_lines() -> None:
    facts = Facts(messages=[EMAIL, SMS], tasks=[TASK], notifications=[{"to": "bob", "text": "New order 1"}],
                  records={"o1": {"stage": "won"}}, instances=[{"status": "done"}], errors=[])
    sms = MessageExpect(channel="SMS", to="+10000000001", body_contains="pay")
    expect = Expect(messages=2, last_message=sms,
                    tasks=1, open_tasks=1, last_task=TaskExpect(title="call ann", assignee="Bob@example.com"),
                    notifications=1, last_notification=NotificationExpect(text_contains="order 1"),
                    records={"o1": {"stage": "won"}}, instances={"done": 1, "failed": 0}, errors=0)
    assert check_expectation(expect, facts) == []


def test_message_count_mismatch_lists_what_was_sent() -> None:
    assert check_expectation(Expect(messages=2), Facts(messages=[EMAIL])) == [
        'expected 2 messages, found 1 (sent: email to ann@example.com "Order 1 accepted")']


def test_message_count_mismatch_says_when_nothing_was_sent() -> None:
    assert check_expectation(Expect(messages=1), Facts()) == ["expected 1 message, found 0 (sent: none)"]


def test_last_message_mismatch_names_the_item() -> None:
    lines = check_expectation(Expect(last_message=MessageExpect(channel="sms")), Facts(messages=[EMAIL]))
    assert lines == ['last message: expected channel "sms", found "email" '
                     '(email to ann@example.com "Order 1 accepted")']


def test_last_message_when_none_was_sent() -> None:
    assert check_expectation(Expect(last_message=MessageExpect(channel="sms")), Facts()) == [
        "expected a last message, but there is none"]


def test_open_task_count_counts_only_open_tasks() -> None:
    done = {**TASK, "status": "done"}
    assert check_expectation(Expect(open_tasks=0), Facts(tasks=[done])) == []
    assert check_expectation(Expect(open_tasks=0), Facts(tasks=[TASK]))[0].startswith(
        "expected 0 open tasks, found 1")


def test_last_task_assignee_mismatch() -> None:
    lines = check_expectation(Expect(last_task=TaskExpect(assignee="eve@example.com")), Facts(tasks=[TASK]))
    assert len(lines) == 1 and 'expected assignee "eve@example.com", found "bob@example.com"' in lines[0]


def test_last_notification_text_mismatch() -> None:
    facts = Facts(notifications=[{"to": "bob@example.com", "text": "Deal X"}])
    lines = check_expectation(Expect(last_notification=NotificationExpect(text_contains="Order")), facts)
    assert len(lines) == 1 and lines[0].startswith("last notification: expected text contains")


def test_record_values_compare_with_light_coercion() -> None:
    facts = Facts(records={"o1": {"amount": Decimal("120.50"), "due": date(2026, 3, 5), "paid": True,
                                  "at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "code": "7"}})
    expect = Expect(records={"o1": {"amount": "120.5", "due": "2026-03-05", "paid": "true",
                                    "at": "2026-03-02T10:00:00+01:00", "code": 7}})
    assert check_expectation(expect, facts) == []


def test_record_value_mismatch_shows_both_values() -> None:
    facts = Facts(records={"o1": {"stage": "lost"}})
    assert check_expectation(Expect(records={"o1": {"stage": "won"}}), facts) == [
        'record o1: expected stage = "won", found "lost"']


def test_record_reference_compares_with_the_alias_id() -> None:
    facts = Facts(records={"o1": {"contact": 7}}, ids={"ann": 7, "bob": 8})
    assert check_expectation(Expect(records={"o1": {"contact": Alias("ann")}}), facts) == []
    assert len(check_expectation(Expect(records={"o1": {"contact": Alias("bob")}}), facts)) == 1


def test_record_field_that_does_not_exist_is_reported() -> None:
    assert check_expectation(Expect(records={"o1": {"colour": "red"}}), Facts(records={"o1": {}})) == [
        'record o1: has no field "colour"']


def test_instances_count_by_status() -> None:
    facts = Facts(instances=[{"status": "failed"}, {"status": "done"}])
    assert check_expectation(Expect(instances={"failed": 0}), facts) == ["expected 0 failed runs, found 1"]


def test_error_count_lists_the_errors() -> None:
    lines = check_expectation(Expect(errors=0), Facts(errors=["WF_WEBHOOK_FAILED shop answered 500"]))
    assert lines == ["expected 0 errors, found 1 (errors: WF_WEBHOOK_FAILED shop answered 500)"]


def test_an_alias_named_like_a_value_still_matches_that_value() -> None:
    ids = {"draft": 7}

    assert same_value(Alias("draft"), "draft", ids)
    assert same_value(Alias("draft"), 7, ids)
    assert not same_value(Alias("draft"), "signed", ids)


def test_last_task_due_is_compared_as_a_moment() -> None:
    due = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    facts = Facts(tasks=[{"title": "Call Ann", "assignee": None, "status": "open", "due_at": due}])

    assert check_expectation(Expect(last_task=TaskExpect(due="2026-03-02T10:00:00Z")), facts) == []
    [mismatch] = check_expectation(Expect(last_task=TaskExpect(due="2026-03-02T11:00:00Z")), facts)
    assert "expected due" in mismatch
