"""Every example blueprint under examples/ checks clean, every scenario under examples/*/scenarios/
passes through ``stagecraft simulate`` (exit 0), and the spec-language scenarios together exercise
every automation and process of the language spec: the examples behave as their comments say, and
a change that breaks one turns this red.  New examples are picked up by their folder alone."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

EXAMPLES = Path(__file__).parents[1] / "examples"
SCENARIOS = sorted(EXAMPLES.glob("*/scenarios/*.yaml"))
BLUEPRINTS = sorted(p.parent for p in EXAMPLES.glob("*/blueprint.yaml"))
SPEC_LANGUAGE = EXAMPLES / "spec-language"
_DEFINITION = re.compile(r'^(?:automation|process) "([^"]+)"', re.MULTILINE)


@dataclass(frozen=True)
class Simulated:
    returncode: int
    stdout: str
    output: str  # stdout and stderr, for the failure message


@functools.cache
def _simulated(scenario: Path) -> Simulated:
    """The scenario's ``stagecraft simulate --json`` run, once per session (two tests read it)."""
    result = CliRunner().invoke(app, ["simulate", str(scenario.parent.parent), "--scenario", str(scenario),
                                      "--json"])
    return Simulated(result.exit_code, result.stdout, result.output)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{p.parent.parent.name}/{p.name}" for p in SCENARIOS])
def test_example_scenario_passes(scenario: Path) -> None:
    result = _simulated(scenario)
    assert result.returncode == 0, result.output


def test_two_simulations_in_one_process_agree() -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["simulate", str(SPEC_LANGUAGE), "--scenario",
                                str(SPEC_LANGUAGE / "scenarios" / "intake.yaml")])
    store = EXAMPLES / "online-store"
    second = runner.invoke(app, ["simulate", str(store), "--scenario",
                                 str(store / "scenarios" / "order-intake.yaml")])
    assert (first.exit_code, second.exit_code) == (0, 0), second.output


@pytest.mark.parametrize("blueprint", BLUEPRINTS, ids=[p.name for p in BLUEPRINTS])
def test_example_blueprint_checks_clean(blueprint: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(blueprint)])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_the_cli_spec_scenario_is_an_example() -> None:
    assert SPEC_LANGUAGE / "scenarios" / "payment-reminder.yaml" in SCENARIOS


def test_spec_language_scenarios_run_every_automation_and_process_of_the_spec() -> None:
    craft = "\n".join(f.read_text(encoding="utf-8") for f in (SPEC_LANGUAGE / "automations").glob("*.craft"))
    defined = set(_DEFINITION.findall(craft))
    started: set[str] = set()
    for scenario in SCENARIOS:
        if scenario.parent.parent == SPEC_LANGUAGE:
            events = [json.loads(line) for line in _simulated(scenario).stdout.splitlines()]
            started |= {str(e.get("name")) for e in events if e.get("kind") == "started"}
    assert defined - started == set()
