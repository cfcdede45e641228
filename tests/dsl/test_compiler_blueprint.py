"""Whole blueprints to one plan, the trigger index over it, and properties every plan must have.

The properties are what the workflow engine relies on: every stored expression parses back to the
expression that was compiled, every jump lands inside the code, and any program that checks clean
compiles to a plan that survives JSON.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.compiler import compile_files, compile_program
from dsl.errors import CraftErrors
from dsl.parser import parse, parse_expression
from dsl.plan import ExprRef, JumpIfFalseOp, JumpOp, ProgramPlan, plan_from_json, plan_to_json, trigger_index
from dsl.schema import StaticSchema

GOLDEN = Path(__file__).parent / "golden"


def _sources(*names: str) -> dict[str, str]:
    return {name: (GOLDEN / name).read_text(encoding="utf-8") for name in names}


def _refs(value: object) -> list[ExprRef]:
    """Every :class:`ExprRef` inside a plan part, depth first."""
    if isinstance(value, ExprRef):
        return [value]
    if isinstance(value, tuple):
        return [ref for item in value for ref in _refs(item)]
    if hasattr(value, "__dataclass_fields__"):
        return [ref for name in value.__dataclass_fields__ for ref in _refs(getattr(value, name))]
    return []


# --------------------------------------------------------------------------------------- blueprints
def test_a_blueprint_compiles_to_one_plan_in_file_name_order(schema: StaticSchema) -> None:
    plan = compile_files(_sources("spec_process.craft", "spec_automations.craft"), schema)

    assert [x.at.file for x in plan.automations][:1] == ["spec_automations.craft"]
    assert [x.name for x in plan.processes] == ["Delivery"]


def test_the_order_sources_are_given_in_does_not_change_the_digest(schema: StaticSchema) -> None:
    names = ("spec_automations.craft", "spec_process.craft")

    assert compile_files(_sources(*names), schema).digest == compile_files(_sources(*reversed(names)),
                                                                            schema).digest


def test_start_process_may_name_a_process_of_another_file(schema: StaticSchema) -> None:
    sources = {"a.craft": 'automation "a" when Deal created do\n  start process "Delivery"\nend',
               **_sources("spec_process.craft")}

    assert compile_files(sources, schema).automations[0].code[0].op == "start_process"


def test_a_blueprint_with_problems_reports_those_of_every_file(schema: StaticSchema) -> None:
    sources = {"a.craft": 'automation "a" when Dael created do\n  stop\nend',
               "b.craft": 'automation "b" when Deal created do\n  set ammount = 1\nend'}

    with pytest.raises(CraftErrors) as caught:
        compile_files(sources, schema)

    assert [(e.span.file, e.code) for e in caught.value] == [("a.craft", "E_UNKNOWN_ENTITY"),
                                                             ("b.craft", "E_UNKNOWN_FIELD")]


def test_names_must_be_unique_across_the_files_of_a_blueprint(schema: StaticSchema) -> None:
    text = 'automation "a" when Deal created do\n  stop\nend'

    with pytest.raises(CraftErrors) as caught:
        compile_files({"a.craft": text, "b.craft": text}, schema)

    assert caught.value.codes == ["E_DUPLICATE_NAME"]


# ------------------------------------------------------------------------------------ trigger index
def test_trigger_index_groups_automations_by_key_in_plan_order(schema: StaticSchema) -> None:
    plan = compile_files(_sources("spec_automations.craft"), schema)

    index = trigger_index(plan)

    assert [x.name for x in index[("Deal", "entered_stage")]] == ["Repeat sale in 3 months"]
    assert [x.name for x in index[("form:website", "form")]] == ["Website form"]
    assert sum(len(found) for found in index.values()) == len(plan.automations)


def test_trigger_index_has_no_key_without_automations(schema: StaticSchema) -> None:
    assert ("Deal", "deleted") not in trigger_index(compile_files(_sources("spec_automations.craft"), schema))


# --------------------------------------------------------------------------------------- properties
@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.craft")), ids=lambda p: p.name)
def test_every_stored_expression_parses_back(schema: StaticSchema, path: Path) -> None:
    plan = compile_files(_sources(path.name), schema)

    for ref in _refs(plan.automations) + _refs(plan.processes):
        assert ref.source == ref.source.strip()
        parse_expression(ref.source)


#: Placeholders by kind, so that most generated programs check clean and the property has teeth.
_FILL = {"B": ["paid", "amount > 10", "stage == won", "title is empty", "not paid or stage in [won, lost]"],
         "S": ["won", "lost", "negotiation", "new"], "U": ["owner", "created_by", "contact.company.owner"],
         "T": ["title", "contact.name", "amount", "stage"], "N": ["amount", "amount * 2 + 1", "len(title)"]}
_TRIGGERS = ["Deal created", "Deal updated", "Deal.amount changed", "Deal entered stage won",
             "Deal stays in stage new for 2 days", "1 day after Deal.closes_on", "manual for Deal",
             "every day at 08:00 for Deal"]
_STEPS = [
    "set amount = N", 'set title = "{T}"', "move to stage S", 'create Lead with name = "{T}", score = N',
    'update contact with name = "{T}"', 'notify U "{T}"', 'assign owner round robin from group "sales"',
    "wait until B", "wait 1 hour until B", "wait 2 days", "if B then\nif B then\nstop\nend\nend",
    "if B then\nstop\nelse if B then\nwait 2 days\nelse\nset amount = N\nend", 'add tag "{T}"',
    'send email to contact.email subject "{T}" body "b"', 'call webhook "https://x.test/{T}" with {k: N}',
    'create task "{T}" for U due in 1 day', 'notify group "heads" "x"']


@st.composite
def _programs(draw: st.DrawFn) -> str:
    def fill(template: str) -> str:
        return re.sub("[BSUTN]", lambda m: draw(st.sampled_from(_FILL[m.group()])), template)

    steps = "\n".join(fill(draw(st.sampled_from(_STEPS))) for _ in range(draw(st.integers(0, 6))))
    return f'automation "a" when {draw(st.sampled_from(_TRIGGERS))} do\n{steps}\nend'


def _assert_sound(plan: ProgramPlan) -> None:
    for item in (*plan.automations, *plan.processes):
        for pc, instruction in enumerate(item.code):
            if isinstance(instruction, JumpOp | JumpIfFalseOp):
                assert pc < instruction.target <= len(item.code)
    assert plan_from_json(json.loads(json.dumps(plan_to_json(plan)))) == plan


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_programs())
def test_any_program_that_checks_clean_compiles_to_a_sound_plan(schema: StaticSchema, text: str) -> None:
    try:
        plan = compile_program(parse(text), schema)
    except CraftErrors:
        return
    _assert_sound(plan)
