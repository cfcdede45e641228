"""Checking expressions and paths against the schema: names, references, scopes and value types.

Why one pass that both resolves and types: every path is looked up once, and the type it yields is
what the operator above it is checked with.  Types are coarse families (number, string, date…);
``any`` stands for what cannot be known (payload values, JSON) and never causes an error, and an
unknown name yields ``any`` so that one typo is reported once, not at every operator above it.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass, field

from dsl import ast as a
from dsl.errors import CraftError
from dsl.schema import FieldInfo, SchemaProtocol, Use, UseKind

_VALUE_TYPE = {
    "string": "string", "text": "string", "email": "string", "phone": "string", "url": "string",
    "enum": "string", "integer": "number", "decimal": "number", "money": "number", "boolean": "boolean",
    "date": "date", "datetime": "datetime", "reference": "record", "user": "user", "many": "list",
    "tags": "list", "multi_enum": "list", "json": "any", "id": "any", "stage": "stage", "pipeline": "string",
}
#: name -> (fewest arguments, most arguments or None, result type)
FUNCTIONS: dict[str, tuple[int, int | None, str]] = {
    "lower": (1, 1, "string"), "upper": (1, 1, "string"), "trim": (1, 1, "string"), "len": (1, 1, "number"),
    "round": (1, 2, "number"), "abs": (1, 1, "number"), "min": (1, None, "any"), "max": (1, None, "any"),
    "coalesce": (1, None, "any"), "days_between": (2, 2, "number"), "date_of": (1, 1, "date"),
    "date": (1, 1, "date"), "changed": (1, 1, "boolean"),
}
_ORDERED = {"number", "string", "date", "datetime", "duration"}
_DATES = {"date", "datetime"}
_FLEXIBLE = {"any", "null"}


def suggest(name: str, candidates: Collection[str]) -> str | None:
    """The "did you mean" hint for a misspelt name, when one candidate is close enough."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"?' if close else None


def value_type(info: FieldInfo) -> str:
    """The family of a field's values (formulas and rollups by what they return)."""
    kind = info.returns if info.type in ("formula", "rollup") and info.returns else info.type
    return "number" if info.type == "rollup" and not info.returns else _VALUE_TYPE.get(kind, "any")


@dataclass
class Scope:
    """What names mean inside one automation or process."""

    schema: SchemaProtocol
    errors: list[CraftError]
    subject: str | None
    trigger: a.Trigger | None = None
    in_process: bool = False
    subject_known: bool = True
    bindings: dict[str, str | None] = field(default_factory=dict)
    #: names bound inside an ``if`` branch that has ended: taken (names are unique) but not readable
    hidden: set[str] = field(default_factory=set)
    #: approval bindings -> their options (``outcome == "failed"`` must name one)
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    uses: set[Use] = field(default_factory=set)

    def error(self, code: str, message: str, span: a.Span, hint: str | None = None) -> None:
        self.errors.append(CraftError(code, message, span, hint))

    def use(self, kind: UseKind, name: str, entity: str | None = None) -> None:
        """Remember that the program relies on this part of the schema (for change planning)."""
        self.uses.add(Use(kind, name, entity))

    @property
    def old_allowed(self) -> bool:
        return isinstance(self.trigger, a.ChangedTrigger) or (
            isinstance(self.trigger, a.RecordTrigger) and self.trigger.event == "updated")

    @property
    def subject_gone(self) -> bool:
        """A ``deleted`` automation reads its record's last values but cannot change it."""
        return isinstance(self.trigger, a.RecordTrigger) and self.trigger.event == "deleted"


def entity_named(scope: Scope, name: a.Ident) -> str | None:
    """``name`` when it is an entity; otherwise None after reporting it (with a suggestion)."""
    entities = scope.schema.entities()
    if name.name in entities:
        scope.use("entity", name.name)
        return name.name
    scope.error("E_UNKNOWN_ENTITY", f'there is no entity "{name.name}"', name.span,
                suggest(name.name, entities))
    return None


def field_of(scope: Scope, entity: str, name: a.Ident) -> FieldInfo | None:
    """The field ``name`` of ``entity``, or None after reporting it unknown (with a suggestion)."""
    fields = scope.schema.fields(entity)
    info = fields.get(name.name)
    if info is None:
        scope.error("E_UNKNOWN_FIELD", f'{entity} has no field "{name.name}"', name.span,
                    suggest(name.name, fields.keys()))
    else:
        scope.use("field", name.name, entity)
    return info


