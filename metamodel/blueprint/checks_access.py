"""Checks of roles, users, groups and forms against the declared entities and people."""

from __future__ import annotations

from collections.abc import Callable

from metamodel.blueprint import codes
from metamodel.blueprint.build_access import ADMIN_ROLE
from metamodel.blueprint.names import fold
from metamodel.blueprint.reader import Reader, did_you_mean
from metamodel.blueprint.reserved import BUILTIN_ENTITIES, BUILTIN_FIELDS
from metamodel.definitions import COMPUTED, Blueprint, EntityDef, FormDef, RoleDef
from metamodel.errors import Problem

Check = Callable[[Blueprint, Reader], list[Problem]]
ANY_ENTITY = "*"


def _check_role_entities(bp: Blueprint, r: Reader) -> list[Problem]:
    """Roles may grant the declared entities, the built-in ones, or every entity ("*")."""
    known = [e.name for e in bp.entities] + sorted(BUILTIN_ENTITIES)
    found: list[Problem] = []
    for role in bp.roles:
        for entity, _ in role.entities:
            if entity != ANY_ENTITY and entity not in known:
                found.append(Problem(codes.ROLE_UNKNOWN_ENTITY, f'role "{role.name}" names unknown entity '
                                     f'"{entity}"', r.key_place((*r.path_of(role), "entities", entity)),
                                     did_you_mean(entity, known)))
    return found


def _check_hidden_fields(bp: Blueprint, r: Reader) -> list[Problem]:
    found: list[Problem] = []
    for role in bp.roles:
        for entity_name, fields in role.hide_fields:
            found += _hidden_problems(bp, r, role, entity_name, fields)
    return found


def _hidden_problems(bp: Blueprint, r: Reader, role: RoleDef, entity_name: str,
                     fields: tuple[str, ...]) -> list[Problem]:
    path = (*r.path_of(role), "hide_fields", entity_name)
    if entity_name == ANY_ENTITY:
        entities = list(bp.entities)
    elif (entity := bp.find_entity(entity_name)) is not None:
        entities = [entity]
    else:
        return [Problem(codes.ROLE_UNKNOWN_HIDDEN, f'hide_fields names unknown entity "{entity_name}"',
                        r.key_place(path), did_you_mean(entity_name, [e.name for e in bp.entities]))]
    inverses = {ref.inverse or "" for e in entities for _, ref in bp.inverses_of(e.name)}
    known = set(BUILTIN_FIELDS) | {f.name for e in entities for f in e.fields} | inverses
    return [Problem(codes.ROLE_UNKNOWN_HIDDEN, f'hide_fields names unknown field "{name}" of {entity_name}',
                    r.value_place((*path, index)), did_you_mean(name, known))
            for index, name in enumerate(fields) if name not in known]


def _check_user_roles(bp: Blueprint, r: Reader) -> list[Problem]:
    roles = [ADMIN_ROLE, *(role.name for role in bp.roles)]
    return [Problem(codes.USER_UNKNOWN_ROLE, f'user "{user.email}" has unknown role "{user.role}"',
                    r.value_place((*r.path_of(user), "role")), did_you_mean(user.role, roles))
            for user in bp.users if user.role and user.role not in roles]


def _check_group_members(bp: Blueprint, r: Reader) -> list[Problem]:
    emails = {fold(u.email) for u in bp.users}
    found: list[Problem] = []
    for group in bp.groups:
        for index, member in enumerate(group.members):
            if fold(member) not in emails:
                hint = did_you_mean(member, [u.email for u in bp.users]) or "add it under users:"
                found.append(Problem(codes.GROUP_UNKNOWN_MEMBER, f'group "{group.name}" member "{member}" is '
                                     "not a declared user", r.at(group, "members", index), hint))
    return found


def _check_forms(bp: Blueprint, r: Reader) -> list[Problem]:
    found: list[Problem] = []
    names = [e.name for e in bp.entities]
    for form in bp.forms:
        entity = bp.find_entity(form.creates)
        if entity is None:
            found.append(Problem(codes.FORM_UNKNOWN_ENTITY, f'form "{form.name}" creates unknown entity '
                                 f'"{form.creates}"', r.value_place((*r.path_of(form), "creates")),
                                 did_you_mean(form.creates, names)))
        else:
            found += _form_map_problems(r, form, entity)
    return found


def _form_map_problems(r: Reader, form: FormDef, entity: EntityDef) -> list[Problem]:
    path = (*r.path_of(form), "map")
    found: list[Problem] = []
    for field_name, _ in form.map:
        fld = entity.find_field(field_name)
        if fld is None:
            found.append(Problem(codes.FORM_UNKNOWN_FIELD, f'{entity.name} has no field "{field_name}"',
                                 r.key_place((*path, field_name)),
                                 did_you_mean(field_name, [f.name for f in entity.fields])))
        elif fld.type in COMPUTED:
            found.append(Problem(codes.FORM_COMPUTED_FIELD, f'"{field_name}" is a {fld.type.value} field and '
                                 "cannot be written by a form", r.key_place((*path, field_name))))
    mapped = {name for name, _ in form.map}
    missing = [f.name for f in entity.fields if f.required and not f.has_default and f.name not in mapped]
    if missing:
        found.append(Problem(codes.FORM_MISSING_REQUIRED, f'form "{form.name}" does not map required '
                             f"field(s) {', '.join(missing)} of {entity.name}", r.key_at(form),
                             "map them, or give them a default"))
    return found


ACCESS_CHECKS: tuple[Check, ...] = (
    _check_role_entities, _check_hidden_fields, _check_user_roles, _check_group_members, _check_forms,
)
