"""``stagecraft fmt``: the canonical text of a program.

Why canonical: reviews of blueprint changes should show what changed in meaning, not in spacing.
The output is one step per line, two spaces per block level, ``where`` on the ``when`` line, one
blank line between automations and processes.  Two properties are tested on every spec example:
formatting is idempotent, and the formatted text parses back to an equal tree (spans aside).
Comments are not part of the tree's meaning but are kept: each goes back before the step it
preceded, or after the line it ended.
"""

from __future__ import annotations

from collections import deque

from dsl import ast as a
from dsl._format_expr import duration, expr, plain, text, word_or_string

_INDENT = "  "


def format_program(program: a.Program) -> str:
    """The canonical text of ``program``, ending with a newline (empty for an empty program)."""
    printer = _Printer(program.comments)
    for index, item in enumerate(program.items):
        if index:
            printer.blank()
        if isinstance(item, a.Automation):
            printer.automation(item)
        else:
            printer.process(item)
    printer.flush_before(None, 0)
    return "".join(line + "\n" for line in printer.lines)


def format_expression(node: a.Expr) -> str:
    """The canonical text of one expression (formula fields, error messages)."""
    return expr(node)


class _Printer:
    """Collects output lines, putting source comments back where they belong."""

    def __init__(self, comments: tuple[a.Comment, ...]) -> None:
        self.lines: list[str] = []
        self.pending = deque(sorted(comments, key=lambda c: (c.span.line, c.span.col)))

    def blank(self) -> None:
        self.lines.append("")

    def flush_before(self, line: int | None, depth: int) -> None:
        """Write, on lines of their own, the comments that stood before source line ``line`` (all if None)."""
        while self.pending and (line is None or self.pending[0].span.line < line):
            self.lines.append(_INDENT * depth + self.pending.popleft().text)

    def emit(self, depth: int, content: str, line: int) -> None:
        """Write one line of code that came from source line ``line``, with that line's trailing comment."""
        self.flush_before(line, depth)
        out = _INDENT * depth + content
        if self.pending and self.pending[0].span.line == line and self.pending[0].trailing:
            out += "  " + self.pending.popleft().text
        self.lines.append(out)

    def automation(self, item: a.Automation) -> None:
        self.emit(0, f"automation {plain(item.name)}", item.span.line)
        when = f"when {trigger(item.trigger)}"
        if item.condition is not None:
            when += f" where {expr(item.condition)}"
        self.emit(0, when, item.trigger.span.line)
        self.emit(0, "do", (item.condition or item.trigger).span.end_line)
        self.block(item.body, 1, item.span.end_line)

    def process(self, item: a.Process) -> None:
        self.emit(0, f"process {plain(item.name)} for {item.entity.name}", item.span.line)
        self.block(item.body, 1, item.span.end_line)

    def block(self, steps: tuple[a.Step, ...], depth: int, end_line: int, closer: str | None = "end") -> None:
        """Steps one level in, then (unless ``closer`` is None) the line that closes the block."""
        for step in steps:
            self.step(step, depth)
        if closer is not None:
            self.flush_before(end_line, depth)
            self.emit(depth - 1, closer, end_line)

    def step(self, step: a.Step, depth: int) -> None:
        if isinstance(step, a.IfStep):
            self.if_step(step, depth)
        else:
            self.emit(depth, simple_step(step), step.span.line)

    def if_step(self, step: a.IfStep, depth: int) -> None:
        for index, branch in enumerate(step.branches):
            keyword = "if" if index == 0 else "else if"
            self.emit(depth, f"{keyword} {expr(branch.condition)} then", branch.span.line)
            self.block(branch.body, depth + 1, step.span.end_line, closer=None)
        if step.otherwise is not None:
            self.flush_before(step.else_span.line, depth + 1)
            self.emit(depth, "else", step.else_span.line)
            self.block(step.otherwise, depth + 1, step.span.end_line, closer=None)
        self.flush_before(step.span.end_line, depth + 1)
        self.emit(depth, "end", step.span.end_line)