def walk(scope: Scope, entity: str, segments: tuple[a.Ident, ...]) -> tuple[FieldInfo | None, str]:
    """Follow ``segments`` from ``entity`` through references; return the last field and its owner."""
    owner = entity
    info: FieldInfo | None = None
    for index, segment in enumerate(segments):
        if index:
            if info is None or info.type not in ("reference", "user") or not info.target:
                scope.error("E_NOT_A_REFERENCE", f'"{segments[index - 1].name}" of {owner} is not a '
                            f'reference, so it has no field "{segment.name}"', segment.span)
                return None, owner
            owner = info.target
        info = field_of(scope, owner, segment)
        if info is None:
            return None, owner
    return info, owner


def resolve(scope: Scope, path: a.Path | a.Clock) -> tuple[FieldInfo | None, str, str]:
    """Resolve a path in its scope: its field (None when unknown or not a field), value type, owner entity.

    ``now``/``today`` parse where a path may stand (a write target, a recipient), so they resolve too.
    """
    if isinstance(path, a.Clock):
        return None, expr_type(scope, path), ""
    if path.scope == "payload":
        if not isinstance(scope.trigger, a.WebhookTrigger):
            scope.error("E_NO_PAYLOAD_HERE", "payload.x only exists in a webhook automation", path.span)
        return None, "any", ""
    if path.scope == "form":
        return None, _form_value(scope, path), ""
    if path.scope == "old" and not scope.old_allowed:
        scope.error("E_OLD_OUTSIDE_UPDATE", f'"{path.dotted}" needs an "updated" or "changed" trigger',
                    path.span, "old.x is the value before the change, which only update triggers have")
    first = path.segments[0].name
    if path.scope == "record" and first in scope.hidden and first not in scope.bindings:
        scope.error("E_UNKNOWN_NAME", f'"{first}" is bound inside an "if" branch, so it may not exist here',
                    path.segments[0].span, 'use it inside that branch, or bind it before the "if"')
        return None, "any", ""
    if path.scope == "record" and first in scope.bindings:
        bound = scope.bindings[first]
        if len(path.segments) == 1 or bound is None:
            return None, "record" if bound else "any", bound or ""
        info, owner = walk(scope, bound, path.segments[1:])
    elif scope.subject is None:
        if scope.subject_known:
            scope.error("E_UNKNOWN_NAME", f'"{first}" is not a binding, and this automation has no subject '
                        "record", path.segments[0].span, suggest(first, scope.bindings))
        return None, "any", ""
    else:
        info, owner = walk(scope, scope.subject, path.segments)
    return info, value_type(info) if info else "any", owner


def path_text(path: a.Path | a.Clock) -> str:
    """A path (or the clock standing where a path was expected) as written, for messages."""
    return path.kind if isinstance(path, a.Clock) else path.dotted


def _form_value(scope: Scope, path: a.Path) -> str:
    if not isinstance(scope.trigger, a.FormTrigger):
        scope.error("E_NO_FORM_HERE", "form.x only exists in a form automation", path.span)
        return "any"
    form = scope.schema.forms().get(scope.trigger.form.name)
    name = path.segments[0]
    if form is not None and form.fields and name.name not in form.fields:
        scope.error("E_UNKNOWN_FIELD", f'form {form.name} has no field "{name.name}"', name.span,
                    suggest(name.name, form.fields))
    return "string"


def check_text(scope: Scope, text: a.Text) -> None:
    """Every placeholder of a template must be a readable path."""
    if isinstance(text, a.Template):
        for part in text.parts:
            if isinstance(part, a.Path):
                resolve(scope, part)


def check_condition(scope: Scope, node: a.Expr) -> None:
    """A ``where``/``if``/``until`` condition: any expression whose value is a yes or no."""
    expect(scope, node, expr_type(scope, node), {"boolean"}, "a condition")


def expect(scope: Scope, node: a.Expr, found: str, wanted: set[str], what: str) -> None:
    if found not in wanted | _FLEXIBLE:
        scope.error("E_TYPE_MISMATCH", f"{what} must be {' or '.join(sorted(wanted))}, not {found}",
                    node.span)


def expr_type(scope: Scope, node: a.Expr) -> str:
    """Check ``node`` and return the family of its value."""
    if isinstance(node, a.Binary):
        return _binary_type(scope, node)
    if isinstance(node, a.Unary):
        operand = expr_type(scope, node.operand)
        if node.op == "not":
            expect(scope, node.operand, operand, {"boolean"}, '"not" needs a condition; its operand')
            return "boolean"
        expect(scope, node.operand, operand, {"number", "duration"}, "a negated value")
        return operand
    if isinstance(node, a.IsEmpty):
        expr_type(scope, node.operand)
        return "boolean"
    if isinstance(node, a.Path):
        return resolve(scope, node)[1]
    if isinstance(node, a.Call):
        return _call_type(scope, node)
    if isinstance(node, a.ListLit):
        for item in node.items:
            expr_type(scope, item)
        return "list"
    if isinstance(node, a.Template):
        check_text(scope, node)
    if isinstance(node, a.Clock):
        return "datetime" if node.kind == "now" else "date"
    return _LITERAL_TYPE.get(type(node), "any")


