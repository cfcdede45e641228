"""The compiler: checked programs become flat instruction lists with resolved operands.

Trigger plans and index keys are in test_compiler_triggers.py, the JSON form in test_plan_json.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.compiler import compile_program
from dsl.errors import CraftErrors
from dsl.parser import parse
from dsl.plan import (
    OPS,
    Assign,
    AutomationPlan,
    Binding,
    CallWebhookOp,
    ExprRef,
    Instruction,
    JumpIfFalseOp,
    JumpOp,
    ProgramPlan,
    Recipient,
    RecordRef,
    Where,
)
from dsl.schema import StaticSchema

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.craft"))
CONTROL = {"wait", "wait_until", "jump", "jump_if_false", "stop"}


def _plan(schema: StaticSchema, text: str) -> ProgramPlan:
    return compile_program(parse(text, "deals.craft"), schema)


def _automation(schema: StaticSchema, body: str, trigger: str = "Deal updated") -> AutomationPlan:
    return _plan(schema, f'automation "a" when {trigger} do\n{body}\nend').automations[0]


def _code(schema: StaticSchema, body: str) -> tuple[Instruction, ...]:
    return _automation(schema, body).code


def _layout(code: tuple[Instruction, ...]) -> list[str]:
    """Each instruction as ``op`` or ``op->target``: what pc layout tests compare."""
    return [f"{i.op}->{i.target}" if isinstance(i, JumpOp | JumpIfFalseOp) else i.op for i in code]


def _golden(schema: StaticSchema, path: Path) -> ProgramPlan:
    return compile_program(parse(path.read_text(encoding="utf-8"), path.name), schema)


# --------------------------------------------------------------------------------- what compiles
@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_every_golden_example_compiles(schema: StaticSchema, path: Path) -> None:
    program = parse(path.read_text(encoding="utf-8"), path.name)

    plan = compile_program(program, schema)

    assert [x.name for x in plan.automations] == [x.name.value for x in program.automations]
    assert [x.name for x in plan.processes] == [x.name.value for x in program.processes]


def test_every_op_is_produced_by_the_all_constructs_example(schema: StaticSchema) -> None:
    plan = _golden(schema, Path(__file__).parent / "golden" / "all_constructs.craft")

    produced = {i.op for item in (*plan.automations, *plan.processes) for i in item.code}

    assert produced == set(OPS)


def test_a_program_that_does_not_check_is_not_compiled(schema: StaticSchema) -> None:
    with pytest.raises(CraftErrors) as caught:
        _plan(schema, 'automation "a" when Deal updated do\n  set ammount = 1\n  notify group "x" "y"\nend')

    assert caught.value.codes == ["E_UNKNOWN_FIELD", "E_UNKNOWN_GROUP"]


def test_start_process_of_another_file_compiles_when_its_name_is_given(schema: StaticSchema) -> None:
    program = parse('automation "a" when Deal updated do\n  start process "Elsewhere"\nend')

    plan = compile_program(program, schema, processes={"Elsewhere"})

    assert plan.automations[0].code[0].op == "start_process"


def test_start_process_of_an_unknown_process_is_refused(schema: StaticSchema) -> None:
    with pytest.raises(CraftErrors) as caught:
        _plan(schema, 'automation "a" when Deal updated do\n  start process "Elsewhere"\nend')

    assert caught.value.codes == ["E_UNKNOWN_PROCESS"]


def test_writing_to_an_old_value_is_refused(schema: StaticSchema) -> None:
    with pytest.raises(CraftErrors) as caught:
        _code(schema, "  set old.amount = 1")

    assert caught.value.codes == ["E_TYPE_MISMATCH"]


def test_setting_a_binding_itself_is_refused(schema: StaticSchema) -> None:
    with pytest.raises(CraftErrors) as caught:
        _code(schema, '  create Lead with name = "x" as lead\n  set lead = 1')

    assert caught.value.codes == ["E_TYPE_MISMATCH"]


@pytest.mark.parametrize("step", ["move to stage won", 'add tag "x"', 'start process "P"'])
def test_subject_steps_without_a_subject_record_are_refused(schema: StaticSchema, step: str) -> None:
    text = f'automation "a" when webhook shop received do\n  {step}\nend\nprocess "P" for Deal\n  stop\nend'

    with pytest.raises(CraftErrors) as caught:
        _plan(schema, text)

    assert caught.value.codes == ["E_UNKNOWN_NAME"]


def test_starting_a_process_of_another_entity_is_refused(schema: StaticSchema) -> None:
    text = 'automation "a" when Lead created do\n  start process "P"\nend\nprocess "P" for Deal\n  stop\nend'

    with pytest.raises(CraftErrors) as caught:
        _plan(schema, text)

    assert caught.value.codes == ["E_TYPE_MISMATCH"]


def test_every_refused_step_is_reported_at_once(schema: StaticSchema) -> None:
    with pytest.raises(CraftErrors) as caught:
        _plan(schema, 'automation "a" when webhook shop received do\n  move to stage won\n  add tag "x"\nend')

    assert [(e.code, e.span.line) for e in caught.value] == [("E_UNKNOWN_NAME", 2), ("E_UNKNOWN_NAME", 3)]


# ------------------------------------------------------------------------------------- pc layout
def test_straight_steps_take_one_pc_each(schema: StaticSchema) -> None:
    assert _layout(_code(schema, '  add tag "a"\n  wait 1 day\n  stop')) == ["add_tag", "wait", "stop"]


def test_if_without_else_jumps_past_its_body_when_false(schema: StaticSchema) -> None:
    code = _code(schema, '  if paid then\n    add tag "a"\n    add tag "b"\n  end\n  stop')

    assert _layout(code) == ["jump_if_false->3", "add_tag", "add_tag", "stop"]


def test_if_else_jumps_over_the_else_branch_after_the_then_branch(schema: StaticSchema) -> None:
    code = _code(schema, '  if paid then\n    add tag "a"\n  else\n    add tag "b"\n  end\n  stop')

    assert _layout(code) == ["jump_if_false->3", "add_tag", "jump->4", "add_tag", "stop"]


def test_else_if_tests_each_condition_in_turn(schema: StaticSchema) -> None:
    body = ('  if paid then\n    add tag "a"\n  else if amount > 1 then\n    add tag "b"\n'
            '  else\n    add tag "c"\n  end')

    assert _layout(_code(schema, body)) == [
        "jump_if_false->3", "add_tag", "jump->7", "jump_if_false->6", "add_tag", "jump->7", "add_tag"]


def test_else_if_without_else_falls_through_from_the_last_branch(schema: StaticSchema) -> None:
    body = '  if paid then\n    stop\n  else if amount > 1 then\n    add tag "b"\n  end\n  add tag "c"'

    assert _layout(_code(schema, body)) == [
        "jump_if_false->3", "stop", "jump->5", "jump_if_false->5", "add_tag", "add_tag"]


def test_nested_ifs_jump_to_their_own_ends(schema: StaticSchema) -> None:
    body = ('  if paid then\n    if amount > 1 then\n      add tag "a"\n    else\n      add tag "b"\n'
            '    end\n  else\n    add tag "c"\n  end')

    assert _layout(_code(schema, body)) == [
        "jump_if_false->6", "jump_if_false->4", "add_tag", "jump->5", "add_tag", "jump->7", "add_tag"]


def test_an_if_at_the_end_jumps_to_the_end_of_the_code(schema: StaticSchema) -> None:
    code = _code(schema, '  if paid then\n    add tag "a"\n  end')

    assert _layout(code) == ["jump_if_false->2", "add_tag"]
    assert len(code) == 2


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_jumps_only_go_forward_and_never_past_the_end(schema: StaticSchema, path: Path) -> None:
    plan = _golden(schema, path)

    for item in (*plan.automations, *plan.processes):
        for pc, instruction in enumerate(item.code):
            if isinstance(instruction, JumpOp | JumpIfFalseOp):
                assert pc < instruction.target <= len(item.code)


# ----------------------------------------------------------------------------------- effect keys
def test_side_effects_have_an_effect_key_of_owner_and_pc(schema: StaticSchema) -> None:
    code = _code(schema, '  wait 1 hour\n  notify owner "hi"')

    assert code[1].effect_key == "automation:a#1"


def test_waits_and_control_flow_have_no_effect_key(schema: StaticSchema) -> None:
    plan = _golden(schema, Path(__file__).parent / "golden" / "all_constructs.craft")

    for item in (*plan.automations, *plan.processes):
        for instruction in item.code:
            assert (instruction.effect_key is None) == (instruction.op in CONTROL)


def test_effect_keys_of_a_process_name_the_process(schema: StaticSchema) -> None:
    plan = _golden(schema, Path(__file__).parent / "golden" / "spec_process.craft")

    assert plan.processes[0].code[0].effect_key == "process:Delivery#0"


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_effect_keys_are_unique_in_a_plan(schema: StaticSchema, path: Path) -> None:
    plan = _golden(schema, path)

    keys = [i.effect_key for x in (*plan.automations, *plan.processes) for i in x.code if i.effect_key]

    assert len(keys) == len(set(keys))


# -------------------------------------------------------------------------------------- operands
def test_expressions_are_canonical_source_with_their_type(schema: StaticSchema) -> None:
    code = _code(schema, "  if (amount>=1000)and  not paid then\n    stop\n  end")

    assert code[0] == JumpIfFalseOp(at=code[0].at, condition=ExprRef(
        source="amount >= 1000 and not paid", type="boolean"), target=2)


def test_templates_are_canonical_string_source(schema: StaticSchema) -> None:
    code = _code(schema, '  notify owner "Deal {  title } {{literal}}"')

    assert code[0].text == ExprRef(source='"Deal {title} {{literal}}"', type="string")


def test_durations_are_whole_seconds(schema: StaticSchema) -> None:
    code = _code(schema, "  wait 1.5 hours\n  wait 2 weeks")

    assert [i.seconds for i in code] == [5400, 1209600]


def test_wait_with_until_is_a_wait_until_with_a_timeout(schema: StaticSchema) -> None:
    code = _code(schema, "  wait 3 days until paid\n  wait until paid for at most 3 days\n  wait until paid")

    assert [(i.op, i.timeout_seconds) for i in code] == [
        ("wait_until", 259200), ("wait_until", 259200), ("wait_until", None)]


def test_move_names_the_pipeline_of_its_stage(schema: StaticSchema) -> None:
    code = _code(schema, "  move to stage won")

    assert (code[0].stage, code[0].pipeline) == ("won", "sales")


def test_a_path_through_a_binding_writes_the_bound_record(schema: StaticSchema) -> None:
    code = _code(schema, '  create Lead with name = "x" as lead\n  set lead.score = 1, contact.name = "y"')

    assert code[1].assignments == (
        Assign(record=RecordRef(binding="lead", refs=()), field="score",
               value=ExprRef(source="1", type="number")),
        Assign(record=RecordRef(binding=None, refs=("contact",)), field="name",
               value=ExprRef(source='"y"', type="string")))


def test_update_names_the_record_it_reaches(schema: StaticSchema) -> None:
    code = _code(schema, '  update contact.company with name = "x"')

    assert code[0].record == RecordRef(binding=None, refs=("contact", "company"))


def test_tag_steps_name_the_subjects_tags_field(schema: StaticSchema) -> None:
    code = _code(schema, '  add tag "vip {title}"')

    assert (code[0].field, code[0].tag.source) == ("tags", '"vip {title}"')


def test_recipients_are_a_user_expression_or_a_group(schema: StaticSchema) -> None:
    code = _code(schema, '  notify contact.company.owner "a"\n  notify group "heads" "b"')

    assert [i.recipient for i in code] == [
        Recipient(user=ExprRef(source="contact.company.owner", type="user"), group=None),
        Recipient(user=None, group="heads")]


def test_webhook_method_defaults_to_post_and_body_to_none(schema: StaticSchema) -> None:
    code = _code(schema, '  call webhook "https://x.test"\n'
                         '  call webhook "https://x.test" method GET with {}')

    assert [(i.method, i.body) for i in code] == [("POST", None), ("GET", ())]
    assert isinstance(code[0], CallWebhookOp)


def test_bindings_are_listed_with_the_entity_they_hold(schema: StaticSchema) -> None:
    automation = _automation(schema, '  create Lead with name = "x" as lead\n'
                                     '  create task "t" for owner due in 1 day as todo\n'
                                     '  call webhook "https://x.test" as reply')

    assert automation.bindings == (Binding(name="lead", entity="Lead"), Binding(name="todo", entity="Task"),
                                   Binding(name="reply", entity=None))


def test_process_task_and_approval_keep_their_operands(schema: StaticSchema) -> None:
    plan = _golden(schema, Path(__file__).parent / "golden" / "spec_process.craft")
    task, _, approval = plan.processes[0].code[:3]

    assert (task.op, task.due_seconds, task.remind_seconds) == ("task", 86400, 14400)
    assert (approval.options, approval.bind) == (("delivered", "failed"), "outcome")


def test_instructions_carry_their_source_place(schema: StaticSchema) -> None:
    code = _code(schema, '  add tag "a"\n    stop')

    assert [i.at for i in code] == [Where(file="deals.craft", line=2, col=3),
                                    Where(file="deals.craft", line=3, col=5)]


def test_automations_that_never_wait_say_so(schema: StaticSchema) -> None:
    assert not _automation(schema, '  add tag "a"').waits
    assert _automation(schema, "  wait 1 day").waits

