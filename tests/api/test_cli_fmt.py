"""`stagecraft fmt PATH [--check]`: .craft files rewritten in their canonical layout."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()

MESSY = 'automation   "Welcome"\nwhen Deal created   do\n      notify owner "Hi {title}"   # say hello\nend\n'
CANONICAL = 'automation "Welcome"\nwhen Deal created\ndo\n  notify owner "Hi {title}"  # say hello\nend\n'


def write(directory: Path, name: str, text: str) -> Path:
    file = directory / name
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return file


def test_fmt_rewrites_a_file_in_canonical_layout(tmp_path: Path) -> None:
    file = write(tmp_path, "a.craft", MESSY)
    result = runner.invoke(app, ["fmt", str(file)])
    assert result.exit_code == 0, result.output
    assert file.read_text(encoding="utf-8") == CANONICAL


def test_fmt_is_idempotent(tmp_path: Path) -> None:
    file = write(tmp_path, "a.craft", CANONICAL)
    result = runner.invoke(app, ["fmt", str(file)])
    assert result.exit_code == 0
    assert "already formatted" in result.stdout
    assert file.read_text(encoding="utf-8") == CANONICAL


def test_fmt_of_a_directory_formats_every_craft_file_below_it(tmp_path: Path) -> None:
    first, second = write(tmp_path, "a.craft", MESSY), write(tmp_path, "deep/b.craft", MESSY)
    other = write(tmp_path, "notes.txt", MESSY)
    assert runner.invoke(app, ["fmt", str(tmp_path)]).exit_code == 0
    assert [f.read_text(encoding="utf-8") for f in (first, second, other)] == [CANONICAL, CANONICAL, MESSY]


def test_fmt_check_lists_files_that_would_change_and_exits_1(tmp_path: Path) -> None:
    messy, tidy = write(tmp_path, "a.craft", MESSY), write(tmp_path, "b.craft", CANONICAL)
    result = runner.invoke(app, ["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"would reformat {messy}" in result.stdout
    assert str(tidy) not in result.stdout
    assert messy.read_text(encoding="utf-8") == MESSY


def test_fmt_check_of_canonical_files_exits_0(tmp_path: Path) -> None:
    write(tmp_path, "a.craft", CANONICAL)
    assert runner.invoke(app, ["fmt", "--check", str(tmp_path)]).exit_code == 0


def test_fmt_leaves_a_file_with_syntax_errors_unchanged_and_reports_them(tmp_path: Path) -> None:
    broken = 'automation "x" when Deal created\n  stop\nend\n'
    file = write(tmp_path, "a.craft", broken)
    result = runner.invoke(app, ["fmt", str(file)])
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{file}:2:3 E_SYNTAX ")
    assert file.read_text(encoding="utf-8") == broken


def test_fmt_of_a_missing_path_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fmt", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_fmt_of_a_directory_without_craft_files_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fmt", str(tmp_path)])
    assert result.exit_code == 1
    assert "no .craft files" in result.output


def test_fmt_reports_a_file_that_is_not_utf8_and_formats_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.craft").write_bytes(b"automation \"\xff\" when Deal created do stop end\n")
    good = write(tmp_path, "b.craft", MESSY)
    result = runner.invoke(app, ["fmt", str(tmp_path)])
    assert result.exit_code == 1
    assert "a.craft: cannot be read as UTF-8 text" in result.stdout
    assert "Traceback" not in result.output
    assert good.read_text(encoding="utf-8") == CANONICAL
