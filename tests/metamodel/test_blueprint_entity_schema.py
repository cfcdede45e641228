"""Record input JSON Schema generated from entity definitions, and its readable reasons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from metamodel.blueprint import parse_blueprint, record_input_schema, validate_record_input
from metamodel.definitions import EntityDef

BLUEPRINT = """
entities:
  Company:
    fields:
      name:     {type: string, required: true, max_length: 10}
      industry: {type: enum, options: [retail, it, manufacturing, other]}
      size:     {type: integer, min: 1, max: 1000}
      visits:   {type: integer}
      rate:     {type: decimal, min: 0, max: 1}
      budget:   {type: money, currency: EUR}
      public:   {type: boolean}
      founded:  {type: date}
      call_at:  {type: datetime}
      channels: {type: multi_enum, options: [email, sms]}
      labels:   {type: tags}
      email:    {type: email}
      phone:    {type: phone}
      website:  {type: url}
      parent:   {type: reference, to: Company}
      partners: {type: many, to: Company}
      manager:  {type: user}
      extra:    {type: json}
      source:   {type: enum, options: [web, call], required: true, default: web}
      yearly:   {type: formula, expr: "budget * 12", returns: money}
    pipelines:
      onboarding:
        stages: [{code: new}, {code: done, kind: won}]
"""


@pytest.fixture(scope="module")
def company() -> EntityDef:
    return parse_blueprint(BLUEPRINT).get_entity("Company")


def reasons(entity: EntityDef, data: dict[str, Any], *, partial: bool = False) -> dict[str, str]:
    return validate_record_input(entity, data, partial=partial)


def test_schema_is_valid_json_schema(company: EntityDef) -> None:
    Draft202012Validator.check_schema(record_input_schema(company, partial=False))


def test_create_requires_required_fields_without_default(company: EntityDef) -> None:
    assert record_input_schema(company, partial=False)["required"] == ["name"]


def test_update_requires_nothing(company: EntityDef) -> None:
    assert record_input_schema(company, partial=True)["required"] == []
    assert reasons(company, {"size": 3}, partial=True) == {}


def test_schema_refuses_unknown_properties(company: EntityDef) -> None:
    assert record_input_schema(company, partial=False)["additionalProperties"] is False


def test_valid_input_has_no_reasons(company: EntityDef) -> None:
    data = {
        "name": "Acme", "industry": "it", "size": 10, "rate": "0.5", "budget": 12.5, "public": True,
        "founded": "2020-02-29", "call_at": "2024-01-01T10:00:00+03:00", "channels": ["sms"],
        "labels": ["vip"], "email": "a@acme.test", "phone": "+7 (912) 345-67-89",
        "website": "https://acme.test/about", "parent": 1, "partners": [2, 3], "manager": "anna@acme.test",
        "extra": {"any": ["thing"]}, "owner": 5, "pipeline": "onboarding", "stage": "new",
    }
    assert reasons(company, data) == {}


def test_missing_required_field_is_reported(company: EntityDef) -> None:
    assert reasons(company, {}) == {"name": "is required"}


def test_empty_required_string_is_reported(company: EntityDef) -> None:
    assert reasons(company, {"name": ""}) == {"name": "is required"}


def test_null_for_required_field_on_update_is_reported(company: EntityDef) -> None:
    assert reasons(company, {"name": None}, partial=True) == {"name": "is required"}


def test_null_for_optional_field_is_accepted(company: EntityDef) -> None:
    assert reasons(company, {"name": "x", "industry": None, "size": None, "labels": None}) == {}


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("industry", "farming", "must be one of: retail, it, manufacturing, other"),
    ("name", "x" * 11, "must be at most 10 characters"),
    ("size", 0, "must be at least 1"),
    ("size", 1001, "must be at most 1000"),
    ("size", 1.5, "must be a whole number"),
    ("size", "7", "must be a whole number"),
    ("visits", 2**63, "must be at most 9223372036854775807"),
    ("rate", 2, "must be at most 1"),
    ("rate", "1.5", "must be at most 1"),
    ("rate", "-0.1", "must be at least 0"),
    ("budget", "a lot", "must be an amount (a number)"),
    ("public", "yes", "must be true or false"),
    ("founded", "2023-02-29", "must be a date like 2024-12-31"),
    ("founded", "29.02.2024", "must be a date like 2024-12-31"),
    ("call_at", "2024-01-01T10:00:00", "must be a date and time with a time zone, like 2024-12-31T09:00:00Z"),
    ("channels", ["fax"], "must be one of: email, sms"),
    ("channels", ["sms", "sms"], "must not repeat values"),
    ("labels", "vip", "must be a list of distinct texts"),
    ("email", "anna", "must be an email address like name@example.com"),
    ("phone", "call me", "must be a phone number: digits, spaces, ( ) - . and an optional leading +"),
    ("website", "ftp://acme.test", "must be a web address starting with http:// or https://"),
    ("parent", 0, "must be at least 1"),
    ("partners", [1, 1], "must not repeat values"),
    ("stage", "won", "must be one of: done, new"),
])
def test_bad_value_gets_a_readable_reason(company: EntityDef, field: str, value: object, reason: str) -> None:
    assert reasons(company, {"name": "ok", field: value}) == {field: reason}


@pytest.mark.parametrize(("field", "reason"), [
    ("yearly", "is a formula field and cannot be set"),
    ("created_at", "is set by the platform"),
    ("nickname", "is not a field of Company"),
])
def test_field_that_cannot_be_written_is_reported(company: EntityDef, field: str, reason: str) -> None:
    assert reasons(company, {"name": "ok", field: 1}) == {field: reason}


def test_every_bad_field_is_reported_at_once(company: EntityDef) -> None:
    assert set(reasons(company, {"industry": "x", "size": 0, "nickname": 1})) == {
        "name", "industry", "size", "nickname"}


def test_entity_without_pipeline_refuses_stage() -> None:
    car = parse_blueprint("entities:\n  Car:\n    fields:\n      plate: {type: string}\n").entities[0]
    assert reasons(car, {"stage": "new"}) == {"stage": "is set by the platform"}


def test_validator_follows_a_new_definition_of_the_same_entity() -> None:
    first = parse_blueprint("entities:\n  Car:\n    fields:\n      plate: {type: string}\n").entities[0]
    second = parse_blueprint("entities:\n  Car:\n    fields:\n      plate: {type: integer}\n").entities[0]
    assert reasons(first, {"plate": "AB"}) == {}
    assert reasons(second, {"plate": "AB"}) == {"plate": "must be a whole number"}


def test_python_values_are_judged_like_their_json_form(company: EntityDef) -> None:
    data = {"name": "Acme", "founded": dt.date(2020, 1, 31), "budget": Decimal("12.50"),
            "call_at": dt.datetime(2024, 1, 1, 9, tzinfo=dt.UTC)}
    assert reasons(company, data) == {}


def test_naive_python_datetime_is_refused(company: EntityDef) -> None:
    assert set(reasons(company, {"name": "Acme", "call_at": dt.datetime(2024, 1, 1, 9)})) == {"call_at"}
