"""Plans as JSON: round trips, digests, a golden snapshot, format versions and upgraders.

The snapshot golden_plans/spec_automations.json makes any change of the plan's JSON shape fail here
first.  Such a change needs a new PLAN_FORMAT and an upgrader (dsl/plan_upgrade.py); when it is
intended, regenerate the snapshot with

    STAGECRAFT_REGEN_PLANS=1 .venv/bin/pytest tests/dsl/test_plan_json.py

and review the diff of the JSON file like code.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from dsl.compiler import compile_program
from dsl.errors import CraftErrors
from dsl.parser import parse
from dsl.plan import ProgramPlan, plan_from_json, plan_to_json
from dsl.plan_upgrade import PLAN_FORMAT, UPGRADERS, Upgraders, canonical_json
from dsl.schema import StaticSchema

HERE = Path(__file__).parent
GOLDEN = sorted((HERE / "golden").glob("*.craft"))
SNAPSHOT = HERE / "golden_plans" / "spec_automations.json"


def _compile(schema: StaticSchema, path: Path) -> ProgramPlan:
    return compile_program(parse(path.read_text(encoding="utf-8"), path.name), schema)


def _data(schema: StaticSchema, name: str = "all_constructs.craft") -> dict[str, Any]:
    return plan_to_json(_compile(schema, HERE / "golden" / name))


def _codes(data: Any, upgraders: Upgraders = UPGRADERS) -> list[str]:
    with pytest.raises(CraftErrors) as caught:
        plan_from_json(data, upgraders=upgraders)
    return caught.value.codes


# ------------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_a_plan_survives_a_json_round_trip(schema: StaticSchema, path: Path) -> None:
    plan = _compile(schema, path)

    assert plan_from_json(json.loads(json.dumps(plan_to_json(plan)))) == plan


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_json_dumps_needs_no_custom_encoder(schema: StaticSchema, path: Path) -> None:
    text = json.dumps(plan_to_json(_compile(schema, path)))

    assert json.loads(text)["format"] == PLAN_FORMAT


def test_instructions_are_tagged_with_their_op(schema: StaticSchema) -> None:
    first = _data(schema)["automations"][0]["code"][0]

    assert (first["op"], first["effect_key"]) == ("set", "automation:Every step#0")


def test_spec_automations_match_the_golden_snapshot(schema: StaticSchema) -> None:
    data = plan_to_json(_compile(schema, HERE / "golden" / "spec_automations.craft"))
    if os.environ.get("STAGECRAFT_REGEN_PLANS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    assert data == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------- digests
def test_digest_is_the_sha256_of_the_canonical_json_without_it(schema: StaticSchema) -> None:
    data = _data(schema)
    body = {k: v for k, v in data.items() if k != "digest"}

    assert data["digest"] == hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def test_compiling_the_same_program_twice_gives_the_same_digest(schema: StaticSchema) -> None:
    assert _data(schema)["digest"] == _data(schema)["digest"]


def test_a_different_program_has_a_different_digest(schema: StaticSchema) -> None:
    assert _data(schema)["digest"] != _data(schema, "spec_process.craft")["digest"]


def test_an_edited_plan_fails_its_digest(schema: StaticSchema) -> None:
    data = _data(schema)
    data["automations"][0]["code"][0]["effect_key"] = "automation:Every step#99"

    assert _codes(data) == ["E_PLAN_CORRUPT"]


# ---------------------------------------------------------------------------------- bad documents
@pytest.mark.parametrize("version", [PLAN_FORMAT + 1, 99])
def test_a_newer_format_is_rejected(schema: StaticSchema, version: int) -> None:
    assert _codes({**_data(schema), "format": version}) == ["E_PLAN_FORMAT"]


@pytest.mark.parametrize("version", [None, "1", 1.0, True, -1])
def test_a_format_that_is_not_a_version_is_rejected(schema: StaticSchema, version: object) -> None:
    assert _codes({**_data(schema), "format": version}) == ["E_PLAN_FORMAT"]


def test_a_missing_format_is_rejected(schema: StaticSchema) -> None:
    data = _data(schema)
    del data["format"]

    assert _codes(data) == ["E_PLAN_FORMAT"]


def test_an_older_format_without_an_upgrader_is_rejected(schema: StaticSchema) -> None:
    assert _codes({**_data(schema), "format": 0}) == ["E_PLAN_FORMAT"]


def test_a_plan_that_is_not_an_object_is_rejected() -> None:
    assert _codes([1, 2]) == ["E_PLAN_CORRUPT"]


def _resealed(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a matching digest: damage that a digest check alone would not catch."""
    body = {k: v for k, v in data.items() if k != "digest"}
    return {**body, "digest": hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()}


