"""``stagecraft demo``: loads once and says what it made and how to open it (with a working token),
says "already holds records" and changes nothing the second time, and fails in one line on a bad blueprint
— on the test's own SQLite database (the loading itself is tested on both in test_demo_load.py)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from metamodel.db import create_engine_for
from metamodel.tokens import resolve_token

TOKEN = re.compile(r"sc_[0-9a-f]{16}_[A-Za-z0-9]{43}")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "online-store"


@pytest.fixture
def shop(tmp_path: Path, workspace: str) -> list[str]:
    """``stagecraft demo`` with 40 orders, on a copy of the example named ``workspace``.

    A workspace name of its own, because compiled query plans are cached per (workspace, metadata
    version) in the process, and every test's database would otherwise hold "online-store" v1.
    """
    copy = shutil.copytree(EXAMPLE, tmp_path / "online-store")
    text = (copy / "blueprint.yaml").read_text(encoding="utf-8")
    (copy / "blueprint.yaml").write_text(text.replace("workspace: online-store", f"workspace: {workspace}"),
                                         encoding="utf-8")
    return ["demo", "--orders", "40", "--blueprint", str(copy)]


def test_demo_prints_what_it_made_and_how_to_open_it(runner: CliRunner, shop: list[str],
                                                     workspace: str) -> None:
    result = runner.invoke(app, shop)
    assert result.exit_code == 0, result.output
    assert f'Created workspace "{workspace}"' in result.output
    assert "8 customers, 1 products, 40 orders" in result.output
    assert f"http://127.0.0.1:8000/w/{workspace}/graphql" in result.output
    assert f"stagecraft token create --workspace {workspace} --role admin" in result.output


def test_demo_prints_an_admin_token_that_opens_the_workspace(runner: CliRunner, shop: list[str],
                                                             workspace: str) -> None:
    result = runner.invoke(app, shop)
    found = TOKEN.search(result.output)
    assert found is not None, result.output
    engine = create_engine_for(os.environ["STAGECRAFT_DATABASE_URL"])
    principal = resolve_token(engine, found.group(0))
    engine.dispose()
    assert principal is not None and (principal.workspace, principal.role) == (workspace, "admin")


def test_demo_without_token_prints_none(runner: CliRunner, shop: list[str]) -> None:
    result = runner.invoke(app, [*shop, "--no-token"])
    assert result.exit_code == 0, result.output
    assert TOKEN.search(result.output) is None


def test_demo_again_says_it_is_loaded_and_changes_nothing(runner: CliRunner, shop: list[str],
                                                          workspace: str) -> None:
    runner.invoke(app, shop)
    again = runner.invoke(app, [*shop, "--seed", "8"])
    assert again.exit_code == 0, again.output
    assert f'Workspace "{workspace}" already holds records' in again.output
    assert "40 Order" in again.output and "nothing changed" in again.output
    assert TOKEN.search(again.output) is None


def test_demo_into_another_workspace(runner: CliRunner, shop: list[str], workspace: str) -> None:
    result = runner.invoke(app, [*shop, "--workspace", f"{workspace}-two"])
    assert result.exit_code == 0, result.output
    assert f"http://127.0.0.1:8000/w/{workspace}-two/graphql" in result.output


def test_demo_with_a_missing_blueprint_fails_in_one_line(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--blueprint", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "no such blueprint" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_demo_with_another_blueprint_names_what_it_lacks(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "blueprint.yaml").write_text(
        "workspace: crm\nentities:\n  Deal:\n    fields:\n      title: {type: string}\n", encoding="utf-8")
    result = runner.invoke(app, ["demo", "--blueprint", str(tmp_path)])
    assert result.exit_code == 1
    assert "MM.E620" in result.output and "no entity Product" in result.output
    assert "Traceback" not in result.output


def test_demo_refuses_zero_orders(runner: CliRunner) -> None:
    result = runner.invoke(app, ["demo", "--orders", "0"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_demo_help_names_its_options(runner: CliRunner) -> None:
    result = runner.invoke(app, ["demo", "--help"])
    assert result.exit_code == 0
    for option in ("--workspace", "--blueprint", "--seed", "--orders", "--no-token"):
        assert option in result.output


def test_demo_prints_the_url_it_is_told(runner: CliRunner, shop: list[str], workspace: str) -> None:
    result = runner.invoke(app, [*shop, "--url", "http://0.0.0.0:9000/"])
    assert f"http://0.0.0.0:9000/w/{workspace}/graphql" in result.output


def test_demo_reset_deletes_the_records_and_loads_again(runner: CliRunner, shop: list[str],
                                                        workspace: str) -> None:
    runner.invoke(app, shop)
    result = runner.invoke(app, [*shop, "--reset", "--yes", "--seed", "8"])
    assert result.exit_code == 0, result.output
    assert f'Workspace "{workspace}": its records are deleted' in result.output
    assert f'Created workspace "{workspace}"' in result.output and "40 orders" in result.output


def test_demo_reset_asks_first_and_a_no_changes_nothing(runner: CliRunner, shop: list[str]) -> None:
    runner.invoke(app, shop)
    result = runner.invoke(app, [*shop, "--reset"], input="n\n")
    assert result.exit_code == 1
    assert "40 Order" in result.output and "Aborted" in result.output
    again = runner.invoke(app, shop)
    assert "already holds records" in again.output and "40 Order" in again.output
