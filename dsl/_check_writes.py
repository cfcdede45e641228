"""Checking what steps write: targets that are fields of records, values that fit them, fields the
platform keeps to itself.

Why apart from :mod:`dsl._check_steps`: every writing step (``set``, ``create … with``, ``update … with``,
``assign``) goes through the same few rules, and the compiler refuses the same targets with the same
codes, so the rules live in one place.
"""

from __future__ import annotations

from dsl import ast as a
from dsl._check_expr import (
    Scope,
    check_options,
    check_stage_code,
    comparable,
    expr_type,
    field_of,
    path_text,
    resolve,
    value_type,
)
from dsl.schema import FieldInfo

#: Built-in fields the platform sets itself (the records store refuses to write them too).
_PLATFORM_FIELDS = frozenset({"id", "created_at", "updated_at", "created_by", "version", "deleted_at",
                              "stage_entered_at"})
_COMPUTED = frozenset({"id", "formula", "rollup"})
#: Built-in entities no step may write, and why.
_SYSTEM_RECORDS = {"User": "users are managed by admins, not by automations",
                   "Message": "messages are recorded by the send steps"}
_NOT_WRITABLE = {
    "old": "old.x is the value before the change and cannot be written",
    "form": "form.x is what the form posted and cannot be written",
    "payload": "payload.x is what the webhook received and cannot be written",
}


def check_set(scope: Scope, assignment: a.Assignment) -> None:
    """``set f = v``: f is a writable field of the subject (or of a record a path or binding reaches)."""
    if not writable_target(scope, assignment.target, field=True):
        expr_type(scope, assignment.value)
        return
    info, _, owner = resolve(scope, assignment.target)
    check_assignment(scope, assignment, info, owner)
    if info is not None and check_entity_writable(scope, owner, assignment.target.span):
        own = len(assignment.target.segments) == 1  # a field of the subject itself, which "move" moves
        check_read_only(scope, info, assignment.target.span, stage=own)


def check_once(scope: Scope, assignments: tuple[a.Assignment, ...]) -> None:
    """One step sets each field once: a second value for it is a mistake, not an override."""
    seen: set[str] = set()
    for assignment in assignments:
        name = path_text(assignment.target)
        if name in seen:
            scope.error("E_DUPLICATE_NAME", f'"{name}" is set twice in one step', assignment.target.span)
        seen.add(name)


def check_assignment(scope: Scope, assignment: a.Assignment, info: FieldInfo | None,
                      owner: str | None = None) -> None:
    """The value fits the field (``owner`` is the entity whose field it is: a quoted stage must be one
    of its stages)."""
    value = expr_type(scope, assignment.value)
    if info is None:
        return
    wanted = value_type(info)
    if not comparable(wanted, value, ordered=False) and not (wanted == "user" and value == "record"):
        scope.error("E_TYPE_MISMATCH", f'"{info.name}" holds {wanted} values, not {value}',
                    assignment.value.span)
    elif info.type == "stage" and owner and isinstance(assignment.value, a.StringLit):
        check_stage_code(scope, assignment.value.value, assignment.value.span, owner)
    else:
        check_options(scope, info.name, info.options if info.type == "enum" else (), assignment.value)


def writable_target(scope: Scope, target: a.Path | a.Clock, *, field: bool) -> bool:
    """Whether a step may write to ``target`` (a field when ``field``, else a record); False after
    reporting why not.  Codes as the compiler's, which refuses the same targets."""
    if isinstance(target, a.Clock):
        scope.error("E_TYPE_MISMATCH", f'"{target.kind}" is the workspace clock and cannot be written',
                    target.span, "only fields of records can be set")
        return False
    if target.scope != "record":
        scope.error("E_TYPE_MISMATCH", f'"{target.dotted}" cannot be written', target.span,
                    _NOT_WRITABLE.get(target.scope))
        return False
    first = target.segments[0].name
    if first in scope.bindings and scope.bindings[first] is None:
        scope.error("E_TYPE_MISMATCH", f'"{first}" is a result bound with "as", not a record to write',
                    target.span, "only records created or updated by a step can be written")
        return False
    if field and len(target.segments) == 1 and first in scope.bindings:
        scope.error("E_TYPE_MISMATCH", f'"{first}" is a record bound with "as", not a field', target.span,
                    f'set one of its fields, such as "{first}.owner"')
        return False
    if field and len(target.segments) == 1 and scope.subject_gone:
        scope.error("E_READ_ONLY", f'"{first}" is a field of the deleted record, which cannot change',
                    target.span, "a \"deleted\" automation may read it and change other records")
        return False
    return True


def with_field(scope: Scope, entity: str | None, target: a.Path | a.Clock) -> FieldInfo | None:
    """The field a ``create … with``/``update … with`` entry names: one plain, writable field name."""
    if entity is None:
        return None
    if isinstance(target, a.Clock) or target.scope != "record" or len(target.segments) > 1:
        scope.error("E_UNKNOWN_FIELD", f'{entity} has no field "{path_text(target)}"', target.span,
                    f'name one field of {entity}; change other records with "update"')
        return None
    info = field_of(scope, entity, target.segments[0])
    if info is not None:
        check_read_only(scope, info, target.span, stage=False)
    return info


def check_entity_writable(scope: Scope, entity: str | None, span: a.Span) -> bool:
    """Whether steps may write records of ``entity`` (not users, not sent messages); reports why not."""
    if entity in _SYSTEM_RECORDS:
        scope.error("E_READ_ONLY", f"{entity} records cannot be written by a step", span,
                    _SYSTEM_RECORDS[entity])
        return False
    return True


def check_read_only(scope: Scope, info: FieldInfo, span: a.Span, *, stage: bool) -> None:
    """Fields the platform keeps (system stamps, formulas, rollups) are never written; with ``stage``
    (the subject's own fields) neither are its stage and pipeline, which ``move to stage`` changes."""
    if stage and info.type in ("stage", "pipeline"):
        scope.error("E_READ_ONLY", f'"{info.name}" changes only by moving the record', span,
                    'use "move to stage S"')
    elif info.name in _PLATFORM_FIELDS or info.type in _COMPUTED:
        scope.error("E_READ_ONLY", f'"{info.name}" is kept by the platform and cannot be written', span)


def check_update(scope: Scope, target: a.Path, assignments: tuple[a.Assignment, ...]) -> None:
    if not writable_target(scope, target, field=False):
        for assignment in assignments:
            expr_type(scope, assignment.value)
        return
    info, kind, owner = resolve(scope, target)
    entity = info.target if info is not None and info.type in ("reference", "user") else (
        owner if kind == "record" and info is None else None)
    if info is not None and entity is None:
        scope.error("E_NOT_A_REFERENCE", f'"{target.dotted}" is not a record to update', target.span)
    if entity is not None and not check_entity_writable(scope, entity, target.span):
        entity = None
    check_once(scope, assignments)
    for assignment in assignments:
        check_assignment(scope, assignment, with_field(scope, entity, assignment.target), entity)
