"""Entity names that would collide with the types the generated GraphQL API makes are refused."""

from __future__ import annotations

import pytest

from metamodel.blueprint import parse_blueprint
from metamodel.errors import BlueprintInvalid


def _entities(*names: str) -> str:
    body = "".join(f"  {name}:\n    fields:\n      title: {{type: string}}\n" for name in names)
    return f"workspace: names\nentities:\n{body}"


@pytest.mark.parametrize("name", ["PageInfo", "ProcessInstance", "StringFilter", "Query"])
def test_an_entity_named_like_a_type_of_the_api_is_refused(name: str) -> None:
    with pytest.raises(BlueprintInvalid) as refused:
        parse_blueprint(_entities(name), file="b.yaml")

    assert f'entity name "{name}"' in str(refused.value)


def test_an_entity_named_like_a_type_derived_from_another_is_refused() -> None:
    with pytest.raises(BlueprintInvalid) as refused:
        parse_blueprint(_entities("Deal", "DealConnection"), file="b.yaml")

    assert 'derives from entity "Deal"' in str(refused.value)
    assert "b.yaml:" in str(refused.value)


def test_a_name_that_only_ends_like_a_derived_type_is_fine() -> None:
    blueprint = parse_blueprint(_entities("Deal", "Connection", "MyGroup"), file="b.yaml")

    assert [e.name for e in blueprint.entities] == ["Deal", "Connection", "MyGroup"]


@pytest.mark.parametrize("plural", ["funnel", "history", "metadata", "processInstances", "broadcasts"])
def test_a_plural_that_takes_a_built_in_root_field_of_the_api_is_refused(plural: str) -> None:
    text = (f"workspace: names\nentities:\n  Stat:\n    plural: {plural}\n"
            "    fields:\n      title: {type: string}\n")
    with pytest.raises(BlueprintInvalid) as refused:
        parse_blueprint(text, file="b.yaml")

    assert f'GraphQL name "{plural}" is taken by a built-in query or mutation' in str(refused.value)
    assert "b.yaml:4:" in str(refused.value)
