"""Checking the steps of an automation or process body (see :mod:`dsl.checker` for the rules)."""

from __future__ import annotations

from collections.abc import Collection

from dsl import ast as a
from dsl._check_expr import (
    Scope,
    check_condition,
    check_text,
    comparable,
    entity_named,
    expect,
    expr_type,
    field_of,
    resolve,
    suggest,
    value_type,
)
from dsl.schema import FieldInfo

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_WAITING = (a.WaitStep, a.WaitUntilStep, a.TaskStep, a.ApprovalStep)


def check_body(scope: Scope, steps: tuple[a.Step, ...], processes: Collection[str]) -> None:
    """Check each step in order; ``as`` bindings become visible to the steps after them."""
    for step in steps:
        if isinstance(step, _WAITING):
            _check_can_wait(scope, step)
        if isinstance(step, a.TaskStep | a.ApprovalStep) and not scope.in_process:
            kind = "task" if isinstance(step, a.TaskStep) else "approval"
            scope.error("E_PROCESS_STEP_OUTSIDE_PROCESS", f'a "{kind}" step only exists inside a process',
                        step.span, 'in an automation, use "create task" or "start process"')
        if isinstance(step, a.IfStep):
            for branch in step.branches:
                check_condition(scope, branch.condition)
                check_body(scope, branch.body, processes)
            check_body(scope, step.otherwise or (), processes)
        elif not _check_data_step(scope, step):
            _check_other_step(scope, step, processes)


def _check_can_wait(scope: Scope, step: a.Step) -> None:
    trigger = scope.trigger
    if isinstance(trigger, a.ScheduleTrigger):
        scope.error("E_WAIT_NOT_ALLOWED", 'an "every …" automation cannot wait', step.span,
                    'start a process for waits, or use a "stays in stage" or date trigger')
    elif isinstance(trigger, a.RecordTrigger) and trigger.event == "deleted":
        scope.error("E_WAIT_NOT_ALLOWED", 'a "deleted" automation cannot wait: its record is gone', step.span)


def _check_data_step(scope: Scope, step: a.Step) -> bool:
    """Steps that change records; False when ``step`` is not one of them."""
    match step:
        case a.SetStep(assignments):
            for assignment in assignments:
                _check_assignment(scope, assignment, resolve(scope, assignment.target)[0])
        case a.MoveStep(stage, pipeline):
            if scope.subject is not None:
                check_stage(scope, scope.subject, stage, pipeline, trigger=False)
        case a.CreateStep(entity, assignments, binding):
            target = entity_named(scope, entity)
            for assignment in assignments:
                info = field_of(scope, target, assignment.target.segments[-1]) if target else None
                _check_assignment(scope, assignment, info)
            _bind(scope, binding, target)
        case a.UpdateStep(target, assignments):
            _check_update(scope, target, assignments)
        case a.TagStep(_, tag):
            check_text(scope, tag)
            fields = scope.schema.fields(scope.subject).values() if scope.subject else ()
            if scope.subject and not any(f.type == "tags" for f in fields):
                scope.error("E_UNKNOWN_FIELD", f"{scope.subject} has no tags field", step.span)
        case a.AssignStep(target, _, group):
            _check_user(scope, target)
            _check_group(scope, group)
        case _:
            return False
    return True


def _check_other_step(scope: Scope, step: a.Step, processes: Collection[str]) -> None:
    match step:
        case a.CreateTaskStep(title, assignee, _, binding) | a.TaskStep(title, assignee, _, _, binding):
            check_text(scope, title)
            _check_recipient(scope, assignee)
            _bind(scope, binding, "Task")
        case a.ApprovalStep(title, approver, _, binding):
            check_text(scope, title)
            _check_recipient(scope, approver)
            _bind(scope, binding, None)
        case a.NotifyStep(recipient, text):
            _check_recipient(scope, recipient)
            check_text(scope, text)
        case a.EmailStep(to, subject, body):
            expect(scope, to, expr_type(scope, to), {"string", "user"}, "an address")
            check_text(scope, subject)
            check_text(scope, body)
        case a.MessageStep(_, to, text):
            expect(scope, to, expr_type(scope, to), {"string", "user"}, "a phone number")
            check_text(scope, text)
        case a.WebhookStep():
            _check_webhook(scope, step)
        case a.WaitStep(_, until):
            if until is not None:
                check_condition(scope, until)
        case a.WaitUntilStep(condition, _):
            check_condition(scope, condition)
        case a.StartProcessStep(name) if name.value not in processes:
            scope.error("E_UNKNOWN_PROCESS", f'there is no process "{name.value}"', name.span,
                        suggest(name.value, processes))
        case a.StartProcessStep(name):
            scope.use("process", name.value)


