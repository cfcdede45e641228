"""Checked programs to plans (:mod:`dsl.plan`): the last stage before the workflow engine.

Why the compiler resolves so much: whatever it decides here is decided once, at apply time, with
the schema at hand — which pipeline a stage belongs to, whether ``lead.name`` reads a binding or a
field, which field holds the tags — so the engine never guesses at run time, and a stored plan keeps
meaning what it meant when it was applied.  Only programs that check clean are compiled; the few
steps the checker lets through but no plan can run (a write to ``old.x``, a ``move`` without a
subject record, ``start process`` on another entity's record) are refused here, all at once, with
check-style errors.

Layout of ``if C1 then A else if C2 then B else D end`` (each jump target is a pc)::

    jump_if_false C1 -> L1;  A;  jump -> END
    L1: jump_if_false C2 -> L2;  B;  jump -> END
    L2: D
    END:

Without ``else`` the last branch falls through to ``END`` and has no ``jump``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from dsl import ast as a
from dsl._check_expr import Scope, expr_type
from dsl.checker import check, check_files
from dsl.errors import CraftError, CraftErrors
from dsl.format import format_expression
from dsl.parser import parse
from dsl.plan import (
    AddTagOp,
    ApprovalOp,
    Assign,
    AssignOp,
    AutomationPlan,
    Binding,
    CallWebhookOp,
    CreateOp,
    CreateTaskOp,
    Entry,
    ExprRef,
    Instruction,
    JumpIfFalseOp,
    JumpOp,
    MoveOp,
    NotifyOp,
    ProcessPlan,
    ProgramPlan,
    Recipient,
    RecordRef,
    RemoveTagOp,
    Schedule,
    SendOp,
    SetOp,
    StartProcessOp,
    StopOp,
    TaskOp,
    TriggerPlan,
    UpdateOp,
    WaitOp,
    WaitUntilOp,
    Where,
    make_plan,
)
from dsl.schema import SchemaProtocol

_DAYS: dict[str, tuple[int, ...]] = {
    "day": (1, 2, 3, 4, 5, 6, 7), "weekday": (1, 2, 3, 4, 5), "monday": (1,), "tuesday": (2,),
    "wednesday": (3,), "thursday": (4,), "friday": (5,), "saturday": (6,), "sunday": (7,)}


def compile_program(program: a.Program, schema: SchemaProtocol, *,
                    processes: Collection[str] | None = None) -> ProgramPlan:
    """The plan of ``program``; raises :class:`CraftErrors` (every problem) unless it checks clean.

    ``processes``: all process names of the blueprint, when ``start process`` may name a process of
    another file (as for :func:`dsl.check`).
    """
    check(program, schema, processes=processes)
    return _plan([program], schema)


def compile_files(sources: Mapping[str, str], schema: SchemaProtocol) -> ProgramPlan:
    """One plan for all ``.craft`` files of a blueprint (file name -> text), in file-name order.

    Why one plan: a workspace's automations change together when a blueprint is applied, so the
    engine pins each instance to one digest, and ``start process`` may name a process of any file.
    Raises :class:`CraftErrors` with every problem of every file (as :func:`dsl.check_files`).
    """
    errors = check_files(sources, schema)
    if errors:
        raise CraftErrors(errors)
    return _plan((parse(sources[file], file) for file in sorted(sources)), schema)


@dataclass
class _Context:
    """What the bodies of one compilation share: the schema, the entity of each process compiled
    with them (to refuse ``start process`` on a record of another entity), and the problems found."""

    schema: SchemaProtocol
    processes: dict[str, str]
    problems: list[CraftError]


def _plan(programs: Iterable[a.Program], schema: SchemaProtocol) -> ProgramPlan:
    programs = list(programs)
    context = _Context(schema, {p.name.value: p.entity.name for x in programs for p in x.processes}, [])
    automations: list[AutomationPlan] = []
    processes: list[ProcessPlan] = []
    for program in programs:
        automations.extend(_automation(item, context) for item in program.automations)
        processes.extend(_process(item, context) for item in program.processes)
    if context.problems:
        raise CraftErrors(context.problems)
    return make_plan(tuple(automations), tuple(processes))


def _automation(item: a.Automation, context: _Context) -> AutomationPlan:
    subject = _subject(item.trigger, context.schema)
    body = _Body(f"automation:{item.name.value}", Scope(context.schema, [], subject, item.trigger), context)
    trigger = _trigger(item.trigger, body, item.condition)
    body.steps(item.body)
    return AutomationPlan(name=item.name.value, at=_where(item.span), trigger=trigger, subject=subject,
                          bindings=body.binding_plans(), code=tuple(body.code))


def _process(item: a.Process, context: _Context) -> ProcessPlan:
    scope = Scope(context.schema, [], item.entity.name, None, in_process=True)
    body = _Body(f"process:{item.name.value}", scope, context)
    body.steps(item.body)
    return ProcessPlan(name=item.name.value, at=_where(item.span), entity=item.entity.name,
                       bindings=body.binding_plans(), code=tuple(body.code))


def _subject(trigger: a.Trigger, schema: SchemaProtocol) -> str | None:
    """The entity whose record a run reads: the form's record for forms, none for webhooks."""
    if isinstance(trigger, a.FormTrigger):
        return schema.forms()[trigger.form.name].creates
    if isinstance(trigger, a.WebhookTrigger):
        return None
    return trigger.entity.name


