"""Checks across entities: reference targets, inverses, rollups, formulas, renames, cycles, pipelines."""

from __future__ import annotations

from collections.abc import Callable

import dsl
from metamodel.blueprint import codes
from metamodel.blueprint.names import fold
from metamodel.blueprint.reader import Reader, did_you_mean
from metamodel.definitions import (
    NUMERIC,
    Blueprint,
    EntityDef,
    FieldDef,
    FieldType,
    PipelineDef,
    RollupAgg,
    StageKind,
)
from metamodel.errors import Place, Problem

Check = Callable[[Blueprint, Reader], list[Problem]]
DATES = frozenset({FieldType.DATE, FieldType.DATETIME})


def _check_reference_targets(bp: Blueprint, r: Reader) -> list[Problem]:
    names = [e.name for e in bp.entities]
    found: list[Problem] = []
    for entity in bp.entities:
        for fld in entity.fields:
            if fld.to is None or fld.to in names:
                continue
            hint = ('for a workspace user use "type: user"' if fld.to == "User"
                    else did_you_mean(fld.to, names))
            found.append(Problem(codes.UNKNOWN_TARGET, f'"{entity.name}.{fld.name}" points to unknown '
                                 f'entity "{fld.to}"', r.value_place((*r.path_of(fld), "to")), hint))
    return found


def _check_inverses(bp: Blueprint, r: Reader) -> list[Problem]:
    """An inverse list appears on the target as a field: it must not clash with what is there."""
    found: list[Problem] = []
    taken: dict[tuple[str, str], str] = {}
    for entity in bp.entities:
        for fld in entity.fields:
            target = bp.find_entity(fld.to) if fld.to and fld.inverse else None
            if target is None or fld.inverse is None:
                continue
            key = (target.name, fold(fld.inverse))
            field = next((f'field "{f.name}"' for f in target.fields if fold(f.name) == key[1]), None)
            clash = field or taken.get(key)
            if clash is not None:
                message = f'inverse "{fld.inverse}" collides with {clash} of {target.name}'
                found.append(Problem(codes.INVERSE_COLLISION, message, r.at(fld, "inverse"),
                                     "choose another inverse name"))
            taken.setdefault(key, f"the inverse of {entity.name}.{fld.name}")
    return found


def _check_rollups(bp: Blueprint, r: Reader) -> list[Problem]:
    found: list[Problem] = []
    for entity in bp.entities:
        for fld in entity.fields:
            if fld.type is FieldType.ROLLUP:
                found += _rollup_problems(bp, r, entity, fld)
    return found


def _check_formula_expressions(bp: Blueprint, r: Reader) -> list[Problem]:
    """A formula's ``expr`` must parse, check against the blueprint and compile to SQL.

    Formulas whose ``returns`` is missing or invalid are reported by the field check already.
    Each language error keeps its code and is placed inside the ``expr`` value.
    """
    from metamodel.blueprint.build_fields import FORMULA_RESULTS
    from metamodel.craft_schema import schema_for

    found: list[Problem] = []
    for entity in bp.entities:
        for fld in entity.fields:
            if fld.type is not FieldType.FORMULA or not (fld.expr or "").strip():
                continue
            if fld.returns not in FORMULA_RESULTS:
                continue
            returns = fld.returns.value if fld.returns else None
            errors = dsl.check_formula(fld.expr or "", schema_for(bp), entity.name, returns)
            found += [Problem(e.code, f'formula "{entity.name}.{fld.name}": {e.message}',
                              _inside(r, fld, e.span), e.hint or "") for e in errors]
    return found


def _inside(r: Reader, fld: FieldDef, span: dsl.Span, key: str = "expr") -> Place:
    """The place of ``span`` (line 1 of the expression) inside the ``expr`` (or ``key``) value of ``fld``.

    Exact for plain YAML values; for a quoted value the column is one less (the loaded document
    keeps no quoting style), which still points into the expression.
    """
    place = r.at(fld, key)
    if not place.line or span.line != 1:
        return place
    return Place(place.file, place.line, place.col + max(span.col - 1, 0), place.path)


def _rollup_problems(bp: Blueprint, r: Reader, entity: EntityDef, fld: FieldDef) -> list[Problem]:
    """``agg`` present, ``of`` an inverse list of ``entity``, then ``field`` fit for ``agg``."""
    path = r.path_of(fld)
    found: list[Problem] = []
    if fld.agg is None and r.doc.text((*path, "agg")) is None:
        found.append(Problem(codes.BAD_ROLLUP_AGG, f'rollup "{fld.name}" needs "agg:" (count, sum, avg, min, '
                             "max)", r.key_place(path)))
    inverses = [ref.inverse or "" for _, ref in bp.inverses_of(entity.name)]
    source = bp.find_inverse(entity.name, fld.of) if fld.of else None
    if source is None:
        hint = did_you_mean(fld.of or "", inverses) or (
            f"inverse lists of {entity.name}: {', '.join(inverses)}" if inverses
            else f'declare a reference to {entity.name} with "inverse:" first')
        message = f'rollup "{fld.name}" needs "of:" naming an inverse list of {entity.name}'
        found.append(Problem(codes.BAD_ROLLUP_SOURCE, message, r.value_place((*path, "of")), hint))
    elif fld.agg is not None:
        found += _rollup_field_problems(r, fld, source[0])
    if source is not None and (fld.where or "").strip():
        found += _where_problems(bp, r, fld, source[0])
    return found


def _where_problems(bp: Blueprint, r: Reader, fld: FieldDef, source: EntityDef) -> list[Problem]:
    """A rollup's ``where`` must parse and run in SQL on the source entity's rows."""
    from metamodel.craft_schema import schema_for

    errors = dsl.check_condition_sql(fld.where or "", schema_for(bp), source.name)
    return [Problem(e.code, f'rollup "{fld.name}" where: {e.message}', _inside(r, fld, e.span, "where"),
                    e.hint or "") for e in errors]


