"""The fixed layout of DESIGN.md and the command line's manners (spec/cli.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("metamodel", "dsl", "workflow", "api", "admin_ui")


def test_platform_is_not_a_package() -> None:
    assert (ROOT / "platform").is_dir()
    assert not (ROOT / "platform" / "__init__.py").exists(), "it would shadow the standard library's platform"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_layer_is_a_package_with_its_public_face(package: str) -> None:
    assert (ROOT / package / "__init__.py").is_file()


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])

    assert result.exit_code == 0
    for name in ("init", "serve"):
        assert name in result.output


def _stagecraft(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60, check=False)


def test_an_unknown_command_is_one_line_and_no_traceback() -> None:
    result = _stagecraft("frobnicate")

    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "frobnicate" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "stagecraft.db").mkdir()  # a folder where the database file should be
    env = {"PATH": "/usr/bin:/bin", "STAGECRAFT_DATABASE_URL": f"sqlite:///{tmp_path / 'stagecraft.db'}"}

    result = _stagecraft("init", env=env)

    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("cannot reach the database at sqlite:///")
    assert "Traceback" not in result.stderr + result.stdout
