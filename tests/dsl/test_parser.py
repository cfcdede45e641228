"""The parser: every spec example parses, the AST has the right shape and places, keywords stay names."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl import ast as a
from dsl.errors import CraftErrors
from dsl.parser import parse, parse_expression

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.craft"))
HEAD = 'automation "a" when Deal created do\n'


def _steps(body: str) -> tuple[a.Step, ...]:
    return parse(HEAD + body + "\nend").automations[0].body


def _trigger(text: str) -> a.Trigger:
    return parse(f'automation "a" when {text} do stop end').automations[0].trigger


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_every_spec_example_parses(path: Path) -> None:
    program = parse(path.read_text(encoding="utf-8"), path.name)

    assert program.items


def test_spec_examples_have_all_their_automations_and_processes() -> None:
    spec = [path for path in GOLDEN if path.name.startswith("spec_")]
    names = [item.name.value for path in spec for item in parse(path.read_text(), path.name).items]

    assert "New order intake" in names and "Repeat sale in 3 months" in names and "Delivery" in names
    assert len(names) == 11


def test_nodes_carry_file_line_and_column() -> None:
    program = parse(HEAD + "  move to stage won\nend", "deals.craft")
    step = program.automations[0].body[0]

    assert isinstance(step, a.MoveStep)
    assert (step.span.file, step.span.line, step.span.col) == ("deals.craft", 2, 3)
    assert (step.stage.span.line, step.stage.span.col, step.stage.span.end_col) == (2, 17, 20)


def test_equality_ignores_spans() -> None:
    assert parse(HEAD + "stop\nend") == parse("\n\n" + HEAD + "     stop end")


@pytest.mark.parametrize("text, expected", [
    ("Deal created", a.RecordTrigger(a.Ident("Deal"), "created")),
    ("Deal deleted", a.RecordTrigger(a.Ident("Deal"), "deleted")),
    ("Deal.a, Deal.b changed", a.ChangedTrigger((a.FieldRef(a.Ident("Deal"), a.Ident("a")),
                                                 a.FieldRef(a.Ident("Deal"), a.Ident("b"))))),
    ("Deal left stage won in pipeline sales",
     a.StageTrigger(a.Ident("Deal"), "left", a.Ident("won"), a.Ident("sales"))),
    ("Lead stays in stage new for 2 hours",
     a.StayTrigger(a.Ident("Lead"), a.Ident("new"), None, a.Duration(2, "hours"))),
    ("1 week after Contract.signed_on",
     a.DateTrigger(a.Duration(1, "weeks"), "after", a.FieldRef(a.Ident("Contract"), a.Ident("signed_on")))),
    ('every weekday at 7:30 in "Europe/Berlin" for Deal',
     a.ScheduleTrigger("weekday", 7, 30, a.StringLit("Europe/Berlin"), a.Ident("Deal"))),
    ("every sunday at 23:59 for Deal", a.ScheduleTrigger("sunday", 23, 59, None, a.Ident("Deal"))),
    ("form website submitted", a.FormTrigger(a.Ident("website"))),
    ("webhook shop received", a.WebhookTrigger(a.Ident("shop"))),
    ("manual for Deal", a.ManualTrigger(a.Ident("Deal"))),
])
def test_every_trigger_kind_parses(text: str, expected: a.Trigger) -> None:
    assert _trigger(text) == expected


def test_where_condition_is_kept() -> None:
    automation = parse('automation "a" when Deal updated where amount > 1 do stop end').automations[0]

    assert automation.condition == a.Binary(">", a.Path("record", (a.Ident("amount"),)), a.Number(1))


def test_every_step_kind_parses() -> None:
    body = """
      set amount = 1, lead.status = "x"
      move to stage won in pipeline sales
      create Lead with name = "n" as lead
      create Note
      create task "Call" for lead.owner due in 1 hour as call
      update contact with name = "n"
      add tag "vip"
      remove tag "vip"
      notify owner "hi"
      notify group "heads" "hi"
      send email to contact.email subject "s" body "b"
      send whatsapp to contact.phone text "t"
      call webhook "https://x/{id}" method POST with {id: id, "full name": name} as reply
      call webhook "https://x"
      wait 2 days
      wait until paid for at most 3 days
      wait until paid
      wait 1 day until paid
      assign owner least busy from group "sales"
      start process "Delivery"
      stop
    """
    kinds = [type(step).__name__ for step in _steps(body)]

    assert kinds == ["SetStep", "MoveStep", "CreateStep", "CreateStep", "CreateTaskStep", "UpdateStep",
                     "TagStep", "TagStep", "NotifyStep", "NotifyStep", "EmailStep", "MessageStep",
                     "WebhookStep", "WebhookStep", "WaitStep", "WaitUntilStep", "WaitUntilStep", "WaitStep",
                     "AssignStep", "StartProcessStep", "StopStep"]


def test_webhook_body_keeps_its_entries() -> None:
    step = _steps('call webhook "u" method POST with {id: id, "full name": name} as reply')[0]

    assert isinstance(step, a.WebhookStep)
    assert [e.key for e in step.body or ()] == ["id", "full name"]
    assert step.method == a.Ident("POST") and step.binding == a.Ident("reply")


def test_else_if_chain_is_one_if_with_branches() -> None:
    step = _steps("if a then stop else if b then stop else if c then stop else move to stage x end")[0]

    assert isinstance(step, a.IfStep)
    assert len(step.branches) == 3 and step.otherwise is not None


def test_else_then_if_on_the_next_line_is_a_nested_if() -> None:
    step = _steps("if a then stop else\n if b then stop end end")[0]

    assert isinstance(step, a.IfStep)
    assert len(step.branches) == 1 and isinstance((step.otherwise or ())[0], a.IfStep)


def test_process_steps_parse() -> None:
    process = parse('process "P" for Deal\n task "T" for owner due in 1 day remind every 4 hours as t\n'
                    ' approval "A" by group "heads" options "yes", no as choice\nend').processes[0]

    task, approval = process.body
    assert isinstance(task, a.TaskStep) and task.remind == a.Duration(4, "hours")
    assert isinstance(approval, a.ApprovalStep) and approval.options == ("yes", "no")


@pytest.mark.parametrize("field", ["stage", "owner", "status", "name", "text", "days", "end", "form", "old"])
def test_keywords_stay_usable_as_field_names(field: str) -> None:
    steps = _steps(f'set {field} = {field}\nif {field} == contact.{field} then stop end')

    assignment = steps[0].assignments[0]  # type: ignore[union-attr]
    assert assignment.target == a.Path("record", (a.Ident(field),))


@pytest.mark.parametrize("text, expected", [
    ("old.amount", a.Path("old", (a.Ident("amount"),))),
    ("form.full_name", a.Path("form", (a.Ident("full_name"),))),
    ("payload.order.id", a.Path("payload", (a.Ident("order"), a.Ident("id")))),
    ("now", a.Clock("now")),
    ("today", a.Clock("today")),
    ("changed(amount)", a.Call(a.Ident("changed"), (a.Path("record", (a.Ident("amount"),)),))),
    ('date("2026-12-31")', a.Call(a.Ident("date"), (a.StringLit("2026-12-31"),))),
    ("[1, 2.5, null, true, false]", a.ListLit((a.Number(1), a.Number(2.5), a.Null(), a.Bool(True),
                                              a.Bool(False)))),
    ("30 minutes", a.Duration(30, "minutes")),
    ("1 second", a.Duration(1, "seconds")),
])
def test_atoms_parse(text: str, expected: a.Expr) -> None:
    assert parse_expression(text) == expected


def _shape(expr: a.Expr) -> str:
    """A fully bracketed rendering, to read precedence off."""
    match expr:
        case a.Binary(op, left, right):
            return f"({_shape(left)} {op} {_shape(right)})"
        case a.Unary(op, operand):
            return f"({op} {_shape(operand)})"
        case a.IsEmpty(operand, negated):
            return f"({_shape(operand)} is {'not ' if negated else ''}empty)"
        case a.Path():
            return expr.dotted
        case a.Number(value):
            return str(value)
        case a.Duration(amount, unit):
            return f"{amount} {unit}"
        case _:
            return type(expr).__name__


@pytest.mark.parametrize("text, shape", [
    ("a or b and c", "(a or (b and c))"),
    ("not a and b", "((not a) and b)"),
    ("not a == b", "(not (a == b))"),
    ("a + b * c", "(a + (b * c))"),
    ("a - b - c", "((a - b) - c)"),
    ("-a * b", "((- a) * b)"),
    ("a + 1 > b % 2", "((a + 1) > (b % 2))"),
    ("a in [1] or b not in [2]", "((a in ListLit) or (b not in ListLit))"),
    ("tags contains x and name is not empty", "((tags contains x) and (name is not empty))"),
    ("now - created_at > 2 days", "((Clock - created_at) > 2 days)"),
    ("(a or b) and c", "((a or b) and c)"),
])
def test_operator_precedence(text: str, shape: str) -> None:
    assert _shape(parse_expression(text)) == shape


def test_comparisons_do_not_chain() -> None:
    with pytest.raises(CraftErrors):
        parse_expression("1 < a < 3")


def test_comments_are_ignored() -> None:
    program = parse("# header\n" + HEAD + "  stop # done\n  # nothing\nend # bye\n")

    assert len(program.automations[0].body) == 1


def test_an_empty_file_is_an_empty_program() -> None:
    assert parse("  # only a comment\n").items == ()


def test_windows_line_endings_parse_the_same() -> None:
    text = '# c\nautomation "a"\nwhen Deal created\ndo\n  notify owner "x"  # t\nend\n'

    assert parse(text.replace("\n", "\r\n")) == parse(text)
