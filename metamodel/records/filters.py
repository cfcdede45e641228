"""Compile a ``where`` (the GraphQL filter input, snake_case) to one SQL condition.

The whole filter becomes a single boolean expression, with references,
inverse lists and many-to-many fields as subqueries, so a filtered list is
still one statement.  Semantics a user relies on:

* ``neq`` and ``nin`` also match empty (NULL) values: "not equal to X"
  includes records where the field is not set.
* ``not`` is two-valued: ``not {amount: {gt: 5}}`` includes records whose
  amount is empty (SQL would drop them, as ``NULL > 5`` is unknown).
* A reference filter matches only when the referenced record exists and is
  not soft-deleted; inverse lists and ``many`` lists ignore soft-deleted
  members.  ``some`` = at least one member matches, ``none`` = no member does.
* On a reference, operator keys (``eq``, ``in``…) compare the id; other keys
  are fields of the target.  An operator name wins over a field of that name.
* ``contains``/``startsWith`` are case-sensitive on both databases, with
  wildcards in the value taken literally; ``icontains`` folds ASCII case
  everywhere (PostgreSQL folds every script; SQLite's ``lower`` only ASCII).
* ``hidden`` holds (entity, field) pairs the caller may not see; naming one
  anywhere in a filter raises ``InvalidQuery`` with code ``FORBIDDEN``.  An
  (entity, ``"*"``) pair says the caller may not read that entity at all: a
  reference, inverse list or ``many`` list entering it is refused the same way,
  since matching on its fields would reveal them.  The filtered entity itself is
  the caller's check (its permission differs: read for a list, update for a
  broadcast); comparing a reference's own id (``contact: {eq: 5}``) enters nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from metamodel.definitions import EntityDef, FieldDef, FieldType, StageKind
from metamodel.records.computed import (
    ORDERED,
    FieldSpec,
    Kind,
    VType,
    coerce_value,
    did_you_mean,
    fail,
    specs_for,
    stage_kind_in,
)
from metamodel.storage import system_tables
from metamodel.storage.catalog import WorkspaceMeta

Hidden = frozenset[tuple[str, str]]
#: The field name of an (entity, field) pair in ``hidden`` that makes the whole entity unreadable.
UNREADABLE = "*"
Binds = dict[str, tuple[str, Callable[[Any], Any]]]
LOGICAL = ("and", "or", "not")
EQUALITY = frozenset({"eq", "neq", "in", "nin", "isNull"})
COMPARE = frozenset({"gt", "gte", "lt", "lte"})
STRING_OPS = frozenset({"contains", "icontains", "startsWith"})
LIST_OPS = frozenset({"hasAny", "hasAll", "isNull"})
QUANTIFIERS = frozenset({"some", "none"})


def operators_for(vtype: VType) -> frozenset[str]:
    """The operators a value type accepts (enums, codes and booleans have no order)."""
    if vtype is VType.LIST:
        return LIST_OPS
    if vtype is VType.JSON:
        return frozenset({"isNull"})
    ops = EQUALITY
    if vtype in ORDERED:
        ops = ops | COMPARE
    if vtype is VType.TEXT:
        ops = ops | STRING_OPS
    return ops


# --- compilation ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Scope:
    """Where a (sub)filter applies: which entity, through which table alias."""

    meta: WorkspaceMeta
    entity: EntityDef
    table: FromClause
    hidden: Hidden
    binds: Binds

    def nested(self, entity: EntityDef, table: FromClause) -> Scope:
        return Scope(self.meta, entity, table, self.hidden, self.binds)


def compile_where(meta: WorkspaceMeta, entity: str, table: FromClause, where: Mapping[str, Any] | None,
                  hidden: Hidden = frozenset(), binds: Binds | None = None) -> ColumnElement[bool]:
    """The condition ``where`` puts on rows of ``table`` (``true`` when there is no filter).

    Every operand becomes a named bound parameter; ``binds`` (when given) is
    filled with operand path -> (parameter name, converter).
    """
    if not where:
        return sa.true()
    scope = Scope(meta, meta.blueprint.get_entity(entity), table, hidden, {} if binds is None else binds)
    return _where(scope, where, "where")


def _where(scope: Scope, where: Any, path: str) -> ColumnElement[bool]:
    if not isinstance(where, Mapping):
        raise fail(path, "expected an object of fields and operators")
    parts: list[ColumnElement[bool]] = []
    for key, value in where.items():
        sub = f"{path}.{key}"
        if key in ("and", "or"):
            if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
                raise fail(sub, f'"{key}" takes a list of filters')
            items = [_where(scope, item, f"{sub}[{i}]") for i, item in enumerate(value)]
            parts.append(sa.and_(sa.true(), *items) if key == "and" else sa.or_(sa.false(), *items))
        elif key == "not":
            parts.append(sa.not_(sa.func.coalesce(_where(scope, value, sub), sa.false())))
        else:
            parts.append(_field(scope, lookup(scope.meta, scope.entity, key, sub, scope.hidden), value, sub))
    return sa.and_(sa.true(), *parts)


def lookup(meta: WorkspaceMeta, entity: EntityDef, name: str, path: str, hidden: Hidden) -> FieldSpec:
    """The spec of ``name`` on ``entity``, refusing unknown and hidden fields and broken expressions."""
    specs = specs_for(meta, entity.name)
    spec = specs.get(name)
    if spec is None:
        hint = did_you_mean(name, [*specs, *LOGICAL])
        raise fail(path, f'{entity.name} has no field "{name}"{hint}')
    if (entity.name, name) in hidden:
        raise fail(path, f'{entity.name}.{name} is not visible to you', code="FORBIDDEN")
    if spec.kind is Kind.PENDING:
        raise fail(path, spec.pending, spec.pending_code)
    return spec


def _enter(scope: Scope, target: str, path: str) -> EntityDef:
    """The entity a filter steps into, refused when the caller may not read it."""
    if (target, UNREADABLE) in scope.hidden:
        raise fail(path, f"{target} records are not readable by your role", code="FORBIDDEN")
    return scope.meta.blueprint.get_entity(target)


def _field(scope: Scope, spec: FieldSpec, cond: Any, path: str) -> ColumnElement[bool]:
    if not isinstance(cond, Mapping) or not cond:
        raise fail(path, "expected an object of operators")
    if spec.kind in (Kind.INVERSE, Kind.MANY):
        return _quantified(scope, spec, cond, path)
    ops = {k: v for k, v in cond.items() if k in operators_for(spec.vtype)}
    rest = {k: v for k, v in cond.items() if k not in ops}
    parts = [_operators(scope, spec, ops, path)] if ops else []
    if spec.kind in (Kind.REFERENCE, Kind.USER) and "id" in rest:  # the id is the column itself
        parts.append(_field(scope, FieldSpec(spec.name, Kind.VALUE, VType.INT), rest.pop("id"),
                            f"{path}.id"))
    if rest and spec.kind is Kind.STAGE and set(rest) == {"kind"}:
        parts.append(_stage_kind(scope, rest["kind"], f"{path}.kind"))
    elif rest and spec.kind is Kind.REFERENCE:
        parts.append(_reference(scope, spec, rest, path))
    elif rest and spec.kind is Kind.USER:
        parts.append(_user(scope, spec, rest, path))
    elif rest:
        bad = next(iter(rest))
        allowed = sorted(operators_for(spec.vtype))
        raise fail(f"{path}.{bad}", f'"{bad}" does not apply to {spec.name} ({spec.vtype.value}); '
                   f'use one of {", ".join(allowed)}{did_you_mean(bad, allowed)}')
    return sa.and_(*parts)


def _operators(scope: Scope, spec: FieldSpec, ops: Mapping[str, Any], path: str) -> ColumnElement[bool]:
    col = spec.expr(scope.meta, scope.entity, scope.table)
    parts = [_operator(scope, col, spec, op, value, f"{path}.{op}") for op, value in ops.items()]
    return sa.and_(*parts)


#: Most values an ``in``/``nin``/``hasAny``/``hasAll`` list may hold (PostgreSQL binds each one).
MAX_LIST = 1000
#: Most operands one filter may hold.
MAX_OPERANDS = 1000


def _values(spec: FieldSpec, value: Any, path: str) -> list[Any]:
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise fail(path, "expected a list of values")
    if len(value) > MAX_LIST:
        raise fail(path, f"a list of at most {MAX_LIST} values, not {len(value)}")
    return [coerce_value(spec, v, f"{path}[{i}]") for i, v in enumerate(value)]


def _operator(scope: Scope, col: ColumnElement[Any], spec: FieldSpec, op: str, value: Any,
              path: str) -> ColumnElement[bool]:
    if op == "isNull":
        if not isinstance(value, bool):
            raise fail(path, "isNull takes true or false")
        empty = _is_empty(col, spec)
        return empty if value else sa.not_(empty)
    if op in ("hasAny", "hasAll"):
        return _has(col, _values(spec, value, path), every=op == "hasAll", dialect=scope.meta.dialect)
    if op in ("in", "nin"):
        param = _bind(scope, path, col, lambda v: _values(spec, v, path), value, expanding=True)
        return col.in_(param) if op == "in" else sa.or_(col.is_(None), col.not_in(param))
    like = op in STRING_OPS and (scope.meta.dialect != "sqlite" or op == "icontains")
    return _scalar(col, op, _bind(scope, path, col, _scalar_value(spec, path, op, like), value),
                   scope.meta.dialect)


def _scalar_value(spec: FieldSpec, path: str, op: str, like: bool) -> Callable[[Any], Any]:
    """The converter of one operand: typed, and LIKE-escaped where it becomes a pattern."""

    def convert(value: Any) -> Any:
        if value is None:
            raise fail(path, f"{op} needs a value; use isNull to match empty ones")
        typed = coerce_value(spec, value, path)
        return typed.replace("/", "//").replace("%", "/%").replace("_", "/_") if like else typed

    return convert


def _bind(scope: Scope, path: str, col: ColumnElement[Any], convert: Callable[[Any], Any], value: Any,
          expanding: bool = False) -> Any:
    """A named bound parameter for the operand at ``path``, registered in ``scope.binds``.

    Naming operands by their path lets a cached statement be executed again
    with the next request's values (see ``query``), skipping its construction.
    """
    name = f"w{len(scope.binds)}"
    if len(scope.binds) >= MAX_OPERANDS:
        raise fail(path, f"a filter may compare at most {MAX_OPERANDS} values")
    scope.binds[path] = (name, convert)
    return sa.bindparam(name, convert(value), type_=col.type, expanding=expanding)


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def _scalar(col: ColumnElement[Any], op: str, param: Any, dialect: str) -> ColumnElement[bool]:
    if op in _COMPARE:
        return cast(ColumnElement[bool], _COMPARE[op](col, param))
    if op == "neq":
        return sa.or_(col.is_(None), col != param)
    if op == "icontains":
        return col.icontains(param, escape="/")
    if dialect == "sqlite":  # SQLite's LIKE ignores case: use case-sensitive functions instead
        if op == "contains":
            return sa.func.instr(col, param) > 0
        return cast(ColumnElement[bool], sa.func.substr(col, 1, sa.func.length(param)) == param)
    if op == "contains":
        return col.contains(param, escape="/")
    return col.startswith(param, escape="/")


def _is_empty(col: ColumnElement[Any], spec: FieldSpec) -> ColumnElement[bool]:
    """NULL; for JSON columns also a JSON ``null``, and for lists an empty list."""
    if spec.vtype not in (VType.LIST, VType.JSON):
        return col.is_(None)
    empties = ["null", "[]"] if spec.vtype is VType.LIST else ["null"]
    return sa.or_(col.is_(None), sa.cast(col, sa.Text).in_(empties))


def _has(col: ColumnElement[Any], values: list[str], every: bool, dialect: str) -> ColumnElement[bool]:
    """hasAny/hasAll on a JSON array of strings."""
    wanted = sorted(set(values))
    if not wanted:
        return sa.true() if every else sa.false()
    if dialect == "postgresql":
        doc = sa.cast(col, postgresql.JSONB)
        array = postgresql.array(wanted)
        return cast(ColumnElement[bool], doc.has_all(array) if every else doc.has_any(array))
    elements = sa.func.json_each(col).table_valued("value", joins_implicitly=True)
    if not every:
        return sa.exists(sa.select(sa.literal(1)).select_from(elements).where(elements.c.value.in_(wanted)))
    found = sa.select(sa.func.count(sa.distinct(elements.c.value))).select_from(elements)
    return found.where(elements.c.value.in_(wanted)).scalar_subquery() == len(wanted)


def _stage_kind(scope: Scope, cond: Any, path: str) -> ColumnElement[bool]:
    kind_spec = FieldSpec("kind", Kind.VALUE, VType.CODE, tuple(k.value for k in StageKind))
    if not isinstance(cond, Mapping) or not cond:
        raise fail(path, "expected an object of operators (eq, neq, in, nin)")
    parts = []
    for op, value in cond.items():
        sub = f"{path}.{op}"
        if op in ("eq", "neq"):
            kinds = {StageKind(coerce_value(kind_spec, value, sub))}
        elif op in ("in", "nin"):
            kinds = {StageKind(v) for v in _values(kind_spec, value, sub)}
        else:
            raise fail(sub, f'"{op}" does not apply to a stage kind; use eq, neq, in or nin')
        match = stage_kind_in(scope.entity, scope.table, kinds)
        if op in ("eq", "in"):
            parts.append(match)
        else:
            stage = scope.table.c.stage
            parts.append(sa.or_(stage.is_(None), sa.not_(sa.func.coalesce(match, sa.false()))))
    return sa.and_(*parts)


def _reference(scope: Scope, spec: FieldSpec, cond: Mapping[str, Any], path: str) -> ColumnElement[bool]:
    """``col IS NOT NULL AND col IN (SELECT id FROM target WHERE live AND nested)`` (two-valued)."""
    assert spec.target is not None
    entity = _enter(scope, spec.target, path)
    target = scope.meta.tables.entity(spec.target).alias()
    inner = scope.nested(entity, target)
    ids = sa.select(target.c.id).where(target.c.deleted_at.is_(None), _where(inner, cond, path))
    col = scope.table.c[spec.name]
    return sa.and_(col.is_not(None), col.in_(ids))


USER_ENTITY = EntityDef("User", "User", "users", (
    FieldDef("email", FieldType.EMAIL), FieldDef("name", FieldType.STRING),
    FieldDef("role", FieldType.STRING), FieldDef("active", FieldType.BOOLEAN)))
_USER_SPECS = {
    "id": FieldSpec("id", Kind.VALUE, VType.INT), "email": FieldSpec("email", Kind.VALUE, VType.TEXT),
    "name": FieldSpec("name", Kind.VALUE, VType.TEXT), "role": FieldSpec("role", Kind.VALUE, VType.TEXT),
    "active": FieldSpec("active", Kind.VALUE, VType.BOOL),
    "created_at": FieldSpec("created_at", Kind.VALUE, VType.DATETIME),
}


def _user(scope: Scope, spec: FieldSpec, cond: Mapping[str, Any], path: str) -> ColumnElement[bool]:
    """A user field (owner, created_by, ``user`` fields) filtered by the user's own fields."""
    users = system_tables.users.alias()
    parts: list[ColumnElement[bool]] = [users.c.workspace == scope.meta.workspace]
    if not cond:
        return sa.true()
    for key, value in cond.items():
        sub = f"{path}.{key}"
        user_spec = _USER_SPECS.get(key)
        if user_spec is None:
            raise fail(sub, f'User has no field "{key}"{did_you_mean(key, list(_USER_SPECS))}')
        if not isinstance(value, Mapping) or not value:
            raise fail(sub, "expected an object of operators")
        unknown = set(value) - operators_for(user_spec.vtype)
        if unknown:
            raise fail(f"{sub}.{sorted(unknown)[0]}", f"not an operator for User.{key}")
        parts.append(_operators(scope.nested(USER_ENTITY, users), user_spec, value, sub))
    col = scope.table.c[spec.name]
    return sa.and_(col.is_not(None), col.in_(sa.select(users.c.id).where(*parts)))


