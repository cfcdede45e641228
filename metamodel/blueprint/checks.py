"""The check pass over built definitions: names and duplicates, then the model and access checks.

Like Django's system checks, every rule is a small ``_check_*`` function that
returns a list of coded problems; ``run_checks`` runs them all, so a consultant
sees every problem of a blueprint in one run.  Places come from the reader,
which knows the YAML path of every definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from metamodel.blueprint import codes
from metamodel.blueprint.checks_access import ACCESS_CHECKS
from metamodel.blueprint.checks_model import MODEL_CHECKS
from metamodel.blueprint.names import (
    NameKind,
    derive_plural,
    fold,
    lower_camel,
    name_issue,
    sql_names,
    too_long,
)
from metamodel.blueprint.reader import Reader
from metamodel.blueprint.reserved import (  # E114 and E115 report the built-in and GraphQL names
    API_ROOT_FIELDS,
    API_TYPE_NAMES,
    API_TYPE_SUFFIXES,
    BUILTIN_ENTITIES,
    GRAPHQL_RESERVED_TYPES,
)
from metamodel.definitions import Blueprint
from metamodel.errors import Place, Problem
from metamodel.storage.naming import WORKSPACE_RULE, is_workspace_name

Check = Callable[[Blueprint, Reader], list[Problem]]
CODES = codes.CODES


def _name(kind: NameKind, name: str, place: Place) -> list[Problem]:
    issue = name_issue(kind, name)
    return [Problem(issue.code, issue.message, place, issue.hint)] if issue else []


def _check_workspace(bp: Blueprint, r: Reader) -> list[Problem]:
    if bp.workspace is None or is_workspace_name(bp.workspace):
        return []
    return [Problem(codes.BAD_WORKSPACE, f'workspace name "{bp.workspace}" {WORKSPACE_RULE}',
                    r.value_place(("workspace",)))]


def _check_entity_names(bp: Blueprint, r: Reader) -> list[Problem]:
    found: list[Problem] = []
    for entity in bp.entities:
        path = r.path_of(entity)
        issues = _name(NameKind.ENTITY, entity.name, r.key_place(path))
        found += issues
        if not issues and too_long(sql_names(entity).table):
            found.append(Problem(codes.DERIVED_NAME_TOO_LONG, f'the table of "{entity.name}" '
                                 f'("{sql_names(entity).table}") is longer than 63 bytes', r.key_place(path)))
        if r.doc.text((*path, "plural")) is not None:  # a derived plural is valid by construction
            found += _name(NameKind.PLURAL, entity.plural, r.value_place((*path, "plural")))
    return found


def _check_field_names(bp: Blueprint, r: Reader) -> list[Problem]:
    found: list[Problem] = []
    for entity in bp.entities:
        junctions = dict(sql_names(entity).junctions)
        for fld in entity.fields:
            path = r.path_of(fld)
            issues = _name(NameKind.FIELD, fld.name, r.key_place(path))
            found += issues
            if fld.inverse is not None:
                found += _name(NameKind.INVERSE, fld.inverse, r.value_place((*path, "inverse")))
            table = junctions.get(fld.name, "")
            if not issues and too_long(table):
                found.append(Problem(codes.DERIVED_NAME_TOO_LONG, f'the junction table of "{entity.name}.'
                                     f'{fld.name}" ("{table}") is longer than 63 bytes', r.key_place(path),
                                     "shorten the entity or the field name"))
    return found


def _check_pipeline_names(bp: Blueprint, r: Reader) -> list[Problem]:
    found: list[Problem] = []
    for entity in bp.entities:
        for pipeline in entity.pipelines:
            found += _name(NameKind.PIPELINE, pipeline.code, r.key_place(r.path_of(pipeline)))
            for stage in (*pipeline.stages, *pipeline.removed_stages):
                found += _name(NameKind.STAGE, stage.code, r.value_place((*r.path_of(stage), "code")))
    return found


def _check_access_names(bp: Blueprint, r: Reader) -> list[Problem]:
    found: list[Problem] = []
    for kind, items in ((NameKind.ROLE, bp.roles), (NameKind.GROUP, bp.groups), (NameKind.FORM, bp.forms)):
        for item in items:
            found += _name(kind, item.name, r.key_place(r.path_of(item)))
    return found


def find_duplicates(items: Iterable[tuple[str, Place]], what: str, hint: str = "") -> list[Problem]:
    """One problem per name that folds (case, NFKC) onto an earlier one."""
    seen: dict[str, str] = {}
    found: list[Problem] = []
    for name, place in items:
        key = fold(name)
        if key in seen:
            message = (f'{what} "{name}" is declared twice' if seen[key] == name else
                       f'{what} "{name}" duplicates "{seen[key]}": they differ only by case or Unicode form')
            found.append(Problem(codes.DUPLICATE_NAME, message, place, hint))
        else:
            seen[key] = name
    return found


def _check_duplicate_entities(bp: Blueprint, r: Reader) -> list[Problem]:
    """Entity names, then the GraphQL names each entity takes (``deal`` and ``deals``)."""
    found = find_duplicates(((e.name, r.key_place(r.path_of(e))) for e in bp.entities), "entity")
    already = {p.place for p in found}
    names: list[tuple[str, Place]] = []
    for entity in bp.entities:
        path = r.path_of(entity)
        if r.key_place(path) not in already and entity.name not in BUILTIN_ENTITIES:  # E115 says it
            names += [(lower_camel(entity.name), r.key_place(path)),
                      (entity.plural, r.value_place((*path, "plural")))]
    return (found + find_duplicates(names, "GraphQL name", "each entity needs its own singular and plural")
            + _builtin_graphql_clashes(names) + _api_type_clashes(bp, r))


def _api_type_clashes(bp: Blueprint, r: Reader) -> list[Problem]:
    """An entity named like a type the API makes (``PageInfo``, or ``DealConnection`` beside ``Deal``)
    would collide with it in the workspace's GraphQL schema."""
    names = {e.name for e in bp.entities}
    found: list[Problem] = []
    for entity in bp.entities:
        other = next((n for n in names for suffix in API_TYPE_SUFFIXES if n + suffix == entity.name), None)
        if entity.name in API_TYPE_NAMES and entity.name not in BUILTIN_ENTITIES | GRAPHQL_RESERVED_TYPES:
            reason = "is a type of the generated GraphQL API"
        elif other is not None:
            reason = f'is the name the GraphQL API gives a type it derives from entity "{other}"'
        else:
            continue
        found.append(Problem(codes.DUPLICATE_NAME, f'entity name "{entity.name}" {reason}',
                             r.key_place(r.path_of(entity)), "choose another entity name"))
    return found