def _trigger(node: a.Trigger, body: _Body, condition: a.Expr | None) -> TriggerPlan:
    where = body.expr(condition) if condition is not None else None
    match node:
        case a.RecordTrigger(entity, event):
            return TriggerPlan(kind=event, entity=entity.name, where=where)
        case a.ManualTrigger(entity):
            return TriggerPlan(kind="manual", entity=entity.name, where=where)
        case a.ChangedTrigger(fields):
            names = tuple(f.field.name for f in fields)
            return TriggerPlan(kind="changed", entity=node.entity.name, fields=names, where=where)
        case a.StageTrigger(entity, event, stage, pipeline):
            return TriggerPlan(kind="entered_stage" if event == "entered" else "left_stage",
                               entity=entity.name, stage=stage.name,
                               pipeline=body.pipeline(entity.name, stage, pipeline), where=where)
        case a.StayTrigger(entity, stage, pipeline, duration):
            return TriggerPlan(kind="stays_in_stage", entity=entity.name, stage=stage.name,
                               pipeline=body.pipeline(entity.name, stage, pipeline),
                               duration_seconds=_seconds(duration), where=where)
        case a.DateTrigger(offset, side, ref):
            return TriggerPlan(kind="date", entity=ref.entity.name, date_field=ref.field.name,
                               duration_seconds=_seconds(offset), direction=side, where=where)
        case a.ScheduleTrigger(day, hour, minute, zone, entity):
            schedule = Schedule(days=_DAYS[day], time=f"{hour:02d}:{minute:02d}",
                                tz=zone.value if zone is not None else None)
            return TriggerPlan(kind="schedule", entity=entity.name, schedule=schedule, where=where)
        case a.FormTrigger(form):
            return TriggerPlan(kind="form", form=form.name, where=where)
        case a.WebhookTrigger(name):
            return TriggerPlan(kind="webhook", webhook=name.name, where=where)
    raise TypeError(f"not a trigger: {node!r}")  # pragma: no cover - the AST is closed


def _where(span: a.Span) -> Where:
    return Where(file=span.file, line=span.line, col=span.col)


def _seconds(duration: a.Duration) -> int:
    return round(duration.seconds)


def _refuse(code: str, message: str, span: a.Span, hint: str | None = None) -> CraftErrors:
    """A step the checker lets through but no plan can run (a write to ``old.x``, a move in an
    automation without a subject record); the compilation reports it like a check error."""
    return CraftErrors([CraftError(code, message, span, hint)])


