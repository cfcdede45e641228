"""What uses a field or a stage: formulas, rollups, roles, forms, automations and processes.

The plan lists, under every field or stage being archived, renamed or retyped,
each definition that uses it, and refuses the apply when the *new* blueprint
still uses a name that will no longer exist.  Sources of uses are a registry
(``DEPENDANT_SOURCES``) of functions of a blueprint.  Automations are the one
source that also needs text: a blueprint's ``.craft`` files are read next to it
for the new version but come from the stored metadata for the applied one, so
the planner passes them in (``files``) and the language's own dependency
analysis says what each automation uses.

Until the expression language exists, a formula or ``where:`` uses every field
of its entity whose name appears in it as a whole word; that over-reports
rarely and never misses a use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from metamodel.craft_schema import craft_uses
from metamodel.definitions import Blueprint, EntityDef, FieldType

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Dependency:
    """``source`` (e.g. ``formula Deal.margin``) uses field or stage ``name`` of ``entity``."""

    source: str
    entity: str
    name: str
    kind: str = "field"  # field | stage
    breaks_on_retype: bool = False


DependantSource = Callable[[Blueprint], list[Dependency]]


def _words(text: str | None) -> set[str]:
    return set(_WORD.findall(text or ""))


def _fields_named(entity: EntityDef, words: set[str]) -> Iterable[str]:
    return (f.name for f in entity.fields if f.name in words)


def formulas(bp: Blueprint) -> list[Dependency]:
    """Formula expressions: fields of the same entity, stage codes of its pipelines."""
    found: list[Dependency] = []
    for entity in bp.entities:
        for fld in entity.fields:
            if fld.type is not FieldType.FORMULA:
                continue
            words, source = _words(fld.expr), f"formula {entity.name}.{fld.name}"
            found += [Dependency(source, entity.name, n) for n in _fields_named(entity, words)
                      if n != fld.name]
            found += [Dependency(source, entity.name, code, "stage") for p in entity.pipelines
                      for code in p.stage_codes() if code in words]
    return found


def rollups(bp: Blueprint) -> list[Dependency]:
    """Rollups: the reference they follow, the field they aggregate and the fields of ``where:``."""
    found: list[Dependency] = []
    for entity in bp.entities:
        for fld in entity.fields:
            if fld.type is not FieldType.ROLLUP or not fld.of:
                continue
            link = bp.find_inverse(entity.name, fld.of)
            if link is None:
                continue
            child, ref = link
            source = f"rollup {entity.name}.{fld.name}"
            found.append(Dependency(source, child.name, ref.name))
            if fld.rollup_field:
                found.append(Dependency(source, child.name, fld.rollup_field, breaks_on_retype=True))
            found += [Dependency(source, child.name, n) for n in _fields_named(child, _words(fld.where))]
    return found


def roles(bp: Blueprint) -> list[Dependency]:
    return [Dependency(f"role {role.name} (hide_fields)", entity, name)
            for role in bp.roles for entity, names in role.hide_fields if entity != "*" for name in names]


def forms(bp: Blueprint) -> list[Dependency]:
    return [Dependency(f"form {form.name} (map)", form.creates, name) for form in bp.forms
            for name, _ in form.map]


def automations(bp: Blueprint, files: Mapping[str, str]) -> list[Dependency]:
    """Fields and stages each automation and process of ``files`` (entry -> text) uses, by its place."""
    return [Dependency(found.source, found.use.entity, found.use.name, found.use.kind)
            for found in craft_uses(bp, files)
            if found.use.kind in ("field", "stage") and found.use.entity is not None]


DEPENDANT_SOURCES: list[DependantSource] = [formulas, rollups, roles, forms]


def register_dependants(source: DependantSource) -> DependantSource:
    """Add a source of uses (the language registers automations here); usable as a decorator."""
    if source not in DEPENDANT_SOURCES:
        DEPENDANT_SOURCES.append(source)
    return source


def find_dependants(bp: Blueprint, files: Mapping[str, str] | None = None) -> list[Dependency]:
    """Every use of a field or stage in ``bp``, from every registered source and its ``.craft`` files."""
    found = [dep for source in DEPENDANT_SOURCES for dep in source(bp)]
    return found + automations(bp, files) if files else found
