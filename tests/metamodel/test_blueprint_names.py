"""Naming rules: SQL names, reserved words per dialect, folding and plurals."""

from __future__ import annotations

import pytest

from metamodel.blueprint import derive_plural, parse_blueprint, sql_names
from metamodel.blueprint.names import NameKind, fold, name_issue
from metamodel.blueprint.reserved import POSTGRES_RESERVED, SQL2016_RESERVED, SQLITE_KEYWORDS
from metamodel.storage.naming import entity_table_base, junction_table_base

BLUEPRINT = """
entities:
  PurchaseRequest:
    fields:
      approvers: {type: many, to: Person}
      title: {type: string}
  Person: {}
"""


def test_table_name_is_e_plus_lowercased_entity() -> None:
    entity = parse_blueprint(BLUEPRINT).get_entity("PurchaseRequest")
    assert sql_names(entity).table == "e_purchaserequest"


def test_junction_tables_exist_for_many_fields_only() -> None:
    names = sql_names(parse_blueprint(BLUEPRINT).get_entity("PurchaseRequest"))
    assert names.junctions == (("approvers", "j_purchaserequest_approvers"),)
    assert names.junction("approvers") == "j_purchaserequest_approvers"


@pytest.mark.parametrize(("words", "word"), [
    (SQL2016_RESERVED, "value"), (POSTGRES_RESERVED, "ilike"), (SQLITE_KEYWORDS, "pragma"),
])
def test_each_dialect_list_is_consulted(words: frozenset[str], word: str) -> None:
    assert word in words
    issue = name_issue(NameKind.FIELD, word)
    assert issue is not None and issue.code == "MM.E112"


@pytest.mark.parametrize("entity", ["Order", "Case", "Group", "Select"])
def test_entity_names_may_be_sql_words_because_tables_are_prefixed(entity: str) -> None:
    assert name_issue(NameKind.ENTITY, entity) is None


def test_stage_codes_may_be_sql_words_because_they_are_values() -> None:
    assert name_issue(NameKind.STAGE, "new") is None


def test_inverse_names_follow_field_rules() -> None:
    issue = name_issue(NameKind.INVERSE, "owner")
    assert issue is not None and issue.code == "MM.E113"


def test_fold_joins_case_and_unicode_forms() -> None:
    assert fold("Name") == fold("name") == fold("\uff4e\uff41\uff4d\uff45")
    assert fold("Stra\u00dfe") == fold("STRASSE")


@pytest.mark.parametrize(("entity", "plural"), [
    ("Company", "companies"), ("PurchaseRequest", "purchaseRequests"), ("Key", "keys"), ("Bus", "buses"),
    ("Match", "matches"), ("Wish", "wishes"), ("A", "as"),
])
def test_plural_is_lower_camel_english(entity: str, plural: str) -> None:
    assert derive_plural(entity) == plural


def test_sql_names_agree_with_storage_naming() -> None:
    entity = parse_blueprint(BLUEPRINT).get_entity("PurchaseRequest")
    assert sql_names(entity).table == entity_table_base(entity.name)
    assert sql_names(entity).junction("approvers") == junction_table_base(entity.name, "approvers")
