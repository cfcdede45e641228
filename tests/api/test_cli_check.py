from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def test_check_of_the_demo_blueprint_reports_no_problems() -> None:
    result = runner.invoke(app, ["check", "examples/online-store"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_check_prints_every_problem_with_its_place_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "blueprint.yaml"
    bad.write_text(
        "entities:\n"
        "  Contact: {fields: {name: {type: string}}}\n"
        "  Deal:\n"
        "    fields:\n"
        "      contact: {type: reference, to: Contct}\n"
        "      select: {type: string}\n"
    )
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line]
    assert lines[0].startswith(f"{bad}:5:38 MM.E120 ")
    assert 'did you mean "Contact"' in lines[0]
    assert lines[1].startswith(f"{bad}:6:7 MM.E112 ")
    assert "Traceback" not in result.output


def test_check_of_a_missing_path_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "MM.E106" in result.stdout
    assert "Traceback" not in result.output
