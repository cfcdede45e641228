"""Checking the steps of an automation or process body (see :mod:`dsl.checker` for the rules)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from dsl import ast as a
from dsl._check_expr import (
    Scope,
    check_condition,
    check_text,
    entity_named,
    expect,
    expr_type,
    path_text,
    resolve,
    suggest,
)
from dsl._check_writes import (
    check_assignment,
    check_entity_writable,
    check_once,
    check_read_only,
    check_set,
    check_update,
    with_field,
    writable_target,
)

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*):")
_WAITING = (a.WaitStep, a.WaitUntilStep, a.TaskStep, a.ApprovalStep)
#: Longest wait, due time or trigger offset: beyond it a date leaves any calendar a run could reach.
CENTURY_SECONDS = 100 * 366 * 86400
#: Reminders repeat while a task is overdue; more often than this they flood the assignee.
_REMIND_SECONDS = 60


def check_body(scope: Scope, steps: tuple[a.Step, ...], processes: Mapping[str, str | None]) -> None:
    """Check each step in order; ``as`` bindings become visible to the steps after them."""
    for step in steps:
        if isinstance(step, _WAITING):
            _check_can_wait(scope, step)
        for duration, least in _durations(step):
            check_duration(scope, duration, least=least)
        if isinstance(step, a.TaskStep | a.ApprovalStep) and not scope.in_process:
            kind = "task" if isinstance(step, a.TaskStep) else "approval"
            scope.error("E_PROCESS_STEP_OUTSIDE_PROCESS", f'a "{kind}" step only exists inside a process',
                        step.span, 'in an automation, use "create task" or "start process"')
        if isinstance(step, a.IfStep):
            _check_if(scope, step, processes)
        elif not _check_data_step(scope, step):
            _check_other_step(scope, step, processes)


def _check_if(scope: Scope, step: a.IfStep, processes: Mapping[str, str | None]) -> None:
    """A name bound inside a branch is visible in that branch only: after the ``if`` it may be unbound."""
    before = dict(scope.bindings)
    for branch in step.branches:
        check_condition(scope, branch.condition)
        check_body(scope, branch.body, processes)
        scope.hidden |= scope.bindings.keys() - before.keys()
        scope.bindings = dict(before)
    check_body(scope, step.otherwise or (), processes)
    scope.hidden |= scope.bindings.keys() - before.keys()
    scope.bindings = before


def _durations(step: a.Step) -> list[tuple[a.Duration, int]]:
    """The durations a step waits or schedules by, each with the least it may be."""
    match step:
        case a.WaitStep(duration, _) | a.WaitUntilStep(_, duration) if duration is not None:
            return [(duration, 0)]
        case a.CreateTaskStep(_, _, due, _):
            return [(due, 0)]
        case a.TaskStep(_, _, due, remind, _):
            return [(due, 0)] + ([(remind, _REMIND_SECONDS)] if remind is not None else [])
    return []


def check_duration(scope: Scope, duration: a.Duration, *, least: int = 0) -> None:
    """A wait, due time, reminder or trigger offset lies within a century (and ``least`` seconds)."""
    written = f"{duration.amount:g} {duration.unit}"
    if duration.seconds > CENTURY_SECONDS:
        scope.error("E_BAD_DURATION", f"{written} is longer than a century", duration.span,
                    "a run cannot be scheduled that far ahead")
    elif duration.seconds < least:
        scope.error("E_BAD_DURATION", f"{written} is too short: reminders come at most once a minute",
                    duration.span, "remind every 1 minute or more")


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
            check_once(scope, assignments)
            for assignment in assignments:
                check_set(scope, assignment)
        case a.MoveStep(stage, pipeline):
            if _has_subject(scope, step, '"move"') and scope.subject is not None:
                check_stage(scope, scope.subject, stage, pipeline, trigger=False)
        case a.CreateStep(entity, assignments, binding):
            target = entity_named(scope, entity)
            if not check_entity_writable(scope, target, entity.span):
                target = None
            check_once(scope, assignments)
            for assignment in assignments:
                check_assignment(scope, assignment, with_field(scope, target, assignment.target), target)
            _bind(scope, binding, target)
        case a.UpdateStep(target, assignments):
            check_update(scope, target, assignments)
        case a.TagStep(_, tag):
            check_text(scope, tag)
            _check_tags_field(scope, step)
        case a.AssignStep(target, _, group):
            if writable_target(scope, target, field=True):
                _check_user(scope, target, written=True)
            _check_group(scope, group)
        case _:
            return False
    return True


def _check_tags_field(scope: Scope, step: a.TagStep) -> None:
    if not _has_subject(scope, step, "a tag step") or scope.subject is None:
        return
    if not any(f.type == "tags" for f in scope.schema.fields(scope.subject).values()):
        scope.error("E_UNKNOWN_FIELD", f"{scope.subject} has no tags field", step.span)


def _has_subject(scope: Scope, step: a.Step, what: str) -> bool:
    """Whether a step that acts on the subject record has one (reported once when it has none)."""
    if scope.subject is not None and scope.subject_gone:
        scope.error("E_READ_ONLY", f"{what} acts on the subject record, which is deleted", step.span)
        return False
    if scope.subject is not None:
        return True
    if scope.subject_known:  # an unknown entity or form has been reported already
        scope.error("E_UNKNOWN_NAME", f"{what} acts on the subject record, and this automation has none",
                    step.span, 'create a record "as NAME" and "update NAME with …" instead')
    return False


def _check_other_step(scope: Scope, step: a.Step, processes: Mapping[str, str | None]) -> None:
    match step:
        case a.CreateTaskStep(title, assignee, _, binding) | a.TaskStep(title, assignee, _, _, binding):
            check_text(scope, title)
            _check_recipient(scope, assignee)
            _bind(scope, binding, "Task")
        case a.ApprovalStep(title, approver, options, binding):
            check_text(scope, title)
            _check_recipient(scope, approver)
            if len(set(options)) < len(options):
                scope.error("E_DUPLICATE_NAME", "an approval lists an option twice", step.span)
            _bind(scope, binding, None)
            scope.options[binding.name] = options
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
        case a.StartProcessStep():
            _check_start(scope, step, processes)


def _check_start(scope: Scope, step: a.StartProcessStep, processes: Mapping[str, str | None]) -> None:
    """The process exists and runs on records of the subject's entity (it starts on the subject)."""
    name = step.name
    if name.value not in processes:
        scope.error("E_UNKNOWN_PROCESS", f'there is no process "{name.value}"', name.span,
                    suggest(name.value, processes))
        return
    scope.use("process", name.value)
    entity = processes[name.value]
    if _has_subject(scope, step, '"start process"') and entity not in (None, scope.subject):
        scope.error("E_TYPE_MISMATCH", f'process "{name.value}" runs on {entity} records, not '
                    f"{scope.subject}", name.span, f"start it from an automation of {entity}")


