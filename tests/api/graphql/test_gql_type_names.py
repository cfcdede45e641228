"""The blueprint checker's list of the API's own type names stays complete."""

from __future__ import annotations

import re
from pathlib import Path

from api.graphql import build_schema
from api.graphql.naming import camel, lower_first
from metamodel.blueprint.reserved import API_ROOT_FIELDS, API_TYPE_NAMES, API_TYPE_SUFFIXES
from metamodel.db import throwaway_engine
from metamodel.migrate import apply_blueprint_path
from metamodel.storage.catalog import load_workspace_meta

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "spec-language"


def test_every_generated_type_is_an_entity_a_listed_name_or_an_entity_plus_a_listed_suffix() -> None:
    with throwaway_engine() as engine:
        apply_blueprint_path(engine, EXAMPLE, "names")
        meta = load_workspace_meta(engine, "names")
        sdl = build_schema(meta).as_str()
    entities = {e.name for e in meta.blueprint.entities}
    derived = {e + suffix for e in entities for suffix in API_TYPE_SUFFIXES}
    types = set(re.findall(r"^(?:type|input|enum|scalar|interface|union) (\w+)", sdl, re.MULTILINE))

    assert types - entities - derived - API_TYPE_NAMES == set()


def test_every_root_field_is_derived_from_an_entity_or_listed_for_the_checker() -> None:
    with throwaway_engine() as engine:
        apply_blueprint_path(engine, EXAMPLE, "roots")
        meta = load_workspace_meta(engine, "roots")
        schema = build_schema(meta)._schema
    derived: set[str] = set()
    for entity in meta.blueprint.entities:
        plural = camel(entity.plural)
        derived |= {plural, lower_first(entity.name), f"{plural}Aggregate", f"{plural}GroupBy"}
        derived |= {f"{verb}{entity.name}" for verb in ("create", "update", "delete", "restore")}
    roots = set(schema.query_type.fields) | set(schema.mutation_type.fields)

    assert roots - derived - API_ROOT_FIELDS == set()

