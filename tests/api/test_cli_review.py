"""``stagecraft apply`` says what became of every workspace; database errors are named for what they are."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api.cli import app, describe_failure
from metamodel.migrate import rollout
from tests.conftest import write_blueprint as write

BLUEPRINT = "entities:\n  Deal:\n    fields:\n      title: {type: string}\n"


def lines_of(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("workspace ")]


def test_apply_to_several_workspaces_reports_applied_failed_and_not_attempted(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = rollout.apply_blueprint

    def failing_on_b(engine: Any, blueprint: Any, ws: str | None, **kwargs: Any) -> Any:
        if ws == "b":
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", {},
                                          sqlite3.OperationalError("database is locked"))
        return real(engine, blueprint, ws, **kwargs)

    monkeypatch.setattr(rollout, "apply_blueprint", failing_on_b)
    result = runner.invoke(app, ["apply", write(tmp_path, BLUEPRINT), "-w", "a", "-w", "b", "-w", "c"])
    assert result.exit_code == 1
    assert lines_of(result.output) == [
        "workspace a: now at version 1",
        "workspace b: failed: the database is locked — another apply is running? try again",
        "workspace c: not attempted (nothing changed in it)"]


def test_a_refused_workspace_is_named_and_the_others_are_not_attempted(runner: CliRunner,
                                                                        tmp_path: Path) -> None:
    linked = BLUEPRINT + "  Car:\n    fields:\n      deal: {type: reference, to: Deal}\n"
    runner.invoke(app, ["apply", write(tmp_path, linked), "-w", "b"])
    result = runner.invoke(app, ["apply", write(tmp_path, linked.replace("to: Deal", "to: Car")),
                                 "-w", "a", "-w", "b"])
    assert result.exit_code == 1
    [first, second] = lines_of(result.output)
    assert first == "workspace a: not attempted (nothing changed in it)"
    assert second.startswith("workspace b: refused: ") and "MM.E312" in second


def test_all_workspaces_applied_exits_0_with_a_line_each(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["apply", write(tmp_path, BLUEPRINT), "-w", "a", "-w", "b"])
    assert result.exit_code == 0, result.output
    assert lines_of(result.output) == ["workspace a: now at version 1", "workspace b: now at version 1"]


def test_a_blueprint_without_workspace_is_placed_at_its_file_not_input(runner: CliRunner,
                                                                         tmp_path: Path) -> None:
    path = write(tmp_path, BLUEPRINT)
    for args in (["apply", path], ["apply", path, "--plan"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert f"{path} MM.E313" in result.output
        assert "<input>" not in result.output


def test_a_bad_workspace_name_is_placed_at_the_blueprint_file(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, BLUEPRINT)
    result = runner.invoke(app, ["apply", path, "-w", "a__b"])
    assert result.exit_code == 1
    assert f"{path} MM.E003" in result.output and "<input>" not in result.output


def test_a_locked_database_is_not_called_unreachable() -> None:
    err = sa.exc.OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
    assert describe_failure(err) == "the database is locked — another apply is running? try again"


def test_a_failing_statement_is_shown_as_a_database_error() -> None:
    err = sa.exc.OperationalError("CREATE TABLE t (id int)", {},
                                  sqlite3.OperationalError("table t already exists"))
    assert describe_failure(err) == "database error: table t already exists"


def test_a_failed_connection_is_unreachable() -> None:
    err = sa.exc.OperationalError(None, None, sqlite3.OperationalError("unable to open database file"))
    assert describe_failure(err).startswith("cannot reach the database at ")