def _rollup_field_problems(r: Reader, fld: FieldDef, source: EntityDef) -> list[Problem]:
    path = r.path_of(fld)
    if fld.rollup_field is None:
        if fld.agg is RollupAgg.COUNT:
            return []
        return [Problem(codes.BAD_ROLLUP_FIELD, f'rollup "{fld.name}" with agg {fld.agg} needs "field:"',
                        r.key_place(path))]
    target = source.find_field(fld.rollup_field)
    place = r.value_place((*path, "field"))
    if target is None:
        return [Problem(codes.BAD_ROLLUP_FIELD, f'{source.name} has no field "{fld.rollup_field}"', place,
                        did_you_mean(fld.rollup_field, [f.name for f in source.fields]))]
    allowed = NUMERIC | DATES if fld.agg in (RollupAgg.MIN, RollupAgg.MAX) else NUMERIC
    if fld.agg is RollupAgg.COUNT or target.value_type in allowed:
        return []
    return [Problem(codes.BAD_ROLLUP_FIELD, f'cannot {fld.agg} "{source.name}.{target.name}" of type '
                    f"{target.value_type.value}", place,
                    "sum and avg need a number; min and max a number or a date")]


def _check_renames(bp: Blueprint, r: Reader) -> list[Problem]:
    """``renamed_from`` names something gone: if the old name is still declared, it is not a rename."""
    found: list[Problem] = []
    entity_names = {e.name for e in bp.entities}
    for entity in bp.entities:
        if entity.renamed_from in entity_names:
            message = f'entity "{entity.renamed_from}" is still declared'
            found.append(Problem(codes.RENAMED_FROM_EXISTS, message, r.at(entity, "renamed_from")))
        names = {f.name for f in entity.fields}
        for fld in entity.fields:
            if fld.renamed_from in names:
                found.append(Problem(codes.RENAMED_FROM_EXISTS, f'field "{fld.renamed_from}" is still '
                                     f"declared on {entity.name}", r.at(fld, "renamed_from")))
    return found


def _required_edges(bp: Blueprint) -> dict[str, list[FieldDef]]:
    """entity → its required references without default: the records it needs before it can exist."""
    names = {e.name for e in bp.entities}
    return {e.name: [f for f in e.fields if f.type in (FieldType.REFERENCE, FieldType.MANY) and f.required
                     and not f.has_default and f.to in names] for e in bp.entities}


def _find_cycle(edges: dict[str, list[FieldDef]], start: str) -> list[tuple[str, FieldDef]] | None:
    """A shortest chain of required references from ``start`` back to itself (breadth first)."""
    paths: dict[str, list[tuple[str, FieldDef]]] = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for fld in edges.get(node, []):
            step = [*paths[node], (node, fld)]
            if fld.to == start:
                return step
            if fld.to is not None and fld.to not in paths:
                paths[fld.to] = step
                queue.append(fld.to)
    return None


def _check_required_cycles(bp: Blueprint, r: Reader) -> list[Problem]:
    """Required references in a cycle: the first record of any of them could never be created."""
    edges = _required_edges(bp)
    found: list[Problem] = []
    reported: set[str] = set()
    for entity in bp.entities:
        cycle = None if entity.name in reported else _find_cycle(edges, entity.name)
        if cycle is None:
            continue
        reported.update(name for name, _ in cycle)
        chain = " → ".join(f"{name}.{fld.name}" for name, fld in cycle) + f" → {entity.name}"
        found.append(Problem(codes.REQUIRED_CYCLE, f"required references form a cycle: {chain}",
                             r.key_place(r.path_of(cycle[0][1])), "make one of these references optional"))
    return found


def _check_pipelines(bp: Blueprint, r: Reader) -> list[Problem]:
    found: list[Problem] = []
    for entity in bp.entities:
        for pipeline in entity.pipelines:
            found += _pipeline_problems(r, pipeline)
    return found


def _pipeline_problems(r: Reader, pipeline: PipelineDef) -> list[Problem]:
    path = r.path_of(pipeline)
    if not pipeline.stages:
        if (*path, "stages", 0) in r.doc.keys and not pipeline.removed_stages:
            return []  # stages were written but none could be read: each one is reported already
        return [Problem(codes.NO_STAGES, f'pipeline "{pipeline.code}" has no stages', r.key_place(path))]
    found: list[Problem] = []
    first = pipeline.initial
    if first.kind is not StageKind.OPEN:
        found.append(Problem(codes.INITIAL_NOT_OPEN, f'the first stage "{first.code}" is the initial stage '
                             f"and must be open, not {first.kind}", r.at(first, "kind")))
    kinds = {s.kind for s in pipeline.stages}
    if kinds & {StageKind.WON, StageKind.LOST} and StageKind.WON not in kinds:
        found.append(Problem(codes.NO_WON_STAGE, f'pipeline "{pipeline.code}" has a lost stage but no won '
                             "stage", r.key_place(path), "add a stage with kind: won"))
    for stage in pipeline.removed_stages:
        target = stage.move_records_to or ""
        if target == stage.code or pipeline.find_stage(target) is None:
            found.append(Problem(codes.BAD_MOVE_TARGET, f'move_records_to "{target}" is not another stage '
                                 f'of pipeline "{pipeline.code}"', r.at(stage, "move_records_to"),
                                 did_you_mean(target, pipeline.stage_codes())))
    return found


MODEL_CHECKS: tuple[Check, ...] = (
    _check_reference_targets, _check_inverses, _check_rollups, _check_formula_expressions, _check_renames,
    _check_required_cycles, _check_pipelines,
)