def test_an_unknown_op_is_rejected_with_its_place(schema: StaticSchema) -> None:
    data = _data(schema)
    data["automations"][0]["code"][2]["op"] = "launch"

    with pytest.raises(CraftErrors) as caught:
        plan_from_json(_resealed(data))

    assert caught.value.codes == ["E_PLAN_CORRUPT"]
    assert "plan.automations[0].code[2].op" in str(caught.value)


@pytest.mark.parametrize("key, value", [("target", "3"), ("target", True), ("condition", None)])
def test_a_wrongly_typed_operand_is_rejected(schema: StaticSchema, key: str, value: object) -> None:
    data = _data(schema)
    jump = next(i for i in data["automations"][0]["code"] if i["op"] == "jump_if_false")
    jump[key] = value

    assert _codes(_resealed(data)) == ["E_PLAN_CORRUPT"]


@pytest.mark.parametrize("change", ["add", "drop"])
def test_unknown_or_missing_keys_are_rejected(schema: StaticSchema, change: str) -> None:
    data = _data(schema)
    trigger = data["automations"][0]["trigger"]
    if change == "add":
        trigger["priority"] = 1
    else:
        del trigger["where"]

    assert _codes(_resealed(data)) == ["E_PLAN_CORRUPT"]


def test_a_value_outside_its_choices_is_rejected(schema: StaticSchema) -> None:
    data = _data(schema)
    data["automations"][0]["trigger"]["kind"] = "sometimes"

    assert _codes(_resealed(data)) == ["E_PLAN_CORRUPT"]


# --------------------------------------------------------------------------------------- upgrades
def _as_format_zero(data: dict[str, Any]) -> dict[str, Any]:
    """A pretend format 0 whose instruction lists were called ``steps`` and had no digest."""
    old = json.loads(json.dumps(data))
    for item in (*old["automations"], *old["processes"]):
        item["steps"] = item.pop("code")
    old["format"] = 0
    del old["digest"]
    return old


def _zero_to_one() -> Upgraders:
    upgraders = Upgraders(current=1)

    @upgraders.register(0)
    def rename_steps(data: dict[str, Any]) -> dict[str, Any]:
        for item in (*data["automations"], *data["processes"]):
            item["code"] = item.pop("steps")
        return data

    return upgraders


def test_an_older_format_is_upgraded_by_its_registered_upgrader(schema: StaticSchema) -> None:
    plan = _compile(schema, HERE / "golden" / "all_constructs.craft")

    upgraded = plan_from_json(_as_format_zero(plan_to_json(plan)), upgraders=_zero_to_one())

    assert upgraded == plan
    assert upgraded.digest == plan.digest


def test_upgrading_leaves_the_stored_data_alone(schema: StaticSchema) -> None:
    old = _as_format_zero(_data(schema))
    before = json.dumps(old)

    plan_from_json(old, upgraders=_zero_to_one())

    assert json.dumps(old) == before


def test_upgrades_run_in_order_through_every_format() -> None:
    upgraders = Upgraders(current=3)
    upgraders.register(1)(lambda data: {**data, "seen": [*data["seen"], 1]})
    upgraders.register(2)(lambda data: {**data, "seen": [*data["seen"], 2]})

    assert upgraders.upgrade({"format": 1, "seen": []}) == {"format": 3, "seen": [1, 2]}


def test_a_second_upgrader_for_one_format_fails_at_registration() -> None:
    upgraders = _zero_to_one()

    with pytest.raises(ValueError):
        upgraders.register(0)


def test_an_upgrader_from_the_current_format_fails_at_registration() -> None:
    with pytest.raises(ValueError):
        Upgraders(current=1).register(1)