def _builtin_graphql_clashes(names: list[tuple[str, Place]]) -> list[Problem]:
    """``plural: tasks`` on a custom entity would shadow the built-in Task list."""
    taken = {fold(n): f"the built-in entity {entity}" for entity in sorted(BUILTIN_ENTITIES)
             for n in (lower_camel(entity), derive_plural(entity))}
    taken.update({fold(n): "a built-in query or mutation of the API" for n in API_ROOT_FIELDS
                  if fold(n) not in taken})
    return [Problem(codes.DUPLICATE_NAME, f'GraphQL name "{name}" is taken by {taken[fold(name)]}',
                    place, "choose another plural") for name, place in names if fold(name) in taken]


def _check_duplicate_members(bp: Blueprint, r: Reader) -> list[Problem]:
    found: list[Problem] = []
    for entity in bp.entities:
        found += find_duplicates(((f.name, r.key_place(r.path_of(f))) for f in entity.fields), "field")
        found += find_duplicates(((p.code, r.key_place(r.path_of(p))) for p in entity.pipelines), "pipeline")
        for pipeline in entity.pipelines:
            stages = (*pipeline.stages, *pipeline.removed_stages)
            found += find_duplicates(((s.code, r.at(s, "code")) for s in stages), "stage")
    return found


def _check_duplicate_access(bp: Blueprint, r: Reader) -> list[Problem]:
    found = find_duplicates(((u.email, r.value_place((*r.path_of(u), "email"))) for u in bp.users), "user")
    for kind, items in (("role", bp.roles), ("group", bp.groups), ("form", bp.forms)):
        found += find_duplicates(((i.name, r.key_place(r.path_of(i))) for i in items), kind)
    return found


NAME_CHECKS: tuple[Check, ...] = (
    _check_workspace, _check_entity_names, _check_field_names, _check_pipeline_names, _check_access_names,
    _check_duplicate_entities, _check_duplicate_members, _check_duplicate_access,
)


def run_checks(bp: Blueprint, r: Reader) -> list[Problem]:
    """Every problem of the built blueprint, in a stable order (by check, then by declaration)."""
    found: list[Problem] = []
    for check in (*NAME_CHECKS, *MODEL_CHECKS, *ACCESS_CHECKS):
        found += check(bp, r)
    return found


__all__ = ["CODES", "run_checks"]
