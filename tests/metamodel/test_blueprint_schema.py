"""The published JSON Schema of the blueprint format agrees with the loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from metamodel.blueprint import blueprint_format_schema, check_blueprint_path
from metamodel.blueprint.build import ENTITY_KEYS, PIPELINE_KEYS, STAGE_KEYS, TOP_KEYS
from metamodel.blueprint.build_access import FORM_KEYS, GROUP_KEYS, ROLE_KEYS, USER_KEYS
from metamodel.blueprint.build_fields import FIELD_KEYS
from metamodel.definitions import FieldType

FIXTURES = Path(__file__).parent / "fixtures"
VALID = [FIXTURES / "spec_example" / "blueprint.yaml", *sorted((FIXTURES / "valid").glob("*.yaml"))]


def schema_errors(document: Any) -> list[str]:
    return [e.message for e in Draft202012Validator(blueprint_format_schema()).iter_errors(document)]


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(blueprint_format_schema())


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.parent.name + "/" + p.name)
def test_valid_blueprint_passes_the_checker(path: Path) -> None:
    assert check_blueprint_path(path) == []


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.parent.name + "/" + p.name)
def test_valid_blueprint_validates_against_the_schema(path: Path) -> None:
    assert schema_errors(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize(("document", "fragment"), [
    ({"entites": {}}, "entites"),
    ({"entities": {"Deal": {"fields": {"x": {"type": "strng"}}}}}, "strng"),
    ({"entities": {"Deal": {"fields": {"x": {"type": "reference"}}}}}, "'to' is a required property"),
    ({"entities": {"deal": {}}}, "deal"),
    ({"roles": {"admin": {}}}, "admin"),
    ({"users": [{"email": "a@b.test"}]}, "'role' is a required property"),
])
def test_schema_rejects_a_bad_blueprint(document: dict[str, Any], fragment: str) -> None:
    assert any(fragment in message for message in schema_errors(document))


def _keys(definition: str) -> set[str]:
    return set(blueprint_format_schema()["$defs"][definition]["properties"])


@pytest.mark.parametrize(("definition", "loader_keys"), [
    ("entity", ENTITY_KEYS), ("field", FIELD_KEYS), ("pipeline", PIPELINE_KEYS), ("stage", STAGE_KEYS),
    ("role", ROLE_KEYS), ("group", GROUP_KEYS), ("user", USER_KEYS), ("form", FORM_KEYS),
])
def test_schema_names_the_keys_the_loader_accepts(definition: str, loader_keys: tuple[str, ...]) -> None:
    assert _keys(definition) == set(loader_keys)


def test_schema_top_level_keys_match_the_loader() -> None:
    assert set(blueprint_format_schema()["properties"]) == set(TOP_KEYS)


def test_schema_lists_every_field_type() -> None:
    assert set(blueprint_format_schema()["$defs"]["fieldType"]["enum"]) == {t.value for t in FieldType}
