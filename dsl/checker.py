"""Checking a parsed program against the workspace schema, reporting every problem with a suggestion.

Why a checker separate from the parser: the grammar knows nothing of a workspace, and the same
program may be valid in one blueprint and wrong in the next.  Like Django's system checks, each
small ``_check_*`` function appends coded :class:`CraftError` values; nothing stops at the first one.

Decisions the spec leaves open, made here:

* a wait (``wait …``, ``task``, ``approval``) is refused in ``deleted`` automations (there is no record
  left to wait on) and in ``every …`` automations (a run per record per occurrence must end before the
  next occurrence starts);
* ``form NAME submitted`` automations have the record the form creates as their subject;
  ``webhook NAME received`` automations have none, so only bindings and ``payload.x`` are readable,
  and ``move``, tag steps and ``start process`` (which act on the subject) are refused there;
* steps write fields of records only: never ``now``/``today``, ``old.x``, ``form.x``, ``payload.x``, a
  binding itself or a non-record binding, nor a field the platform keeps (system stamps, formulas,
  rollups; the stage changes by ``move``);
* ``start process`` starts the process on the subject, so the process must be ``for`` its entity;
* a ``deleted`` automation reads its record's last values but changes only other records;
* a name bound with ``as`` inside an ``if`` branch is readable in that branch only (after the ``if`` the
  step that binds it may not have run), yet no other ``as`` may reuse it.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Collection, Mapping

from dsl import ast as a
from dsl._check_expr import Scope, check_condition, entity_named, field_of, suggest
from dsl._check_steps import check_body, check_duration, check_stage
from dsl.errors import CraftError, CraftErrors
from dsl.parser import parse_partial
from dsl.schema import SchemaProtocol, Use


def check_program(program: a.Program, schema: SchemaProtocol, *,
                  processes: Collection[str] | None = None) -> list[CraftError]:
    """Every problem of ``program`` in source order.  ``processes``: all process names of the blueprint
    (to check ``start process``), or a mapping name -> entity to also check that a started process
    runs on the subject's entity; by default the processes of this program."""
    return _analyse(program, schema, processes)[0]


def check(program: a.Program, schema: SchemaProtocol, *, processes: Collection[str] | None = None) -> None:
    """Raise :class:`CraftErrors` when :func:`check_program` finds anything."""
    errors = check_program(program, schema, processes=processes)
    if errors:
        raise CraftErrors(errors)


def dependencies(program: a.Program, schema: SchemaProtocol, *,
                 processes: Collection[str] | None = None) -> dict[tuple[str, str], frozenset[Use]]:
    """``("automation"|"process", name)`` -> the entities, fields, stages, pipelines, groups, forms and
    processes it relies on (those that exist; the missing ones are errors of :func:`check_program`)."""
    return _analyse(program, schema, processes)[1]


def check_files(sources: Mapping[str, str], schema: SchemaProtocol) -> list[CraftError]:
    """Every problem of a blueprint's ``.craft`` files (file name -> text): syntax errors, then what the
    checker finds in everything that parsed — names must be unique and processes exist across files."""
    errors: list[CraftError] = []
    programs = []
    for file, text in sources.items():
        program, syntax = parse_partial(text, file)
        errors.extend(syntax)
        programs.append(program)
    processes = {p.name.value: p.entity.name for program in programs for p in program.processes}
    seen: dict[tuple[str, str], a.Span] = {}
    for program in programs:
        errors.extend(_analyse(program, schema, processes, seen)[0])
    return sorted(errors, key=lambda e: (e.span.file, e.span.line, e.span.col))


def _analyse(program: a.Program, schema: SchemaProtocol, processes: Collection[str] | None,
             seen: dict[tuple[str, str], a.Span] | None = None,
             ) -> tuple[list[CraftError], dict[tuple[str, str], frozenset[Use]]]:
    errors: list[CraftError] = []
    uses: dict[tuple[str, str], frozenset[Use]] = {}
    known = _process_entities(program, processes)
    _check_duplicates(program, errors, {} if seen is None else seen)
    for item in program.items:
        if isinstance(item, a.Automation):
            scope = _check_automation(item, schema, errors, known)
            uses[("automation", item.name.value)] = frozenset(scope.uses)
        else:
            scope = _check_process(item, schema, errors, known)
            uses[("process", item.name.value)] = frozenset(scope.uses)
    return sorted(errors, key=lambda e: (e.span.line, e.span.col)), uses


def _process_entities(program: a.Program, processes: Collection[str] | None) -> dict[str, str | None]:
    """Process name -> the entity it runs on (None when only its name is known)."""
    own = {p.name.value: p.entity.name for p in program.processes}
    if processes is None:
        return dict(own)
    given: Mapping[str, str] = processes if isinstance(processes, Mapping) else {}
    return {name: given.get(name, own.get(name)) for name in processes}