_LITERAL_TYPE: dict[type, str] = {a.Number: "number", a.Duration: "duration", a.StringLit: "string",
                                  a.Template: "string", a.Bool: "boolean", a.Null: "null"}


def _binary_type(scope: Scope, node: a.Binary) -> str:
    if isinstance(node.left, a.Path):
        info, left, owner = resolve(scope, node.left)
        if node.op in ("==", "!=", "in", "not in") and info is not None and info.type == "stage":
            _check_stage_names(scope, node.right, owner)
            return "boolean"
        if node.op in ("==", "!=", "in", "not in"):
            _check_choice(scope, node.left, info, node.right)
    else:
        left = expr_type(scope, node.left)
    if node.op in ("in", "not in") and isinstance(node.right, a.ListLit):
        _check_members(scope, left, node.right)
        return "boolean"
    right = expr_type(scope, node.right)
    if node.op in ("and", "or"):
        expect(scope, node.left, left, {"boolean"}, f'each side of "{node.op}"')
        expect(scope, node.right, right, {"boolean"}, f'each side of "{node.op}"')
        return "boolean"
    if node.op in ("in", "not in"):
        expect(scope, node.right, right, {"list"}, f'the right side of "{node.op}"')
        return "boolean"
    if node.op == "contains":
        expect(scope, node.left, left, {"string", "list"}, 'the left side of "contains"')
        if left == "string":
            expect(scope, node.right, right, {"string"}, 'what a text "contains"')
        return "boolean"
    if node.op in ("==", "!=", "<", "<=", ">", ">="):
        if not comparable(left, right, ordered=node.op not in ("==", "!=")):
            scope.error("E_TYPE_MISMATCH", f'cannot compare {left} with {right} using "{node.op}"', node.span)
        return "boolean"
    return _arithmetic(scope, node, left, right)


def _check_members(scope: Scope, left: str, members: a.ListLit) -> None:
    """``x in [a, b]``: each member could equal x (reported once per list)."""
    kinds = [expr_type(scope, item) for item in members.items]
    odd = next((kind for kind in kinds if not comparable(left, kind, ordered=False)), None)
    if odd is not None:
        scope.error("E_TYPE_MISMATCH", f"cannot look for a {left} value among {odd} values", members.span)


def comparable(left: str, right: str, *, ordered: bool) -> bool:
    if left in _FLEXIBLE or right in _FLEXIBLE:
        return True
    same = left == right or {left, right} <= _DATES or {left, right} == {"stage", "string"}
    return same and (not ordered or left in _ORDERED)


_ARITHMETIC: dict[tuple[str, str, str], str] = {
    ("+", "number", "number"): "number", ("+", "string", "string"): "string",
    ("+", "date", "duration"): "date", ("+", "datetime", "duration"): "datetime",
    ("+", "duration", "duration"): "duration", ("-", "number", "number"): "number",
    ("-", "date", "duration"): "date", ("-", "datetime", "duration"): "datetime",
    ("-", "date", "date"): "duration", ("-", "datetime", "datetime"): "duration",
    ("-", "datetime", "date"): "duration", ("-", "date", "datetime"): "duration",
    ("-", "duration", "duration"): "duration", ("*", "number", "number"): "number",
    ("*", "duration", "number"): "duration", ("*", "number", "duration"): "duration",
    ("/", "number", "number"): "number", ("/", "duration", "number"): "duration",
    ("%", "number", "number"): "number",
}


def _arithmetic(scope: Scope, node: a.Binary, left: str, right: str) -> str:
    if left in _FLEXIBLE or right in _FLEXIBLE:
        return "any" if "any" in (left, right) else "null"
    result = _ARITHMETIC.get((node.op, left, right))
    if result is None:
        scope.error("E_TYPE_MISMATCH", f'"{node.op}" does not work on {left} and {right}', node.span)
        return "any"
    return result


def _check_stage_names(scope: Scope, right: a.Expr, owner: str) -> None:
    """Beside a stage field (``stage == won``, ``stage in [won, lost]``) bare names are stage codes."""
    for item in right.items if isinstance(right, a.ListLit) else (right,):
        if isinstance(item, a.Path) and item.scope == "record" and len(item.segments) == 1:
            check_stage_code(scope, item.segments[0].name, item.segments[0].span, owner)
        elif isinstance(item, a.StringLit):
            check_stage_code(scope, item.value, item.span, owner)
        else:
            expect(scope, item, expr_type(scope, item), {"string", "stage"}, "a stage")


