"""``stagecraft simulate PATH --scenario FILE [--json]`` (spec/cli.md): the timeline on a virtual
clock, exit 1 with the place of every failing expect, one line per problem, never a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api.cli import app

TICKETS = """
workspace: tickets
entities:
  Ticket:
    fields:
      title: {type: string, required: true, max_length: 200}
      hits:  {type: integer, max: 5}
      email: {type: email}
automations: [rules.craft]
"""

RULES = """
automation "Welcome"
when Ticket created
do
  wait 2 hours
  send email to email subject "Hello {title}" body "We are on it."
end

automation "Too many hits"
when Ticket.title changed
do
  set hits = 99
end
"""

PASSING = """
start: "2026-03-02T09:00:00Z"
steps:
  - create: Ticket
    as: t1
    values: {title: Printer, email: ann@example.com}
  - expect: {messages: 0, instances: {waiting: 1}}
  - advance: 2 hours
  - expect: {messages: 1, last_message: {channel: email, to: ann@example.com, subject: Hello Printer}}
"""


@pytest.fixture
def blueprint(tmp_path: Path) -> Path:
    folder = tmp_path / "bp"
    folder.mkdir()
    (folder / "blueprint.yaml").write_text(TICKETS, encoding="utf-8")
    (folder / "rules.craft").write_text(RULES, encoding="utf-8")
    return folder


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _simulate(runner: CliRunner, blueprint: Path, scenario: Path, *extra: str) -> Result:
    return runner.invoke(app, ["simulate", str(blueprint), "--scenario", str(scenario), *extra])


def test_a_passing_scenario_exits_0_and_prints_the_timeline_in_virtual_time(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    result = _simulate(runner, blueprint, _scenario(tmp_path, PASSING))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2026-03-02 09:00:00  record created")
    assert any(line.startswith("2026-03-02 09:00:00  waiting") for line in lines)
    assert any(line.startswith("2026-03-02 11:00:00  message") and "Hello Printer" in line for line in lines)
    assert "2 expect step(s) passed" in result.stderr


def test_json_prints_one_parseable_object_per_line_in_time_order(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    result = _simulate(runner, blueprint, _scenario(tmp_path, PASSING), "--json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [event["kind"] for event in events]
    expected = ("record created", "started", "waiting", "time advanced", "woke", "message", "done", "expect")
    assert [kind for kind in expected if kind not in kinds] == []
    moments = [event["at"] for event in events]
    assert moments == sorted(moments)


def test_a_failing_expect_exits_1_and_prints_the_mismatch_at_the_steps_line(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, PASSING.replace("expect: {messages: 0,", "expect: {messages: 3,"))
    result = _simulate(runner, blueprint, scenario)
    assert result.exit_code == 1
    assert f"{scenario}:7 expected 3 messages, found 0" in result.stderr
    assert "1 mismatch(es) in 2 expect step(s)" in result.stderr
    assert "Traceback" not in result.output


def test_every_failing_expect_is_reported_not_only_the_first(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    text = PASSING.replace("messages: 0,", "messages: 3,").replace("subject: Hello Printer", "subject: Bye")
    scenario = _scenario(tmp_path, text)
    result = _simulate(runner, blueprint, scenario)
    assert result.exit_code == 1
    assert f"{scenario}:7 " in result.stderr
    assert f'{scenario}:9 last message: expected subject "Bye", found "Hello Printer"' in result.stderr


def test_a_bad_scenario_is_one_line_per_problem_with_file_line_and_column(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, 'start: "2026-03-02T09:00:00Z"\nsteps:\n  - creat: Ticket\n'
                                   "  - update: nobody\n    values: {hits: 1}\n")
    result = _simulate(runner, blueprint, scenario)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f'{scenario}:3:5 WF_BAD_SCENARIO unknown step kind "creat"')
    assert lines[1].startswith(f'{scenario}:4:13 WF_BAD_SCENARIO no record is called "nobody"')
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_a_missing_scenario_file_is_one_line(runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    result = _simulate(runner, blueprint, tmp_path / "nowhere.yaml")
    assert result.exit_code == 1
    assert "WF_BAD_SCENARIO cannot read the file" in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_blueprint_is_reported_with_its_place(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    (blueprint / "rules.craft").write_text('automation "X"\nwhen Ticket created\ndo\n  set hitz = 1\nend\n',
                                           encoding="utf-8")
    result = _simulate(runner, blueprint, _scenario(tmp_path, PASSING))
    assert result.exit_code == 1
    assert "rules.craft:4:" in result.stderr
    assert "hitz" in result.stderr
    assert "Traceback" not in result.output


def test_a_step_the_store_refuses_stops_the_run_with_its_place(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, 'start: "2026-03-02T09:00:00Z"\nsteps:\n  - create: Ticket\n'
                                   "    values: {title: x, hits: 50}\n  - advance: 1 day\n")
    result = _simulate(runner, blueprint, scenario)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{scenario}:3 VALIDATION_FAILED hits: must be at most 5"
    assert "time advanced" not in result.stdout  # the steps after it did not run


def test_a_step_naming_an_unknown_task_is_reported_with_its_place(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, 'start: "2026-03-02T09:00:00Z"\nsteps:\n  - complete_task: Call Ann\n')
    result = _simulate(runner, blueprint, scenario)
    assert result.exit_code == 1
    assert result.stderr.startswith(f'{scenario}:3 NOT_FOUND no open task has "Call Ann" in its title')


def test_a_failed_run_shows_in_the_timeline_and_counts_as_an_error(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, 'start: "2026-03-02T09:00:00Z"\nsteps:\n  - create: Ticket\n    as: t1\n'
                                   "    values: {title: x}\n  - update: t1\n    values: {title: y}\n"
                                   "  - expect: {errors: 1, instances: {failed: 1}}\n")
    result = _simulate(runner, blueprint, scenario)
    assert result.exit_code == 0, result.output
    [failed] = [line for line in result.stdout.splitlines() if "  failed  " in line]
    assert '"Too many hits"' in failed
    assert "hits: must be at most 5 (at rules.craft:" in failed


def test_a_field_an_automation_sets_is_in_the_timeline_before_the_runs_next_line(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    (blueprint / "rules.craft").write_text(
        'automation "Count"\nwhen Ticket created\ndo\n  set hits = 1\n  wait 1 hour\nend\n', encoding="utf-8")
    scenario = _scenario(tmp_path, 'start: "2026-03-02T09:00:00Z"\nsteps:\n  - create: Ticket\n'
                                   "    values: {title: x}\n")
    result = _simulate(runner, blueprint, scenario, "--json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [event["kind"] for event in events]
    assert kinds == ["record created", "started", "changed", "waiting"]
    change = events[2]
    assert (change["entity"], change["values"], change["name"]) == ("Ticket", {"hits": 1}, "Count")


def test_the_throwaway_database_is_removed_and_the_configured_one_untouched(
        runner: CliRunner, blueprint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    result = _simulate(runner, blueprint, _scenario(tmp_path, PASSING))
    assert result.exit_code == 0, result.output
    assert list(scratch.iterdir()) == []
    assert not (tmp_path / "cli.db").exists()


def test_a_workspace_name_the_platform_refuses_is_placed_in_the_scenario(
        runner: CliRunner, blueprint: Path, tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, 'workspace: "Bad Name!"\n' + PASSING)
    result = _simulate(runner, blueprint, scenario)
    assert result.exit_code == 1
    assert result.stderr.startswith(f'{scenario}:1:12 WF_BAD_SCENARIO workspace name "Bad Name!" must start')