def _check_user(scope: Scope, path: a.Path, *, written: bool = False) -> None:
    """``path`` holds a user (a user field, a reference to User, or a binding of a User record)."""
    info, kind, owner = resolve(scope, path)
    if written and info is not None and check_entity_writable(scope, owner, path.span):
        check_read_only(scope, info, path.span, stage=False)
    is_user = kind in ("user", "any") or (info.target == "User" if info is not None else owner == "User")
    if not is_user:
        what = f"a {info.type} field" if info is not None else f"a {owner} record" if owner else f"a {kind}"
        scope.error("E_NOT_A_USER", f'"{path_text(path)}" is {what}, not a user', path.span,
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
    _check_url(scope, step.url)
    if step.method is not None and step.method.name not in _METHODS:
        scope.error("E_BAD_METHOD", f'"{step.method.name}" is not an HTTP method', step.method.span,
                    suggest(step.method.name.upper(), _METHODS))
    keys: set[str] = set()
    for entry in step.body or ():
        if entry.key in keys:
            scope.error("E_DUPLICATE_NAME", f'the body names "{entry.key}" twice', entry.span)
        keys.add(entry.key)
        expr_type(scope, entry.value)
    _bind(scope, step.binding, None)


def _check_url(scope: Scope, url: a.Text) -> None:
    """A URL that names its scheme names http or https (never file:, ftp:, javascript: …); one that
    starts with a placeholder is checked when the run calls it."""
    first = url.value if isinstance(url, a.StringLit) else url.parts[0] if url.parts else ""
    scheme = _SCHEME.match(first) if isinstance(first, str) else None
    if scheme is not None and scheme.group(1).lower() not in ("http", "https"):
        scope.error("E_BAD_URL", f'"{scheme.group(1)}:" is not an http:// or https:// URL', url.span,
                    'write the whole address, such as "https://example.com/hook"')


def _bind(scope: Scope, binding: a.Ident | None, entity: str | None) -> None:
    if binding is None:
        return
    if binding.name in scope.bindings or binding.name in scope.hidden:
        scope.error("E_DUPLICATE_NAME", f'"{binding.name}" is already bound by an earlier "as"',
                    binding.span)
    elif scope.subject is not None and binding.name in scope.schema.fields(scope.subject):
        scope.error("E_DUPLICATE_NAME", f'"{binding.name}" is a field of {scope.subject}; the binding would '
                    "hide it", binding.span, f'choose another name, such as "new_{binding.name}"')
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