def _check_choice(scope: Scope, left: a.Path, info: FieldInfo | None, right: a.Expr) -> None:
    """Compared with an enum field or an approval's outcome, quoted values are among its options."""
    if info is not None and info.type == "enum":
        check_options(scope, info.name, info.options, right)
    elif left.scope == "record" and len(left.segments) == 1 and left.segments[0].name in scope.options:
        name = left.segments[0].name
        check_options(scope, name, scope.options[name], right)


def check_options(scope: Scope, name: str, options: tuple[str, ...], value: a.Expr) -> None:
    """Quoted values (``"done"``, ``["open", "done"]``) are among ``options``, when there are any."""
    if not options:
        return
    for item in value.items if isinstance(value, a.ListLit) else (value,):
        if isinstance(item, a.StringLit) and item.value not in options:
            scope.error("E_UNKNOWN_OPTION", f'"{item.value}" is not an option of {name}', item.span,
                        suggest(item.value, options) or f"the options are {', '.join(options)}")


def check_stage_code(scope: Scope, code: str, span: a.Span, owner: str) -> None:
    """``code`` is a stage of one of ``owner``'s pipelines (written bare or quoted)."""
    stages = {stage for codes in scope.schema.pipelines(owner).values() for stage in codes}
    if code not in stages:
        scope.error("E_UNKNOWN_STAGE", f'{owner} has no stage "{code}"', span, suggest(code, stages))
    else:
        scope.use("stage", code, owner)


def _call_type(scope: Scope, node: a.Call) -> str:
    name = node.name.name
    spec = FUNCTIONS.get(name)
    if spec is None:
        scope.error("E_UNKNOWN_FUNCTION", f'there is no function "{name}"', node.name.span,
                    suggest(name, FUNCTIONS))
        return "any"
    fewest, most, result = spec
    counted = fewest <= len(node.args) and (most is None or len(node.args) <= most)
    if not counted:
        wanted = (str(fewest) if fewest == most else f"{fewest} or more" if most is None
                  else f"{fewest} to {most}")
        scope.error("E_TYPE_MISMATCH", f"{name}() takes {wanted} argument(s), not {len(node.args)}",
                    node.span)
    if name == "changed":
        return _changed_type(scope, node)
    found = [expr_type(scope, arg) for arg in node.args]
    wanted_types = _ARGUMENTS.get(name) if counted else None
    for index, (arg, kind) in enumerate(zip(node.args, found, strict=True)):
        if wanted_types:
            expect(scope, arg, kind, set(wanted_types[min(index, len(wanted_types) - 1)]),
                   f"the argument of {name}()")
    return _extreme_type(scope, node, found) if name in ("min", "max") else result


#: The value families each function takes, by position (the last one repeats).
_ARGUMENTS: dict[str, tuple[frozenset[str], ...]] = {
    "lower": (frozenset({"string"}),), "upper": (frozenset({"string"}),), "trim": (frozenset({"string"}),),
    "len": (frozenset({"string", "list"}),), "abs": (frozenset({"number"}),),
    "round": (frozenset({"number"}),), "days_between": (frozenset(_DATES),),
    "date_of": (frozenset(_DATES),), "date": (frozenset({"string"}),),
}


def _extreme_type(scope: Scope, node: a.Call, found: list[str]) -> str:
    """min/max compare their arguments, so they must be of one ordered family; the result is of it."""
    known = [kind for kind in found if kind not in _FLEXIBLE]
    if any(not comparable(known[0], kind, ordered=True) for kind in known):
        kinds = " and ".join(sorted(set(known)))
        scope.error("E_TYPE_MISMATCH", f"{node.name.name}() cannot compare {kinds}", node.span)
        return "any"
    return known[0] if known and len(set(known)) == 1 else "any"


def _changed_type(scope: Scope, node: a.Call) -> str:
    """``changed(x)``: x is one field of the subject, written as a plain name."""
    if not scope.old_allowed:
        scope.error("E_OLD_OUTSIDE_UPDATE", 'changed(x) needs an "updated" or "changed" trigger', node.span)
    for arg in node.args:
        if (isinstance(arg, a.Path) and arg.scope == "record" and len(arg.segments) == 1
                and arg.segments[0].name not in scope.bindings):
            expr_type(scope, arg)
        else:
            scope.error("E_TYPE_MISMATCH", "changed() takes a field of the subject, such as changed(amount)",
                        arg.span)
    return "boolean"
