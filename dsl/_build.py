"""Rule callbacks that turn the parse tree into :mod:`dsl.ast` nodes.

Kept free of lark on purpose: :mod:`dsl.parser` mixes this class into a lark ``Transformer`` (the only
place lark is imported), so the tree type never leaks and this module stays testable on its own.
Each method receives the rule's position (``meta``) and its already-converted children; optional
parts arrive as ``None`` (the grammar's ``[x]``).  Problems found while converting (a bad escape,
a bad placeholder, a 25:00 time) are collected in ``errors`` instead of raised, so one parse
reports them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from dsl import ast as a
from dsl.errors import CraftError
from dsl.strings import decode_plain, decode_text, make_path

_MAX_DIGITS = 18


class Located(Protocol):
    """What a lark ``Meta`` or ``Token`` offers: a start and an end (``end_column`` is exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int


def _plural(word: str) -> a.DurationUnit:
    unit = word if word.endswith("s") else word + "s"
    assert unit in a.UNIT_SECONDS
    return unit  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class _Else:
    """An ``else`` block on its way into :class:`~dsl.ast.IfStep` (which keeps where "else" stood)."""

    body: tuple[a.Step, ...]
    span: a.Span


def _binary_as(op: a.BinaryOp) -> Any:
    """A callback for a rule whose operator is implied by the rule (``a and b``, ``x in xs``)."""
    def build(self: AstBuilder, meta: Located, ch: list[Any]) -> a.Binary:
        return a.Binary(op, ch[0], ch[-1], self.span(meta))
    return build


class AstBuilder:
    """Builds nodes for one chunk of a file whose first line is ``line_offset + 1``."""

    def __init__(self, file: str, line_offset: int = 0) -> None:
        self.file = file
        self.line_offset = line_offset
        self.errors: list[CraftError] = []

    def span(self, loc: Located) -> a.Span:
        """The span of a token or rule, or of the chunk start for an empty rule (which has no position)."""
        if not hasattr(loc, "line") or getattr(loc, "empty", False):
            return a.Span(self.file, self.line_offset + 1, 1, self.line_offset + 1, 1)
        return a.Span(self.file, loc.line + self.line_offset, loc.column,
                      loc.end_line + self.line_offset, loc.end_column)

    def text(self, token: Any) -> a.Text:
        return decode_text(str(token), self.span(token), self.errors)

    def plain(self, token: Any) -> a.StringLit:
        return decode_plain(str(token), self.span(token), self.errors)

    def _number(self, token: Any) -> int | float:
        digits = str(token)
        if any(len(part) > _MAX_DIGITS for part in digits.split(".")):
            self.errors.append(CraftError("E_BAD_NUMBER", f"the number {digits[:20]}… is too long",
                                          self.span(token)))
            return 0
        return float(digits) if "." in digits else int(digits)

    # ------------------------------------------------------------------ program
    def start(self, meta: Located, ch: list[Any]) -> tuple[a.Automation | a.Process, ...]:
        return tuple(ch)

    def expression(self, meta: Located, ch: list[Any]) -> a.Expr:
        return ch[0]  # type: ignore[no-any-return]

    def automation(self, meta: Located, ch: list[Any]) -> a.Automation:
        return a.Automation(self.plain(ch[0]), ch[1], ch[2], ch[3], self.span(meta))

    def process(self, meta: Located, ch: list[Any]) -> a.Process:
        return a.Process(self.plain(ch[0]), ch[1], ch[2], self.span(meta))

    def body(self, meta: Located, ch: list[Any]) -> tuple[a.Step, ...]:
        return tuple(ch)

    def where(self, meta: Located, ch: list[Any]) -> a.Expr:
        return ch[0]  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ words kept as strings
    def _word(self, meta: Located, ch: list[Any]) -> str:
        return str(ch[0])

    record_event = stage_event = date_side = day_spec = tag_action = channel = _word
    comp_op = add_op = mul_op = _word

    def unit(self, meta: Located, ch: list[Any]) -> a.DurationUnit:
        return _plural(str(ch[0]))

    def round_robin(self, meta: Located, ch: list[Any]) -> str:
        return "round robin"

    def least_busy(self, meta: Located, ch: list[Any]) -> str:
        return "least busy"

    def _first(self, meta: Located, ch: list[Any]) -> Any:
        return ch[0]

    pipeline = binding = http_method = remind = _first

    # ------------------------------------------------------------------ triggers
    def record_trigger(self, meta: Located, ch: list[Any]) -> a.RecordTrigger:
        return a.RecordTrigger(ch[0], ch[1], self.span(meta))

    def field_ref(self, meta: Located, ch: list[Any]) -> a.FieldRef:
        return a.FieldRef(ch[0], ch[1], self.span(meta))

    def changed_trigger(self, meta: Located, ch: list[Any]) -> a.ChangedTrigger:
        return a.ChangedTrigger(tuple(ch), self.span(meta))

    def stage_trigger(self, meta: Located, ch: list[Any]) -> a.StageTrigger:
        return a.StageTrigger(ch[0], ch[1], ch[2], ch[3], self.span(meta))

    def stay_trigger(self, meta: Located, ch: list[Any]) -> a.StayTrigger:
        return a.StayTrigger(ch[0], ch[1], ch[2], ch[3], self.span(meta))

    def date_trigger(self, meta: Located, ch: list[Any]) -> a.DateTrigger:
        return a.DateTrigger(ch[0], ch[1], ch[2], self.span(meta))

    def schedule_trigger(self, meta: Located, ch: list[Any]) -> a.ScheduleTrigger:
        hour, minute = (int(x) for x in str(ch[1]).split(":"))
        if hour > 23 or minute > 59:
            self.errors.append(CraftError("E_BAD_TIME", f"{ch[1]} is not a time of day", self.span(ch[1]),
                                          "write HH:MM between 00:00 and 23:59"))
        return a.ScheduleTrigger(ch[0], hour, minute, ch[2], ch[3], self.span(meta))

    def timezone(self, meta: Located, ch: list[Any]) -> a.StringLit:
        return self.plain(ch[0])

    def form_trigger(self, meta: Located, ch: list[Any]) -> a.FormTrigger:
        return a.FormTrigger(ch[0], self.span(meta))

    def webhook_trigger(self, meta: Located, ch: list[Any]) -> a.WebhookTrigger:
        return a.WebhookTrigger(ch[0], self.span(meta))

    def manual_trigger(self, meta: Located, ch: list[Any]) -> a.ManualTrigger:
        return a.ManualTrigger(ch[0], self.span(meta))

    # ------------------------------------------------------------------ steps
    def assignment(self, meta: Located, ch: list[Any]) -> a.Assignment:
        return a.Assignment(ch[0], ch[1], self.span(meta))

    def assignments(self, meta: Located, ch: list[Any]) -> tuple[a.Assignment, ...]:
        return tuple(ch)

    def set_step(self, meta: Located, ch: list[Any]) -> a.SetStep:
        return a.SetStep(ch[0], self.span(meta))

    def move_step(self, meta: Located, ch: list[Any]) -> a.MoveStep:
        return a.MoveStep(ch[0], ch[1], self.span(meta))

    def create_step(self, meta: Located, ch: list[Any]) -> a.CreateStep:
        return a.CreateStep(ch[0], ch[1] or (), ch[2], self.span(meta))

    def create_task_step(self, meta: Located, ch: list[Any]) -> a.CreateTaskStep:
        return a.CreateTaskStep(self.text(ch[0]), ch[1], ch[2], ch[3], self.span(meta))

    def update_step(self, meta: Located, ch: list[Any]) -> a.UpdateStep:
        return a.UpdateStep(ch[0], ch[1], self.span(meta))

    def tag_step(self, meta: Located, ch: list[Any]) -> a.TagStep:
        return a.TagStep(ch[0], self.text(ch[1]), self.span(meta))

    def notify_step(self, meta: Located, ch: list[Any]) -> a.NotifyStep:
        return a.NotifyStep(ch[0], self.text(ch[1]), self.span(meta))

    def group_ref(self, meta: Located, ch: list[Any]) -> a.GroupRef:
        return a.GroupRef(self.plain(ch[0]), self.span(meta))

    def email_step(self, meta: Located, ch: list[Any]) -> a.EmailStep:
        return a.EmailStep(ch[0], self.text(ch[1]), self.text(ch[2]), self.span(meta))

    def message_step(self, meta: Located, ch: list[Any]) -> a.MessageStep:
        return a.MessageStep(ch[0], ch[1], self.text(ch[2]), self.span(meta))

    def webhook_step(self, meta: Located, ch: list[Any]) -> a.WebhookStep:
        return a.WebhookStep(self.text(ch[0]), ch[1], ch[2], ch[3], self.span(meta))

    def webhook_body(self, meta: Located, ch: list[Any]) -> tuple[a.MapEntry, ...]:
        return tuple(c for c in ch if c is not None)

    def map_entry(self, meta: Located, ch: list[Any]) -> a.MapEntry:
        key = ch[0].name if isinstance(ch[0], a.Ident) else self.plain(ch[0]).value
        return a.MapEntry(key, ch[1], self.span(meta))

    def wait_step(self, meta: Located, ch: list[Any]) -> a.WaitStep:
        return a.WaitStep(ch[0], ch[1], self.span(meta))

    def wait_until_step(self, meta: Located, ch: list[Any]) -> a.WaitUntilStep:
        return a.WaitUntilStep(ch[0], ch[1], self.span(meta))

    def if_step(self, meta: Located, ch: list[Any]) -> a.IfStep:
        condition, body, *rest = ch
        otherwise: _Else | None = rest.pop()
        branches = (a.Branch(condition, body, self.span(meta)), *rest)
        if otherwise is None:
            return a.IfStep(branches, None, self.span(meta))
        return a.IfStep(branches, otherwise.body, self.span(meta), otherwise.span)

    def else_if(self, meta: Located, ch: list[Any]) -> a.Branch:
        return a.Branch(ch[1], ch[2], self.span(meta))  # ch[0] is the ELSE_IF token

    def else_branch(self, meta: Located, ch: list[Any]) -> _Else:
        return _Else(ch[0], self.span(meta))

    def assign_step(self, meta: Located, ch: list[Any]) -> a.AssignStep:
        return a.AssignStep(ch[0], ch[1], self.plain(ch[2]), self.span(meta))

    def start_step(self, meta: Located, ch: list[Any]) -> a.StartProcessStep:
        return a.StartProcessStep(self.plain(ch[0]), self.span(meta))

    def stop_step(self, meta: Located, ch: list[Any]) -> a.StopStep:
        return a.StopStep(self.span(meta))

    def task_step(self, meta: Located, ch: list[Any]) -> a.TaskStep:
        return a.TaskStep(self.text(ch[0]), ch[1], ch[2], ch[3], ch[4], self.span(meta))

    def approval_step(self, meta: Located, ch: list[Any]) -> a.ApprovalStep:
        title, approver, *options, binding = ch
        names = tuple(o.name if isinstance(o, a.Ident) else self.plain(o).value for o in options)
        return a.ApprovalStep(self.text(title), approver, names, binding, self.span(meta))

    # ------------------------------------------------------------------ expressions
    def ident(self, meta: Located, ch: list[Any]) -> a.Ident:
        return a.Ident(str(ch[0]), self.span(ch[0]))

    def path(self, meta: Located, ch: list[Any]) -> a.Path | a.Clock:
        return make_path(ch, self.span(meta))

    def number(self, meta: Located, ch: list[Any]) -> a.Number:
        return a.Number(self._number(ch[0]), self.span(meta))

    def duration(self, meta: Located, ch: list[Any]) -> a.Duration:
        return a.Duration(self._number(ch[0]), ch[1], self.span(meta))

    def string(self, meta: Located, ch: list[Any]) -> a.Text:
        return self.text(ch[0])

    def true(self, meta: Located, ch: list[Any]) -> a.Bool:
        return a.Bool(True, self.span(meta))

    def false(self, meta: Located, ch: list[Any]) -> a.Bool:
        return a.Bool(False, self.span(meta))

    def null(self, meta: Located, ch: list[Any]) -> a.Null:
        return a.Null(self.span(meta))

    or_op, and_op, in_op = _binary_as("or"), _binary_as("and"), _binary_as("in")
    not_in_op, contains_op = _binary_as("not in"), _binary_as("contains")

    def compare(self, meta: Located, ch: list[Any]) -> a.Binary:
        return a.Binary(ch[1], ch[0], ch[2], self.span(meta))

    binary = compare

    def not_op(self, meta: Located, ch: list[Any]) -> a.Unary:
        return a.Unary("not", ch[0], self.span(meta))

    def negate(self, meta: Located, ch: list[Any]) -> a.Unary:
        return a.Unary("-", ch[0], self.span(meta))

    def is_empty(self, meta: Located, ch: list[Any]) -> a.IsEmpty:
        return a.IsEmpty(ch[0], False, self.span(meta))

    def is_not_empty(self, meta: Located, ch: list[Any]) -> a.IsEmpty:
        return a.IsEmpty(ch[0], True, self.span(meta))

    def call(self, meta: Located, ch: list[Any]) -> a.Call:
        return a.Call(ch[0], tuple(c for c in ch[1:] if c is not None), self.span(meta))

    def list_lit(self, meta: Located, ch: list[Any]) -> a.ListLit:
        return a.ListLit(tuple(c for c in ch if c is not None), self.span(meta))
