"""``stagecraft runs list|show|retry --workspace W``: what failed, where and why, and putting it back
to work — one workspace at a time (an id of another workspace is "not found"), on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from api.cli import app
from metamodel import apply_blueprint_path
from workflow import Simulation

TICKETS = """
workspace: tickets
entities:
  Ticket:
    fields:
      title: {type: string, required: true, max_length: 200}
      hits:  {type: integer, max: 5}
automations: [rules.craft]
"""

RULES = """automation "Too many hits"
when Ticket created
do
  set hits = 99
end
"""


@pytest.fixture
def blueprint(tmp_path: Path) -> Path:
    folder = tmp_path / "bp"
    folder.mkdir()
    (folder / "blueprint.yaml").write_text(TICKETS, encoding="utf-8")
    (folder / "rules.craft").write_text(RULES, encoding="utf-8")
    return folder


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command line on the test's database (SQLite and PostgreSQL)."""
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", db_url)
    return CliRunner()


def _failed_run(engine: Engine, blueprint: Path, workspace: str) -> int:
    """A workspace whose automation sets an integer above its maximum: one failed run; its id."""
    apply_blueprint_path(engine, blueprint, workspace)
    sim = Simulation(engine, workspace, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    sim.create("Ticket", {"title": "Printer"}, "t1")
    [run] = sim.instances()
    assert run["status"] == "failed"
    return int(run["id"])


@pytest.fixture
def failed(engine: Engine, blueprint: Path, workspace: str) -> int:
    return _failed_run(engine, blueprint, workspace)


def _runs(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, ["runs", *args])


def test_list_shows_the_failed_run_with_its_error_and_the_steps_place(
        cli: CliRunner, failed: int, workspace: str) -> None:
    result = _runs(cli, "list", "--workspace", workspace)
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split() == ["id", "run", "record", "status", "step", "error", "updated"]
    assert row.startswith(f'{failed} ')
    for part in ('automation "Too many hits"', "Ticket #1", "failed", "rules.craft:4:3",
                 "VALIDATION_FAILED hits: must be at most 5", "2026-03-02 09:00:00"):
        assert part in row


def test_list_filters_by_status(cli: CliRunner, failed: int, workspace: str) -> None:
    assert str(failed) in _runs(cli, "list", "-w", workspace, "--status", "failed").stdout
    result = _runs(cli, "list", "-w", workspace, "--status", "done")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"workspace {workspace}: no done runs"


def test_list_refuses_an_unknown_status_in_one_line(cli: CliRunner, failed: int, workspace: str) -> None:
    result = _runs(cli, "list", "-w", workspace, "--status", "broken")
    assert result.exit_code == 1
    assert result.stderr.startswith('WF_BAD_STATUS unknown run status "broken"')


def test_list_stops_at_the_limit(cli: CliRunner, engine: Engine, failed: int, workspace: str) -> None:
    Simulation(engine, workspace, datetime(2026, 3, 3, 9, 0, tzinfo=UTC)).create("Ticket", {"title": "Fax"})
    rows = _runs(cli, "list", "-w", workspace, "--limit", "1").stdout.splitlines()[1:]
    assert len(rows) == 1
    assert "2026-03-03" in rows[0]  # the newest first


def test_show_prints_the_run_and_its_log_lines_in_order(cli: CliRunner, failed: int, workspace: str) -> None:
    result = _runs(cli, "show", str(failed), "--workspace", workspace)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f'run {failed}: automation "Too many hits" on Ticket #1, failed at rules.craft:4:3'
    assert lines[1].startswith("error: VALIDATION_FAILED hits: must be at most 5")
    assert [line.split()[2] for line in lines[2:]] == ["started", "failed"]


def test_retry_puts_a_failed_run_back_to_work(cli: CliRunner, failed: int, workspace: str) -> None:
    result = _runs(cli, "retry", str(failed), "--workspace", workspace)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"run {failed} will run again from the step that failed"
    assert "running" in _runs(cli, "list", "-w", workspace).stdout
    assert "retried" in _runs(cli, "show", str(failed), "-w", workspace).stdout


def test_retry_of_a_run_that_is_not_failed_is_one_clear_line(
        cli: CliRunner, failed: int, workspace: str) -> None:
    _runs(cli, "retry", str(failed), "-w", workspace)
    result = _runs(cli, "retry", str(failed), "-w", workspace)
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"WF_RUN_NOT_FAILED run {failed} is running, not failed: "
                                     "only a failed run can be retried")


def test_a_missing_run_is_not_found_in_one_line(cli: CliRunner, failed: int, workspace: str) -> None:
    result = _runs(cli, "show", "999999", "-w", workspace)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"WF_RUN_NOT_FOUND there is no run 999999 in workspace {workspace}")
    assert "Traceback" not in result.output


def test_a_run_of_another_workspace_is_not_found(
        cli: CliRunner, engine: Engine, blueprint: Path, failed: int) -> None:
    other = f"t{uuid.uuid4().hex[:12]}"
    theirs = _failed_run(engine, blueprint, other)
    for command in ("show", "retry"):
        result = _runs(cli, command, str(failed), "-w", other)
        assert result.exit_code == 1
        assert f"there is no run {failed} in workspace {other}" in result.stderr
    listed = _runs(cli, "list", "-w", other).stdout.splitlines()[1:]
    assert [row.split()[0] for row in listed] == [str(theirs)]


def test_a_database_without_tables_is_one_line_naming_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(app, ["runs", "list", "-w", "shop"])
    assert result.exit_code == 1
    assert result.stderr.startswith("WF_NOT_INITIALISED this database has no Stagecraft tables yet")
    assert "stagecraft init" in result.stderr
