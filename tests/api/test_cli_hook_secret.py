"""``stagecraft hook secret``: the per-hook signing secret, and only it, on stdout."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import app
from workflow import hook_secret_for


def test_hook_secret_prints_the_secret_derived_for_that_workspace_and_hook(
        runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGECRAFT_HOOK_SECRET", "master")
    result = runner.invoke(app, ["hook", "secret", "shop", "--workspace", "acme"])

    assert result.exit_code == 0, result.output
    assert result.stdout == hook_secret_for("master", "acme", "shop") + "\n"
    assert hook_secret_for("master", "acme", "shop") != hook_secret_for("master", "acme", "crm")


def test_hook_secret_without_a_master_secret_is_one_line_and_exit_1(
        runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STAGECRAFT_HOOK_SECRET", raising=False)
    monkeypatch.delenv("STAGECRAFT_SECRET_KEY", raising=False)
    result = runner.invoke(app, ["hook", "secret", "shop", "--workspace", "acme"])

    assert result.exit_code == 1
    assert "STAGECRAFT_HOOK_SECRET" in result.output
    assert "Traceback" not in result.output