def trigger(node: a.Trigger) -> str:
    """The text after ``when``."""
    match node:
        case a.RecordTrigger(entity, event):
            return f"{entity.name} {event}"
        case a.ChangedTrigger(fields):
            return ", ".join(f"{f.entity.name}.{f.field.name}" for f in fields) + " changed"
        case a.StageTrigger(entity, event, stage, pipeline):
            return f"{entity.name} {event} stage {stage.name}{_pipeline(pipeline)}"
        case a.StayTrigger(entity, stage, pipeline, wait):
            return f"{entity.name} stays in stage {stage.name}{_pipeline(pipeline)} for {duration(wait)}"
        case a.DateTrigger(offset, side, field):
            return f"{duration(offset)} {side} {field.entity.name}.{field.field.name}"
        case a.ScheduleTrigger(day, hour, minute, timezone, entity):
            zone = f" in {plain(timezone)}" if timezone is not None else ""
            return f"every {day} at {hour:02d}:{minute:02d}{zone} for {entity.name}"
        case a.FormTrigger(form):
            return f"form {form.name} submitted"
        case a.WebhookTrigger(name):
            return f"webhook {name.name} received"
        case a.ManualTrigger(entity):
            return f"manual for {entity.name}"
    raise TypeError(f"not a trigger: {node!r}")  # pragma: no cover - the AST is closed


def _pipeline(pipeline: a.Ident | None) -> str:
    return f" in pipeline {pipeline.name}" if pipeline is not None else ""


def _binding(binding: a.Ident | None) -> str:
    return f" as {binding.name}" if binding is not None else ""


def _assignments(assignments: tuple[a.Assignment, ...]) -> str:
    return ", ".join(f"{x.target.dotted} = {expr(x.value)}" for x in assignments)


def _recipient(recipient: a.Recipient) -> str:
    return f"group {plain(recipient.name)}" if isinstance(recipient, a.GroupRef) else recipient.dotted


def simple_step(step: a.Step) -> str:
    """The one-line text of every step but ``if``."""
    shown = _data_step(step) or _message_step(step) or _flow_step(step)
    if shown is None:  # pragma: no cover - the AST is closed
        raise TypeError(f"not a simple step: {step!r}")
    return shown


def _data_step(step: a.Step) -> str | None:
    """Steps that change records."""
    match step:
        case a.SetStep(assignments):
            return f"set {_assignments(assignments)}"
        case a.MoveStep(stage, pipeline):
            return f"move to stage {stage.name}{_pipeline(pipeline)}"
        case a.CreateStep(entity, assignments, binding):
            values = f" with {_assignments(assignments)}" if assignments else ""
            return f"create {entity.name}{values}{_binding(binding)}"
        case a.CreateTaskStep(title, assignee, due, binding):
            return (f"create task {text(title)} for {_recipient(assignee)} due in {duration(due)}"
                    f"{_binding(binding)}")
        case a.UpdateStep(target, assignments):
            return f"update {target.dotted} with {_assignments(assignments)}"
        case a.TagStep(action, tag):
            return f"{action} tag {text(tag)}"
        case a.AssignStep(target, strategy, group):
            return f"assign {target.dotted} {strategy} from group {plain(group)}"
    return None


def _message_step(step: a.Step) -> str | None:
    """Steps that talk to people or systems."""
    match step:
        case a.NotifyStep(recipient, message):
            return f"notify {_recipient(recipient)} {text(message)}"
        case a.EmailStep(to, subject, body):
            return f"send email to {expr(to)} subject {text(subject)} body {text(body)}"
        case a.MessageStep(channel, to, message):
            return f"send {channel} to {expr(to)} text {text(message)}"
        case a.WebhookStep():
            return _webhook(step)
    return None


def _flow_step(step: a.Step) -> str | None:
    """Steps that wait, start, stop, or wait for people."""
    match step:
        case a.WaitStep(wait, until):
            return f"wait {duration(wait)}" + (f" until {expr(until)}" if until is not None else "")
        case a.WaitUntilStep(condition, timeout):
            limit = f" for at most {duration(timeout)}" if timeout is not None else ""
            return f"wait until {expr(condition)}{limit}"
        case a.StartProcessStep(name):
            return f"start process {plain(name)}"
        case a.StopStep():
            return "stop"
        case a.TaskStep(title, assignee, due, remind, binding):
            reminder = f" remind every {duration(remind)}" if remind is not None else ""
            return (f"task {text(title)} for {_recipient(assignee)} due in {duration(due)}{reminder}"
                    f"{_binding(binding)}")
        case a.ApprovalStep(title, approver, options, binding):
            choices = ", ".join(word_or_string(o) for o in options)
            return f"approval {text(title)} by {_recipient(approver)} options {choices}{_binding(binding)}"
    return None


def _webhook(step: a.WebhookStep) -> str:
    out = f"call webhook {text(step.url)}"
    if step.method is not None:
        out += f" method {step.method.name}"
    if step.body is not None:
        out += " with {" + ", ".join(f"{word_or_string(e.key)}: {expr(e.value)}" for e in step.body) + "}"
    return out + _binding(step.binding)
