"""``stagecraft apply [--plan]``, ``export`` and ``purge`` as a consultant runs them."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from tests.conftest import write_blueprint as write

HEAD = "workspace: acme\nentities:\n  Deal:\n    fields:\n      title: {type: string}\n"
V1 = HEAD + "      legacy: {type: text}\n"
V2 = HEAD + "      score: {type: integer}\n"


def test_apply_plan_prints_lines_and_changes_nothing(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["apply", write(tmp_path, V1), "--plan"])
    assert result.exit_code == 0, result.output
    assert "+ Deal: add entity (2 fields)" in result.output
    assert "already up to date" not in runner.invoke(app, ["apply", write(tmp_path, V1)]).output


def test_apply_to_several_workspaces_then_again_is_up_to_date(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, V1)
    first = runner.invoke(app, ["apply", path, "--workspace", "a", "--workspace", "b"])
    assert first.exit_code == 0, first.output
    assert "workspace a: now at version 1" in first.output and "workspace b: now at version 1" in first.output
    again = runner.invoke(app, ["apply", path, "-w", "a"])
    assert "workspace a: already up to date" in again.output


def test_a_refused_apply_prints_the_refusal_and_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    linked = V1 + "  Car:\n    fields:\n      deal: {type: reference, to: Deal}\n"
    runner.invoke(app, ["apply", write(tmp_path, linked)])
    result = runner.invoke(app, ["apply", write(tmp_path, linked.replace("to: Deal", "to: Car"))])
    assert result.exit_code == 1
    assert "MM.E312 Car.deal: the reference target cannot change from Deal to Car" in result.output
    assert "Traceback" not in result.output


def test_export_then_apply_is_a_no_op_and_purge_lists_dropped_columns(runner: CliRunner,
                                                                      tmp_path: Path) -> None:
    runner.invoke(app, ["apply", write(tmp_path, V1)])
    runner.invoke(app, ["apply", write(tmp_path, V2)])
    exported = runner.invoke(app, ["export", "--workspace", "acme", "-o", str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    replan = runner.invoke(app, ["apply", str(tmp_path / "out"), "--plan"])
    assert "workspace acme: no changes" in replan.output
    purged = runner.invoke(app, ["purge", "--workspace", "acme"])
    assert "dropped archived field Deal.legacy (column and data)" in purged.output
