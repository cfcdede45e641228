"""Roles, groups, users and forms: parsed and checked now, enforced by the API layer later.

Only what needs nothing but the entry itself is checked here (action names,
``records:``, email shape, the reserved ``admin`` role); whether the named
entities, fields, roles and users exist is a cross-check run on the whole
blueprint afterwards.
"""

from __future__ import annotations

import re
from typing import Any

from metamodel.blueprint import codes
from metamodel.blueprint.reader import Reader, did_you_mean
from metamodel.blueprint.values import EMAIL_PATTERN
from metamodel.blueprint.yaml_positions import Path
from metamodel.definitions import ACTIONS, FormDef, GroupDef, RoleDef, UserDef

ROLE_KEYS = ("entities", "records", "hide_fields")
GROUP_KEYS = ("members",)
USER_KEYS = ("email", "name", "role")
FORM_KEYS = ("creates", "map")
RECORDS = ("own", "all")
ADMIN_ROLE = "admin"


def build_roles(r: Reader, raw: Any) -> tuple[RoleDef, ...]:
    roles = r.mapping(("roles",), raw, '"roles"') or {}
    return tuple(role for name, body in roles.items()
                 if (role := _role(r, name, body, ("roles", name))) is not None)


def _role(r: Reader, name: str, raw: Any, path: Path) -> RoleDef | None:
    data = r.mapping(path, raw, f'role "{name}"')
    if data is None:
        return None
    if name == ADMIN_ROLE:
        r.add(codes.ROLE_REDEFINES_ADMIN, 'the built-in role "admin" cannot be redefined', r.key_place(path),
              "admin already has every entity and action; give your role another name")
    r.known_keys(path, data, ROLE_KEYS, f'role "{name}"')
    records = r.text(path, data, "records") or "all"
    if records not in RECORDS:
        r.add(codes.ROLE_BAD_RECORDS, f'records must be "own" or "all", not "{records}"',
              r.value_place((*path, "records")), did_you_mean(records, RECORDS))
    role = RoleDef(
        name=name, entities=_grants(r, data, path, check_actions=True), own_records_only=records == "own",
        hide_fields=_grants(r, data, path, check_actions=False), place=r.key_place(path),
    )
    return r.remember(role, path)


def _grants(r: Reader, data: dict[str, Any], path: Path, *,
            check_actions: bool) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``entities:`` (entity → actions) or ``hide_fields:`` (entity → fields) as pairs."""
    key = "entities" if check_actions else "hide_fields"
    where = (*path, key)
    grants = r.mapping(where, data.get(key), f'"{key}"') or {}
    result: list[tuple[str, tuple[str, ...]]] = []
    for entity in grants:
        names = r.texts(where, grants, entity) or ()
        if check_actions:
            for index, action in enumerate(names):
                if action not in ACTIONS:
                    r.add(codes.ROLE_UNKNOWN_ACTION, f'unknown action "{action}"',
                          r.value_place((*where, entity, index)),
                          did_you_mean(action, ACTIONS) or f"actions: {', '.join(ACTIONS)}")
        result.append((entity, names))
    return tuple(result)


def build_groups(r: Reader, raw: Any) -> tuple[GroupDef, ...]:
    groups = r.mapping(("groups",), raw, '"groups"') or {}
    result: list[GroupDef] = []
    for name, body in groups.items():
        path: Path = ("groups", name)
        data = r.mapping(path, body, f'group "{name}"')
        if data is None:
            continue
        r.known_keys(path, data, GROUP_KEYS, f'group "{name}"')
        members = r.texts(path, data, "members") or ()
        result.append(r.remember(GroupDef(name=name, members=members, place=r.key_place(path)), path))
    return tuple(result)


def build_users(r: Reader, raw: Any) -> tuple[UserDef, ...]:
    items = r.listing(("users",), raw, '"users"') or []
    result: list[UserDef] = []
    for index, body in enumerate(items):
        path: Path = ("users", index)
        data = r.mapping(path, body, "a user")
        if data is None or not r.require(path, data, "email", "a user"):
            continue
        r.known_keys(path, data, USER_KEYS, "a user")
        email = r.text(path, data, "email") or ""
        if not re.match(EMAIL_PATTERN, email):
            r.add(codes.BAD_EMAIL, f'"{email}" is not an email address', r.value_place((*path, "email")))
        role = r.text(path, data, "role") if r.require(path, data, "role", "a user") else None
        user = UserDef(email=email, name=r.text(path, data, "name") or email, role=role or "",
                       place=r.key_place(path))
        result.append(r.remember(user, path))
    return tuple(result)


def build_forms(r: Reader, raw: Any) -> tuple[FormDef, ...]:
    forms = r.mapping(("forms",), raw, '"forms"') or {}
    result: list[FormDef] = []
    for name, body in forms.items():
        path: Path = ("forms", name)
        data = r.mapping(path, body, f'form "{name}"')
        if data is None or not r.require(path, data, "creates", f'form "{name}"'):
            continue
        r.known_keys(path, data, FORM_KEYS, f'form "{name}"')
        mapping = r.mapping((*path, "map"), data.get("map"), '"map"') or {}
        pairs = tuple((field, text) for field in mapping
                      if (text := r.text((*path, "map"), mapping, field)) is not None)
        form = FormDef(name=name, creates=r.text(path, data, "creates") or "", map=pairs,
                       place=r.key_place(path))
        result.append(r.remember(form, path))
    return tuple(result)
