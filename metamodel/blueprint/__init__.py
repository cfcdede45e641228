"""Blueprints: the YAML format consultants write, loaded with positions and fully checked.

Public names:
- loading: ``load_blueprint``, ``parse_blueprint``, ``check_blueprint_path``, ``check_blueprint_text``
- problem codes: ``CODES`` (code → one-line explanation)
- naming: ``sql_names``, ``SqlNames``, ``derive_plural``
- record input: ``record_input_schema``, ``validate_record_input``
- the format's own JSON Schema: ``blueprint_format_schema``, ``BLUEPRINT_SCHEMA_PATH``
"""

from metamodel.blueprint.codes import CODES
from metamodel.blueprint.entity_schema import record_input_schema, validate_record_input
from metamodel.blueprint.format_schema import BLUEPRINT_SCHEMA_PATH, blueprint_format_schema
from metamodel.blueprint.loader import (
    check_blueprint_path,
    check_blueprint_text,
    load_blueprint,
    parse_blueprint,
)
from metamodel.blueprint.names import SqlNames, derive_plural, sql_names

__all__ = [
    "BLUEPRINT_SCHEMA_PATH",
    "CODES",
    "SqlNames",
    "blueprint_format_schema",
    "check_blueprint_path",
    "check_blueprint_text",
    "derive_plural",
    "load_blueprint",
    "parse_blueprint",
    "record_input_schema",
    "sql_names",
    "validate_record_input",
]