def _check_assignment(scope: Scope, assignment: a.Assignment, info: FieldInfo | None) -> None:
    value = expr_type(scope, assignment.value)
    if info is None:
        return
    wanted = value_type(info)
    if not comparable(wanted, value, ordered=False) and not (wanted == "user" and value == "record"):
        scope.error("E_TYPE_MISMATCH", f'"{info.name}" holds {wanted} values, not {value}',
                    assignment.value.span)


def _check_update(scope: Scope, target: a.Path, assignments: tuple[a.Assignment, ...]) -> None:
    info, kind, owner = resolve(scope, target)
    entity = info.target if info is not None and info.type in ("reference", "user") else (
        owner if kind == "record" and info is None else None)
    if info is not None and entity is None:
        scope.error("E_NOT_A_REFERENCE", f'"{target.dotted}" is not a record to update', target.span)
    for assignment in assignments:
        field = field_of(scope, entity, assignment.target.segments[-1]) if entity else None
        _check_assignment(scope, assignment, field)


def _check_user(scope: Scope, path: a.Path) -> None:
    info, kind, _ = resolve(scope, path)
    is_user = kind in ("user", "any") or (info is not None and info.target == "User")
    if info is not None and not is_user:
        scope.error("E_NOT_A_USER", f'"{path.dotted}" is a {info.type} field, not a user', path.span,
                    'use a user field such as owner, or group "G"')


def _check_recipient(scope: Scope, recipient: a.Recipient) -> None:
    if isinstance(recipient, a.GroupRef):
        _check_group(scope, recipient.name)
    else:
        _check_user(scope, recipient)


def _check_group(scope: Scope, group: a.StringLit) -> None:
    groups = scope.schema.groups()
    if group.value not in groups:
        scope.error("E_UNKNOWN_GROUP", f'there is no group "{group.value}"', group.span,
                    suggest(group.value, groups))
    else:
        scope.use("group", group.value)


def _check_webhook(scope: Scope, step: a.WebhookStep) -> None:
    check_text(scope, step.url)
    if step.method is not None and step.method.name not in _METHODS:
        scope.error("E_BAD_METHOD", f'"{step.method.name}" is not an HTTP method', step.method.span,
                    suggest(step.method.name.upper(), _METHODS))
    for entry in step.body or ():
        expr_type(scope, entry.value)
    _bind(scope, step.binding, None)


def _bind(scope: Scope, binding: a.Ident | None, entity: str | None) -> None:
    if binding is None:
        return
    if binding.name in scope.bindings:
        scope.error("E_DUPLICATE_NAME", f'"{binding.name}" is already bound by an earlier "as"',
                    binding.span)
    scope.bindings[binding.name] = entity


def check_stage(scope: Scope, entity: str, stage: a.Ident, pipeline: a.Ident | None, *,
                trigger: bool) -> None:
    """``stage S [in pipeline P]`` of ``entity``: both exist, and P is named when it must be."""
    pipelines = scope.schema.pipelines(entity)
    if not pipelines:
        scope.error("E_UNKNOWN_STAGE", f'{entity} has no pipeline, so no stage "{stage.name}"', stage.span)
        return
    if pipeline is not None and pipeline.name not in pipelines:
        scope.error("E_UNKNOWN_PIPELINE", f'{entity} has no pipeline "{pipeline.name}"', pipeline.span,
                    suggest(pipeline.name, pipelines))
        return
    names = [pipeline.name] if pipeline is not None else list(pipelines)
    holding = [p for p in names if stage.name in pipelines[p]]
    for name in holding:
        scope.use("pipeline", name, entity)
        scope.use("stage", stage.name, entity)
    if not holding:
        stages = {s for p in names for s in pipelines[p]}
        scope.error("E_UNKNOWN_STAGE", f'{entity} has no stage "{stage.name}"', stage.span,
                    suggest(stage.name, stages))
    elif pipeline is None and (len(holding) > 1 or (trigger and len(pipelines) > 1)):
        scope.error("E_AMBIGUOUS_PIPELINE", f"{entity} has several pipelines", stage.span,
                    f'add "in pipeline {holding[0]}" (or another of {", ".join(sorted(pipelines))})')