class _Body:
    """Emits the instructions of one automation or process, tracking ``as`` bindings like the checker."""

    def __init__(self, owner: str, scope: Scope, context: _Context) -> None:
        self.owner = owner
        self.scope = scope
        self.context = context
        self.code: list[Instruction] = []

    # ----------------------------------------------------------------- operands
    def expr(self, node: a.Expr) -> ExprRef:
        return ExprRef(source=format_expression(node), type=expr_type(self.scope, node))

    def key(self) -> str:
        """The effect key of the instruction about to be emitted."""
        return f"{self.owner}#{len(self.code)}"

    def bind(self, name: a.Ident | None, entity: str | None) -> str | None:
        if name is None:
            return None
        self.scope.bindings[name.name] = entity
        return name.name

    def binding_plans(self) -> tuple[Binding, ...]:
        return tuple(Binding(name=n, entity=e) for n, e in self.scope.bindings.items())

    def record(self, path: a.Path, names: tuple[a.Ident, ...]) -> RecordRef:
        """The record reached by ``names`` (from a binding when the first name is one, else the subject)."""
        if not isinstance(path, a.Path) or path.scope != "record":
            raise _refuse("E_TYPE_MISMATCH", f'"{format_expression(path)}" cannot be written', path.span,
                          "only fields of records can be set")
        refs = tuple(n.name for n in names)
        if refs and refs[0] in self.scope.bindings:
            return RecordRef(binding=refs[0], refs=refs[1:])
        return RecordRef(binding=None, refs=refs)

    def field_target(self, path: a.Path) -> tuple[RecordRef, str]:
        """``a.b.f`` as (the record ``a.b`` reaches, ``f``); a bare binding name is no field."""
        record = self.record(path, path.segments[:-1])
        if len(path.segments) == 1 and path.segments[0].name in self.scope.bindings:
            raise _refuse("E_TYPE_MISMATCH", f'"{path.dotted}" is a record bound with "as", not a field',
                          path.span, f'set one of its fields, such as "{path.dotted}.owner"')
        return record, path.segments[-1].name

    def entries(self, assignments: tuple[a.Assignment, ...]) -> tuple[Entry, ...]:
        return tuple(Entry(name=x.target.segments[-1].name, value=self.expr(x.value)) for x in assignments)

    def recipient(self, node: a.Recipient) -> Recipient:
        if isinstance(node, a.GroupRef):
            return Recipient(user=None, group=node.name.value)
        return Recipient(user=self.expr(node), group=None)

    def pipeline(self, entity: str, stage: a.Ident, pipeline: a.Ident | None) -> str:
        """The pipeline holding ``stage`` (the checker has made sure exactly one does)."""
        if pipeline is not None:
            return pipeline.name
        pipelines = self.scope.schema.pipelines(entity)
        return next(name for name, stages in pipelines.items() if stage.name in stages)

    def subject(self, step: a.Step, what: str) -> str:
        """The subject entity, for steps that act on the subject record; refused without one."""
        if self.scope.subject is None:
            raise _refuse("E_UNKNOWN_NAME", f"{what} acts on the subject record, and this automation has "
                          "none", step.span, 'create a record "as NAME" and "update NAME with …" instead')
        return self.scope.subject

    def tags_field(self, step: a.Step) -> str:
        """The subject's tags field (the checker has made sure there is one)."""
        fields = self.scope.schema.fields(self.subject(step, "a tag step"))
        return next(n for n, f in fields.items() if f.type == "tags")

    def process(self, step: a.StartProcessStep) -> str:
        """The process to start on the subject, refused when it is a process of another entity."""
        subject, name = self.subject(step, '"start process"'), step.name.value
        entity = self.context.processes.get(name, subject)
        if entity != subject:
            raise _refuse("E_TYPE_MISMATCH", f'process "{name}" runs on {entity} records, not {subject}',
                          step.name.span)
        return name

    # -------------------------------------------------------------------- steps
    def steps(self, steps: tuple[a.Step, ...]) -> None:
        for step in steps:
            if isinstance(step, a.IfStep):
                self.if_step(step)
                continue
            try:
                self.code.append(self.simple(step))
            except CraftErrors as refused:  # keep going: report every problem of the compilation
                self.context.problems.extend(refused)
                self.code.append(StopOp(at=_where(step.span)))

    def if_step(self, step: a.IfStep) -> None:
        exits: list[int] = []
        for index, branch in enumerate(step.branches):
            test = len(self.code)
            self.code.append(JumpIfFalseOp(at=_where(branch.span), condition=self.expr(branch.condition),
                                           target=-1))
            self.steps(branch.body)
            if index < len(step.branches) - 1 or step.otherwise is not None:
                exits.append(len(self.code))
                self.code.append(JumpOp(at=_where(branch.span), target=-1))
            self.patch(test)
        self.steps(step.otherwise or ())
        for pc in exits:
            self.patch(pc)

    def patch(self, pc: int) -> None:
        """Point the jump at ``pc`` to the next instruction to be emitted."""
        jump = self.code[pc]
        assert isinstance(jump, JumpOp | JumpIfFalseOp)
        self.code[pc] = replace(jump, target=len(self.code))

    def simple(self, step: a.Step) -> Instruction:
        made = self.data_step(step) or self.message_step(step) or self.flow_step(step)
        if made is None:  # pragma: no cover - the AST is closed
            raise TypeError(f"not a step: {step!r}")
        return made

    def data_step(self, step: a.Step) -> Instruction | None:
        at, key = _where(step.span), self.key()
        match step:
            case a.SetStep(assignments):
                return SetOp(at=at, effect_key=key, assignments=tuple(
                    Assign(record=r, field=f, value=self.expr(x.value))
                    for x in assignments for r, f in [self.field_target(x.target)]))
            case a.MoveStep(stage, pipeline):
                return MoveOp(at=at, effect_key=key, stage=stage.name,
                              pipeline=self.pipeline(self.subject(step, '"move"'), stage, pipeline))
            case a.CreateStep(entity, assignments, binding):
                values = self.entries(assignments)
                return CreateOp(at=at, effect_key=key, entity=entity.name, values=values,
                                bind=self.bind(binding, entity.name))
            case a.UpdateStep(target, assignments):
                return UpdateOp(at=at, effect_key=key, record=self.record(target, target.segments),
                                values=self.entries(assignments))
            case a.TagStep(action, tag):
                tag_op = AddTagOp if action == "add" else RemoveTagOp
                return tag_op(at=at, effect_key=key, field=self.tags_field(step), tag=self.expr(tag))
            case a.AssignStep(target, strategy, group):
                record, field = self.field_target(target)
                return AssignOp(at=at, effect_key=key, record=record, field=field, group=group.value,
                                strategy="round_robin" if strategy == "round robin" else "least_busy")
        return None

    def message_step(self, step: a.Step) -> Instruction | None:
        at, key = _where(step.span), self.key()
        match step:
            case a.CreateTaskStep(title, assignee, due, binding):
                return CreateTaskOp(at=at, effect_key=key, title=self.expr(title),
                                    assignee=self.recipient(assignee), due_seconds=_seconds(due),
                                    bind=self.bind(binding, "Task"))
            case a.NotifyStep(recipient, text):
                return NotifyOp(at=at, effect_key=key, recipient=self.recipient(recipient),
                                text=self.expr(text))
            case a.EmailStep(to, subject, body):
                return SendOp(at=at, effect_key=key, channel="email", to=self.expr(to),
                              subject=self.expr(subject), body=self.expr(body))
            case a.MessageStep(channel, to, text):
                return SendOp(at=at, effect_key=key, channel=channel, to=self.expr(to), subject=None,
                              body=self.expr(text))
            case a.WebhookStep(url, method, body, binding):
                entries = tuple(Entry(name=e.key, value=self.expr(e.value)) for e in body or ())
                return CallWebhookOp(at=at, effect_key=key, url=self.expr(url),
                                     method=method.name if method is not None else "POST",
                                     body=entries if body is not None else None,
                                     bind=self.bind(binding, None))
        return None

    def flow_step(self, step: a.Step) -> Instruction | None:
        at, key = _where(step.span), self.key()
        match step:
            case a.WaitStep(duration, None):
                return WaitOp(at=at, seconds=_seconds(duration))
            case a.WaitStep(duration, until) if until is not None:
                return WaitUntilOp(at=at, condition=self.expr(until), timeout_seconds=_seconds(duration))
            case a.WaitUntilStep(condition, timeout):
                return WaitUntilOp(at=at, condition=self.expr(condition),
                                   timeout_seconds=_seconds(timeout) if timeout is not None else None)
            case a.StartProcessStep():
                return StartProcessOp(at=at, effect_key=key, process=self.process(step))
            case a.StopStep():
                return StopOp(at=at)
            case a.TaskStep(title, assignee, due, remind, binding):
                return TaskOp(at=at, effect_key=key, title=self.expr(title),
                              assignee=self.recipient(assignee), due_seconds=_seconds(due),
                              bind=self.bind(binding, "Task"),
                              remind_seconds=_seconds(remind) if remind is not None else None)
            case a.ApprovalStep(title, approver, options, binding):
                return ApprovalOp(at=at, effect_key=key, title=self.expr(title),
                                  approver=self.recipient(approver), options=options,
                                  bind=self.bind(binding, None) or binding.name)
        return None


__all__ = ["compile_files", "compile_program"]
