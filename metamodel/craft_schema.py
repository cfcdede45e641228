"""The blueprint as the ``.craft`` checker sees it: the metamodel's implementation of dsl.SchemaProtocol.

Why here and not in ``dsl``: the language may not import the metamodel, so it asks questions through
a protocol and this module answers them from a checked :class:`Blueprint` — declared fields with their
types and targets, inverse lists, the system fields every record has, and the built-in entities
(User, Task, Message, Note) that automations create and address.  One schema is built per blueprint
object and cached, because loading, planning and dependency listing all ask for the same one.

It also reads a blueprint's ``.craft`` files for the two callers that need them (the loader, which
checks them, and the migration planner, which asks what each automation uses), so both turn dsl
errors and uses into the metamodel's own shapes the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import dsl
from metamodel.definitions import Blueprint, EntityDef, FieldDef, FieldType, RollupAgg
from metamodel.errors import Place, Problem

_I = dsl.FieldInfo

#: Fields every record of a declared entity has (spec/blueprint.md), without declaring them.
SYSTEM_FIELDS: tuple[dsl.FieldInfo, ...] = (
    _I("id", "id"), _I("created_at", "datetime"), _I("updated_at", "datetime"),
    _I("created_by", "user", target="User"), _I("owner", "user", target="User"), _I("version", "integer"),
)
#: Added for entities with at least one pipeline.
PIPELINE_FIELDS: tuple[dsl.FieldInfo, ...] = (
    _I("pipeline", "pipeline"), _I("stage", "stage"), _I("stage_entered_at", "datetime"),
)
_ABOUT = (_I("entity", "string"), _I("record_id", "integer"))
_STAMPS = (_I("id", "id"), _I("created_at", "datetime"))

#: The built-in entities of every workspace, as the system tables store them.
BUILTIN_ENTITIES: dict[str, tuple[dsl.FieldInfo, ...]] = {
    "User": (*_STAMPS, _I("email", "email"), _I("name", "string"), _I("role", "string"),
             _I("active", "boolean")),
    "Task": (*_STAMPS, _I("title", "string"), _I("description", "text"),
             _I("assignee", "user", target="User"), _I("due_at", "datetime"),
             _I("status", "enum", options=("open", "done", "cancelled")), _I("done_at", "datetime"),
             _I("updated_at", "datetime"), _I("version", "integer"), *_ABOUT),
    "Message": (*_STAMPS, _I("channel", "enum", options=("email", "sms", "whatsapp")), _I("to", "string"),
                _I("subject", "string"), _I("body", "text"), _I("status", "string"), *_ABOUT),
    "Note": (*_STAMPS, _I("body", "text"), _I("author", "string"), *_ABOUT),
}


def _rollup_returns(bp: Blueprint, entity: EntityDef, fld: FieldDef) -> str:
    """count yields integers, avg decimals, sum/min/max the summarised field's type."""
    if fld.agg is RollupAgg.COUNT:
        return "integer"
    if fld.agg is RollupAgg.AVG:
        return "decimal"
    link = bp.find_inverse(entity.name, fld.of or "")
    source = link[0].find_field(fld.rollup_field or "") if link else None
    return source.value_type.value if source is not None else "decimal"


def field_info(bp: Blueprint, entity: EntityDef, fld: FieldDef) -> dsl.FieldInfo:
    """One declared field in the checker's terms (the dsl's type names are the blueprint's)."""
    target = "User" if fld.type is FieldType.USER else fld.to
    returns: str | None = None
    if fld.type is FieldType.FORMULA and fld.returns is not None:
        returns = fld.returns.value
    elif fld.type is FieldType.ROLLUP:
        returns = _rollup_returns(bp, entity, fld)
    return dsl.FieldInfo(fld.name, fld.type.value, target=target, returns=returns, options=fld.options)


def _entity_fields(bp: Blueprint, entity: EntityDef) -> dict[str, dsl.FieldInfo]:
    infos = [*SYSTEM_FIELDS, *(PIPELINE_FIELDS if entity.pipelines else ())]
    infos += [field_info(bp, entity, f) for f in entity.fields]
    infos += [dsl.FieldInfo(ref.inverse, "many", target=source.name)
              for source, ref in bp.inverses_of(entity.name) if ref.inverse]
    return {info.name: info for info in infos}


class BlueprintSchema:
    """A blueprint's answers to the checker's questions, computed once (see :func:`schema_for`)."""

    def __init__(self, blueprint: Blueprint) -> None:
        bp = blueprint
        self._fields: dict[str, dict[str, dsl.FieldInfo]] = {
            name: {info.name: info for info in infos} for name, infos in BUILTIN_ENTITIES.items()}
        self._fields |= {e.name: _entity_fields(bp, e) for e in bp.entities}
        self._pipelines = {e.name: {p.code: p.stage_codes() for p in e.pipelines} for e in bp.entities}
        self._groups = tuple(g.name for g in bp.groups)
        self._forms = {f.name: dsl.FormInfo(f.name, f.creates, tuple(key for _, key in f.map))
                       for f in bp.forms}
        self._users = tuple(u.email for u in bp.users)

    def entities(self) -> Collection[str]:
        return self._fields.keys()

    def fields(self, entity: str) -> Mapping[str, dsl.FieldInfo]:
        return self._fields.get(entity, {})

    def pipelines(self, entity: str) -> Mapping[str, tuple[str, ...]]:
        return self._pipelines.get(entity, {})

    def groups(self) -> Collection[str]:
        return self._groups

    def forms(self) -> Mapping[str, dsl.FormInfo]:
        return self._forms

    def users(self) -> Collection[str]:
        return self._users


_CACHE: dict[int, tuple[Blueprint, BlueprintSchema]] = {}
_CACHE_SIZE = 32


def schema_for(blueprint: Blueprint) -> BlueprintSchema:
    """The (cached) schema of this blueprint object; the entry keeps the object alive, so ids stay unique."""
    hit = _CACHE.get(id(blueprint))
    if hit is not None and hit[0] is blueprint:
        return hit[1]
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    schema = BlueprintSchema(blueprint)
    _CACHE[id(blueprint)] = (blueprint, schema)
    return schema


def craft_problems(blueprint: Blueprint, sources: Mapping[str, str]) -> list[Problem]:
    """Every syntax and check error of ``sources`` (file name -> text) as blueprint problems."""
    errors = dsl.check_files(sources, schema_for(blueprint))
    return [Problem(e.code, e.message, Place(e.span.file, e.span.line, e.span.col), e.hint or "")
            for e in errors]


@dataclass(frozen=True, slots=True)
class CraftUse:
    """``source`` (``automation "X" (file:line)``) relies on ``use``."""

    source: str
    use: dsl.Use


def craft_uses(blueprint: Blueprint, sources: Mapping[str, str]) -> list[CraftUse]:
    """What each automation and process of ``sources`` uses; files that do not parse add nothing."""
    schema = schema_for(blueprint)
    programs = [dsl.parse_partial(text, file)[0] for file, text in sources.items()]
    processes = {p.name.value for program in programs for p in program.processes}
    found: list[CraftUse] = []
    for program in programs:
        uses = dsl.dependencies(program, schema, processes=processes)
        automations = {id(item) for item in program.automations}
        for item in program.items:
            kind = "automation" if id(item) in automations else "process"
            where = f"{item.name.span.file}:{item.name.span.line}"
            source = f'{kind} "{item.name.value}" ({where})'
            found += [CraftUse(source, use) for use in sorted(uses.get((kind, item.name.value), ()),
                                                              key=lambda u: (u.kind, u.entity or "", u.name))]
    return found
