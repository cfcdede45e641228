"""Evaluation budgets: steps, time and output size each stop a run with their own code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dsl.budget import CLOCK_EVERY, Budget
from dsl.errors import CraftRuntimeError
from dsl.evaluate import EvalContext, compile_source

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def _code(source: str, budget: Budget, record: dict[str, Any] | None = None, times: int = 1) -> str | None:
    compiled = compile_source(source)
    ctx = EvalContext(now=NOW, record=record or {}, budget=budget)
    try:
        for _ in range(times):
            compiled(ctx)
    except CraftRuntimeError as error:
        return error.code
    return None


def test_an_expression_within_the_step_budget_runs() -> None:
    assert _code("1 + 2 + 3", Budget(max_steps=2)) is None


def test_steps_are_counted_per_operator_and_function_not_per_literal_or_path() -> None:
    budget = Budget()

    assert _code('lower(s) == "a" and n + 1 > 2', budget, {"s": "A", "n": 1}) is None
    assert budget.steps == 5


def test_one_step_more_than_the_budget_stops_the_run() -> None:
    assert _code("1 + 2 + 3 + 4", Budget(max_steps=2)) == "E_BUDGET_STEPS"


def test_a_long_chain_of_operators_trips_the_default_step_budget() -> None:
    source = "max(" + ", ".join(["n + 1"] * 11_000) + ")"

    assert _code(source, Budget(), {"n": 1}) == "E_BUDGET_STEPS"


def test_the_step_budget_is_shared_by_every_evaluation_of_a_run() -> None:
    budget = Budget(max_steps=1_000)

    assert _code('lower("A") == "a"', budget, times=600) == "E_BUDGET_STEPS"
    assert budget.steps > 1_000


def test_a_restarted_budget_has_its_full_allowance_again() -> None:
    budget = Budget(max_steps=10)
    budget.steps = 10
    budget.restart()

    assert budget.steps == 0 and _code("1 + 2", budget) is None


def test_running_out_of_time_stops_the_run_at_the_clock_reading_after_the_first() -> None:
    budget = Budget(max_seconds=0.0)
    source = "max(" + ", ".join(["n + 1"] * (CLOCK_EVERY + 1)) + ")"

    assert _code(source, budget, {"n": 1}, times=1) is None  # the first reading starts the clock
    assert _code(source, budget, {"n": 1}, times=1) == "E_BUDGET_TIME"


def test_time_is_only_read_every_few_hundred_steps() -> None:
    budget = Budget(max_seconds=0.0)

    assert _code("1 + 2 + 3", budget) is None


@pytest.mark.parametrize("source", ["big + big", '"{big}{big}"', 'big + "!"', "upper(sharp_s)"])
def test_a_text_longer_than_the_output_budget_stops_the_run(source: str) -> None:
    record = {"big": "x" * 100, "sharp_s": "\u00df" * 60}

    assert _code(source, Budget(max_output=100), record) == "E_BUDGET_OUTPUT"


def test_a_text_of_exactly_the_output_budget_is_fine() -> None:
    assert _code("big + big", Budget(max_output=100), {"big": "x" * 50}) is None


def test_a_record_value_that_is_merely_read_is_not_output() -> None:
    assert _code("big", Budget(max_output=10), {"big": "x" * 100}) is None


def test_the_default_budget_is_ten_thousand_steps_half_a_second_and_100_000_characters() -> None:
    budget = Budget()

    assert (budget.max_steps, budget.max_seconds, budget.max_output) == (10_000, 0.5, 100_000)
