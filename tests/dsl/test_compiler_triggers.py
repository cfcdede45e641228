"""Trigger plans: every trigger kind as data, with the index key the engine looks automations up by."""

from __future__ import annotations

import pytest

from dsl.compiler import compile_program
from dsl.errors import CraftErrors
from dsl.parser import parse
from dsl.plan import AutomationPlan, ExprRef, Schedule, TriggerPlan
from dsl.schema import StaticSchema


def _automation(schema: StaticSchema, trigger: str, body: str = "  stop") -> AutomationPlan:
    return compile_program(parse(f'automation "a" when {trigger} do\n{body}\nend'), schema).automations[0]


def _trigger(schema: StaticSchema, trigger: str) -> TriggerPlan:
    return _automation(schema, trigger).trigger


@pytest.mark.parametrize("source, key", [
    ("Deal created", ("Deal", "created")),
    ("Deal updated", ("Deal", "updated")),
    ("Lead deleted", ("Lead", "deleted")),
    ("Deal.amount changed", ("Deal", "changed")),
    ("Deal entered stage won", ("Deal", "entered_stage")),
    ("Deal left stage won", ("Deal", "left_stage")),
    ("Lead stays in stage new for 1 hour", ("Lead", "stays_in_stage")),
    ("30 days before Contract.ends_on", ("Contract", "date")),
    ("every monday at 09:00 for Deal", ("schedule", "schedule")),
    ("form website submitted", ("form:website", "form")),
    ("webhook shop received", ("webhook:shop", "webhook")),
    ("manual for Contract", ("Contract", "manual")),
])
def test_index_key_per_trigger_kind(schema: StaticSchema, source: str, key: tuple[str, str]) -> None:
    assert _trigger(schema, source).index_key() == key


def test_record_trigger_names_its_entity_only(schema: StaticSchema) -> None:
    assert _trigger(schema, "Deal created") == TriggerPlan(kind="created", entity="Deal")


def test_changed_trigger_lists_its_fields(schema: StaticSchema) -> None:
    assert _trigger(schema, "Deal.amount, Deal.paid changed") == TriggerPlan(
        kind="changed", entity="Deal", fields=("amount", "paid"))


def test_stage_trigger_names_the_pipeline_of_its_stage(schema: StaticSchema) -> None:
    assert _trigger(schema, "Deal entered stage won") == TriggerPlan(
        kind="entered_stage", entity="Deal", stage="won", pipeline="sales")


def test_stage_trigger_keeps_the_pipeline_it_names(schema: StaticSchema) -> None:
    assert _trigger(schema, "Ticket left stage open in pipeline repairs").pipeline == "repairs"


def test_stay_trigger_has_its_duration_in_seconds(schema: StaticSchema) -> None:
    assert _trigger(schema, "Ticket stays in stage open in pipeline support for 3 days") == TriggerPlan(
        kind="stays_in_stage", entity="Ticket", stage="open", pipeline="support", duration_seconds=259200)


@pytest.mark.parametrize("side", ["before", "after"])
def test_date_trigger_has_offset_direction_and_field(schema: StaticSchema, side: str) -> None:
    assert _trigger(schema, f"2 weeks {side} Deal.closes_on") == TriggerPlan(
        kind="date", entity="Deal", date_field="closes_on", duration_seconds=1209600, direction=side)


@pytest.mark.parametrize("day, days", [
    ("day", (1, 2, 3, 4, 5, 6, 7)), ("weekday", (1, 2, 3, 4, 5)), ("monday", (1,)), ("sunday", (7,))])
def test_schedule_days_are_iso_weekdays(schema: StaticSchema, day: str, days: tuple[int, ...]) -> None:
    assert _trigger(schema, f"every {day} at 9:05 for Deal").schedule == Schedule(days=days, time="09:05",
                                                                                 tz=None)


def test_schedule_keeps_its_time_zone(schema: StaticSchema) -> None:
    trigger = _trigger(schema, 'every weekday at 07:30 in "Europe/Berlin" for Deal')

    assert (trigger.entity, trigger.schedule) == ("Deal", Schedule(days=(1, 2, 3, 4, 5), time="07:30",
                                                                   tz="Europe/Berlin"))


def test_schedule_with_an_unknown_time_zone_is_refused(schema: StaticSchema) -> None:
    with pytest.raises(CraftErrors) as caught:
        _trigger(schema, 'every day at 07:30 in "Europe/Berlim" for Deal')

    assert caught.value.codes == ["E_BAD_TIMEZONE"]


def test_form_trigger_subject_is_the_record_the_form_creates(schema: StaticSchema) -> None:
    automation = _automation(schema, "form website submitted")

    assert (automation.trigger, automation.subject) == (TriggerPlan(kind="form", form="website"), "Contact")


def test_webhook_trigger_has_no_subject(schema: StaticSchema) -> None:
    automation = _automation(schema, "webhook shop received")

    assert (automation.trigger, automation.subject) == (TriggerPlan(kind="webhook", webhook="shop"), None)


def test_where_condition_is_part_of_the_trigger(schema: StaticSchema) -> None:
    trigger = _trigger(schema, "Deal updated where amount>=1000000 and old.amount<1000000")

    assert trigger.where == ExprRef(source="amount >= 1000000 and old.amount < 1000000", type="boolean")


def test_trigger_without_where_has_none(schema: StaticSchema) -> None:
    assert _trigger(schema, "Deal updated").where is None