def _quantified(scope: Scope, spec: FieldSpec, cond: Mapping[str, Any], path: str) -> ColumnElement[bool]:
    """``some``/``none`` over an inverse list or a many-to-many list: correlated EXISTS."""
    bad = set(cond) - QUANTIFIERS
    if bad:
        key = sorted(bad)[0]
        raise fail(f"{path}.{key}", f'{spec.name} is a list: use "some" or "none"'
                   f"{did_you_mean(key, sorted(QUANTIFIERS))}")
    assert spec.target is not None
    entity = _enter(scope, spec.target, path)
    parts = []
    for quant, sub in cond.items():
        member = scope.meta.tables.entity(spec.target).alias()
        inner = scope.nested(entity, member)
        match = _where(inner, sub, f"{path}.{quant}")
        query = sa.select(sa.literal(1)).where(member.c.deleted_at.is_(None), match)
        if spec.kind is Kind.INVERSE:
            assert spec.via is not None
            query = query.select_from(member).where(member.c[spec.via] == scope.table.c.id)
        else:
            link = scope.meta.tables.junction(scope.entity.name, spec.name).alias()
            query = query.select_from(link.join(member, member.c.id == link.c.right_id))
            query = query.where(link.c.left_id == scope.table.c.id)
        exists = sa.exists(query)
        parts.append(exists if quant == "some" else sa.not_(exists))
    return sa.and_(*parts)