def _check_duplicates(program: a.Program, errors: list[CraftError],
                      seen: dict[tuple[str, str], a.Span]) -> None:
    """Automation names are unique, and so are process names (within the file, or all files given)."""
    for item in program.items:
        kind = "automation" if isinstance(item, a.Automation) else "process"
        key, span = (kind, item.name.value), item.name.span
        if key not in seen:
            seen[key] = span
            continue
        first = seen[key]
        where = f"line {first.line}" if first.file == span.file else f"{first.file}:{first.line}"
        errors.append(CraftError("E_DUPLICATE_NAME", f'a second {kind} named "{item.name.value}"', span,
                                 f"the first is on {where}"))


def _check_automation(item: a.Automation, schema: SchemaProtocol, errors: list[CraftError],
                      processes: Mapping[str, str | None]) -> Scope:
    scope = Scope(schema, errors, None, item.trigger)
    _check_trigger(scope, item.trigger)
    if item.condition is not None:
        check_condition(scope, item.condition)
    check_body(scope, item.body, processes)
    return scope


def _check_process(item: a.Process, schema: SchemaProtocol, errors: list[CraftError],
                   processes: Mapping[str, str | None]) -> Scope:
    scope = Scope(schema, errors, None, None, in_process=True)
    scope.subject = entity_named(scope, item.entity)
    scope.subject_known = scope.subject is not None
    check_body(scope, item.body, processes)
    return scope


def _set_subject(scope: Scope, name: a.Ident) -> None:
    scope.subject = entity_named(scope, name)
    scope.subject_known = scope.subject is not None


def _check_trigger(scope: Scope, trigger: a.Trigger) -> None:
    match trigger:
        case a.RecordTrigger(entity) | a.ManualTrigger(entity):
            _set_subject(scope, entity)
        case a.ChangedTrigger(fields):
            _check_changed(scope, fields)
        case a.StageTrigger(entity, _, stage, pipeline) | a.StayTrigger(entity, stage, pipeline):
            _set_subject(scope, entity)
            if scope.subject is not None:
                check_stage(scope, scope.subject, stage, pipeline, trigger=True)
            if isinstance(trigger, a.StayTrigger):
                check_duration(scope, trigger.duration)
        case a.DateTrigger(offset, _, ref):
            check_duration(scope, offset)
            _set_subject(scope, ref.entity)
            _check_date_field(scope, ref)
        case a.ScheduleTrigger():
            _set_subject(scope, trigger.entity)
            _check_timezone(scope, trigger.timezone)
        case a.FormTrigger(form):
            _check_form(scope, form)
        case a.WebhookTrigger():
            scope.subject = None


def _check_changed(scope: Scope, fields: tuple[a.FieldRef, ...]) -> None:
    _set_subject(scope, fields[0].entity)
    for ref in fields:
        if ref.entity.name != fields[0].entity.name:
            scope.error("E_MIXED_ENTITIES", f'"{ref.entity.name}.{ref.field.name}" is not a field of '
                        f"{fields[0].entity.name}", ref.span, "one automation watches one entity")
        elif scope.subject is not None:
            info = field_of(scope, scope.subject, ref.field)
            if info is not None and info.type in ("formula", "rollup"):
                scope.error("E_COMPUTED_CHANGED", f"{scope.subject}.{ref.field.name} is a {info.type} field: "
                            "it is computed when read, so no change of it is ever recorded", ref.field.span,
                            "watch the fields it is computed from (or an updated trigger with a condition)")


def _check_date_field(scope: Scope, ref: a.FieldRef) -> None:
    if scope.subject is None:
        return
    info = field_of(scope, scope.subject, ref.field)
    dates = ("date", "datetime")
    if info is not None and info.type not in dates and info.returns not in dates:
        scope.error("E_NOT_A_DATE", f'{scope.subject}.{ref.field.name} is a {info.type} field, not a date',
                    ref.field.span)


def _check_timezone(scope: Scope, timezone: a.StringLit | None) -> None:
    if timezone is None:
        return
    try:
        zoneinfo.ZoneInfo(timezone.value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        scope.error("E_BAD_TIMEZONE", f'"{timezone.value}" is not a time zone', timezone.span,
                    suggest(timezone.value, zoneinfo.available_timezones()) or 'such as "Europe/Berlin"')


def _check_form(scope: Scope, form: a.Ident) -> None:
    forms = scope.schema.forms()
    info = forms.get(form.name)
    if info is None:
        scope.error("E_UNKNOWN_FORM", f'there is no form "{form.name}"', form.span, suggest(form.name, forms))
        scope.subject, scope.subject_known = None, False
        return
    scope.use("form", form.name)
    scope.subject = info.creates if info.creates in scope.schema.entities() else None
    scope.subject_known = scope.subject is not None


__all__ = ["check", "check_files", "check_program", "dependencies"]
