"""Every scenario under examples/*/scenarios/ passes through ``stagecraft simulate`` (exit 0), and the
spec-language scenarios together exercise every automation and process of the language spec: the
examples behave as their comments say, and a change that breaks one turns this red."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.cli import app

EXAMPLES = Path(__file__).parents[1] / "examples"
SCENARIOS = sorted(EXAMPLES.glob("*/scenarios/*.yaml"))
SPEC_LANGUAGE = EXAMPLES / "spec-language"
_DEFINITION = re.compile(r'^(?:automation|process) "([^"]+)"', re.MULTILINE)


@functools.cache
def _simulated(scenario: Path) -> Result:
    """The scenario's run, once per session (two tests read it)."""
    blueprint = scenario.parent.parent
    return CliRunner().invoke(app, ["simulate", str(blueprint), "--scenario", str(scenario), "--json"])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{p.parent.parent.name}/{p.name}" for p in SCENARIOS])
def test_example_scenario_passes(scenario: Path) -> None:
    result = _simulated(scenario)
    assert result.exit_code == 0, result.output


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
