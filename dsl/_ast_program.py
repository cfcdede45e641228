"""Syntax tree, part two: triggers, steps, automations, processes, programs (see :mod:`dsl.ast`)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field  # "field" is also a node attribute
from typing import Literal, TypeAlias

from dsl._ast_expr import NO_SPAN, Duration, Expr, Ident, Path, Span, StringLit, Text


@dataclass(frozen=True, slots=True)
class FieldRef:
    """``Entity.field`` as written in a trigger."""

    entity: Ident
    field: Ident
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RecordTrigger:
    entity: Ident
    event: Literal["created", "updated", "deleted"]
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ChangedTrigger:
    """``E.a, E.b changed``: fires when any of the fields changes."""

    fields: tuple[FieldRef, ...]
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)

    @property
    def entity(self) -> Ident:
        return self.fields[0].entity


@dataclass(frozen=True, slots=True)
class StageTrigger:
    entity: Ident
    event: Literal["entered", "left"]
    stage: Ident
    pipeline: Ident | None
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StayTrigger:
    """``E stays in stage S for D``: once per stay, if the record is still there after ``duration``."""

    entity: Ident
    stage: Ident
    pipeline: Ident | None
    duration: Duration
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class DateTrigger:
    """``D before|after E.date_field``: re-planned when the date changes."""

    offset: Duration
    side: Literal["before", "after"]
    field: FieldRef
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)

    @property
    def entity(self) -> Ident:
        return self.field.entity


Day: TypeAlias = Literal["day", "weekday", "monday", "tuesday", "wednesday", "thursday", "friday",
                         "saturday", "sunday"]


@dataclass(frozen=True, slots=True)
class ScheduleTrigger:
    """``every DAY at HH:MM [in "Area/City"] for E``: the steps run once per matching record."""

    day: Day
    hour: int
    minute: int
    timezone: StringLit | None
    entity: Ident
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class FormTrigger:
    form: Ident
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class WebhookTrigger:
    name: Ident
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ManualTrigger:
    entity: Ident
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


Trigger: TypeAlias = (RecordTrigger | ChangedTrigger | StageTrigger | StayTrigger | DateTrigger
                      | ScheduleTrigger | FormTrigger | WebhookTrigger | ManualTrigger)

# ------------------------------------------------------------------------------------------- steps
@dataclass(frozen=True, slots=True)
class GroupRef:
    """``group "G"`` where a user is expected: the group's members (round robin or all, by step)."""

    name: StringLit
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


Recipient: TypeAlias = Path | GroupRef


@dataclass(frozen=True, slots=True)
class Assignment:
    """``target = value`` in ``set``, ``create … with`` and ``update … with``."""

    target: Path
    value: Expr
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SetStep:
    assignments: tuple[Assignment, ...]
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class MoveStep:
    stage: Ident
    pipeline: Ident | None
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class CreateStep:
    entity: Ident
    assignments: tuple[Assignment, ...]
    binding: Ident | None
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class CreateTaskStep:
    title: Text
    assignee: Recipient
    due: Duration
    binding: Ident | None
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class UpdateStep:
    target: Path
    assignments: tuple[Assignment, ...]
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TagStep:
    action: Literal["add", "remove"]
    tag: Text
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NotifyStep:
    recipient: Recipient
    text: Text
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class EmailStep:
    to: Expr
    subject: Text
    body: Text
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class MessageStep:
    channel: Literal["sms", "whatsapp"]
    to: Expr
    text: Text
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class MapEntry:
    key: str
    value: Expr
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class WebhookStep:
    """``call webhook "URL" [method M] [with {k: EXPR, …}] [as N]``; ``body`` is None without ``with``."""

    url: Text
    method: Ident | None
    body: tuple[MapEntry, ...] | None
    binding: Ident | None
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class WaitStep:
    """``wait D`` or ``wait D until C`` (at most D, earlier when C holds)."""

    duration: Duration
    until: Expr | None
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class WaitUntilStep:
    """``wait until C [for at most D]``; without ``timeout`` it may wait for ever."""

    condition: Expr
    timeout: Duration | None
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Branch:
    condition: Expr
    body: tuple[Step, ...]
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class IfStep:
    """``if … then … [else if … then …]* [else …] end``; ``otherwise`` is None without ``else``."""

    branches: tuple[Branch, ...]
    otherwise: tuple[Step, ...] | None
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)
    else_span: Span = _field(default=NO_SPAN, compare=False, repr=False)  # where "else" stood, for fmt


@dataclass(frozen=True, slots=True)
class AssignStep:
    target: Path
    strategy: Literal["round robin", "least busy"]
    group: StringLit
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StartProcessStep:
    name: StringLit
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StopStep:
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TaskStep:
    """A process task: creates a Task and waits until it is done, reminding while it is overdue."""

    title: Text
    assignee: Recipient
    due: Duration
    remind: Duration | None
    binding: Ident | None
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ApprovalStep:
    """A process approval: waits for one of ``options``, bound to ``binding``."""

    title: Text
    approver: Recipient
    options: tuple[str, ...]
    binding: Ident
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


Step: TypeAlias = (SetStep | MoveStep | CreateStep | CreateTaskStep | UpdateStep | TagStep | NotifyStep
                   | EmailStep | MessageStep | WebhookStep | WaitStep | WaitUntilStep | IfStep | AssignStep
                   | StartProcessStep | StopStep | TaskStep | ApprovalStep)


# ---------------------------------------------------------------------------------------- programs
@dataclass(frozen=True, slots=True)
class Automation:
    name: StringLit
    trigger: Trigger
    condition: Expr | None
    body: tuple[Step, ...]
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Process:
    name: StringLit
    entity: Ident
    body: tuple[Step, ...]
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``# …`` comment, kept only so that ``fmt`` can put it back; ``trailing`` when code precedes it."""

    text: str
    trailing: bool
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Program:
    """One ``.craft`` file: its automations and processes in source order (comments do not change meaning)."""

    file: str
    items: tuple[Automation | Process, ...]
    span: Span = _field(default=NO_SPAN, compare=False, repr=False)
    comments: tuple[Comment, ...] = _field(default=(), compare=False, repr=False)

    @property
    def automations(self) -> tuple[Automation, ...]:
        return tuple(i for i in self.items if isinstance(i, Automation))

    @property
    def processes(self) -> tuple[Process, ...]:
        return tuple(i for i in self.items if isinstance(i, Process))
