"""Building frozen definitions from a located YAML document.

The build is lenient: a piece that cannot be understood is reported and left
out, the rest is built, so the check pass that follows can still find every
other problem.  Defaults of the format (labels, plurals, stage kinds) are
applied here, once, so no later layer re-derives them.
"""

from __future__ import annotations

from typing import Any

from metamodel.blueprint import codes
from metamodel.blueprint.build_access import build_forms, build_groups, build_roles, build_users
from metamodel.blueprint.build_fields import build_field
from metamodel.blueprint.names import derive_plural
from metamodel.blueprint.reader import Reader, did_you_mean
from metamodel.blueprint.yaml_positions import Path
from metamodel.definitions import Blueprint, EntityDef, FieldDef, PipelineDef, StageDef, StageKind

TOP_KEYS = ("workspace", "entities", "roles", "groups", "users", "forms", "automations")
ENTITY_KEYS = ("label", "plural", "fields", "pipelines", "renamed_from")
PIPELINE_KEYS = ("label", "stages")
STAGE_KEYS = ("code", "name", "kind", "probability", "move_records_to")


def build_blueprint(r: Reader, source: str) -> Blueprint:
    """The whole blueprint; problems found on the way are in ``r.problems``."""
    if r.doc.data is None and not r.doc.problems:  # empty (or only comments): surely the wrong file
        r.add(codes.MISSING_KEY, "the blueprint is empty", r.value_place(()), 'define at least "entities:"')
        return Blueprint(source=source)
    data = r.mapping((), r.doc.data, "a blueprint")
    if data is None:
        return Blueprint(source=source)
    r.known_keys((), data, TOP_KEYS, "the blueprint")
    return Blueprint(
        workspace=r.text((), data, "workspace"),
        entities=_entities(r, data.get("entities")),
        roles=build_roles(r, data.get("roles")),
        groups=build_groups(r, data.get("groups")),
        users=build_users(r, data.get("users")),
        forms=build_forms(r, data.get("forms")),
        automations=_automations(r, data.get("automations")),
        source=source,
    )


def _entities(r: Reader, raw: Any) -> tuple[EntityDef, ...]:
    entities = r.mapping(("entities",), raw, '"entities"') or {}
    return tuple(e for name, body in entities.items()
                 if (e := _entity(r, name, body, ("entities", name))) is not None)


def _entity(r: Reader, name: str, raw: Any, path: Path) -> EntityDef | None:
    if raw is None:  # `B:` with nothing under it is an unfinished entity, not an empty one
        r.add(codes.WRONG_VALUE_TYPE, f'entity "{name}" has no definition', r.key_place(path),
              f"write {name}: {{}} for an entity without fields yet")
        return None
    data = r.mapping(path, raw, f'entity "{name}"')
    if data is None:
        return None
    r.known_keys(path, data, ENTITY_KEYS, f'entity "{name}"')
    fields_path = (*path, "fields")
    fields = r.mapping(fields_path, data.get("fields"), f'the fields of "{name}"') or {}
    built: list[FieldDef] = []
    for field_name, body in fields.items():
        fld = build_field(r, field_name, body, (*fields_path, field_name))
        if fld is not None:
            built.append(fld)
    entity = EntityDef(
        name=name, label=r.text(path, data, "label") or name,
        plural=r.text(path, data, "plural") or derive_plural(name), fields=tuple(built),
        pipelines=_pipelines(r, data.get("pipelines"), (*path, "pipelines")),
        renamed_from=r.text(path, data, "renamed_from"), place=r.key_place(path),
    )
    return r.remember(entity, path)


def _pipelines(r: Reader, raw: Any, path: Path) -> tuple[PipelineDef, ...]:
    pipelines = r.mapping(path, raw, '"pipelines"') or {}
    return tuple(p for code, body in pipelines.items()
                 if (p := _pipeline(r, code, body, (*path, code))) is not None)


def _pipeline(r: Reader, code: str, raw: Any, path: Path) -> PipelineDef | None:
    """A pipeline; entries with ``move_records_to`` are stages being removed, kept apart."""
    data = r.mapping(path, raw, f'pipeline "{code}"')
    if data is None:
        return None
    r.known_keys(path, data, PIPELINE_KEYS, f'pipeline "{code}"')
    items = r.listing((*path, "stages"), data.get("stages"), '"stages"') or []
    stages = [s for i, item in enumerate(items) if (s := _stage(r, item, (*path, "stages", i))) is not None]
    pipeline = PipelineDef(
        code=code, label=r.text(path, data, "label") or code,
        stages=tuple(s for s in stages if s.move_records_to is None),
        removed_stages=tuple(s for s in stages if s.move_records_to is not None),
        place=r.key_place(path),
    )
    return r.remember(pipeline, path)


def _stage(r: Reader, raw: Any, path: Path) -> StageDef | None:
    data = r.mapping(path, raw, "a stage", f"write {{code: {raw}}}" if isinstance(raw, str) else "")
    if data is None or not r.require(path, data, "code", "a stage"):
        return None
    r.known_keys(path, data, STAGE_KEYS, "a stage")
    code = r.text(path, data, "code") or ""
    stage = StageDef(
        code=code, name=r.text(path, data, "name") or code, kind=_stage_kind(r, data, path),
        probability=_probability(r, data, path),
        move_records_to=r.text(path, data, "move_records_to"), place=r.key_place(path),
    )
    return r.remember(stage, path)


def _stage_kind(r: Reader, data: dict[str, Any], path: Path) -> StageKind:
    written = r.text(path, data, "kind")
    if written is None:
        return StageKind.OPEN
    try:
        return StageKind(written)
    except ValueError:
        kinds = [k.value for k in StageKind]
        r.add(codes.UNKNOWN_STAGE_KIND, f'stage kind "{written}" is not one of: {", ".join(kinds)}',
              r.value_place((*path, "kind")), did_you_mean(written, kinds))
        return StageKind.OPEN


def _probability(r: Reader, data: dict[str, Any], path: Path) -> int | None:
    value = data.get("probability")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
        return value
    r.add(codes.BAD_PROBABILITY, "probability must be a whole number from 0 to 100",
          r.value_place((*path, "probability")))
    return None


def _automations(r: Reader, raw: Any) -> tuple[str, ...]:
    items = r.listing(("automations",), raw, '"automations"') or []
    result: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            r.add(codes.WRONG_VALUE_TYPE, "an automations entry must be a path to a .craft file",
                  r.value_place(("automations", index)))
            continue
        result.append(item)
    return tuple(result)
