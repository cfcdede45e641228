"""``stagecraft token create|list|revoke --workspace W``: create prints the token and nothing else on
stdout, list never shows a secret, revoke refuses the token at once, every failure is one line and
exit 1 — on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from api.cli import app
from metamodel import apply_blueprint
from metamodel.blueprint import parse_blueprint
from metamodel.tokens import resolve_token

CRM = """
entities:
  Deal:
    fields:
      title: {type: string, required: true}
roles:
  manager: {entities: {Deal: [read]}, records: own}
users:
  - {email: anna@acme.test, name: Anna, role: manager}
"""

TOKEN = re.compile(r"sc_[0-9a-f]{16}_[A-Za-z0-9]{43}")


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command line on the test's database (SQLite and PostgreSQL)."""
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", db_url)
    return CliRunner()


@pytest.fixture
def crm(engine: Engine, workspace: str) -> str:
    apply_blueprint(engine, parse_blueprint(CRM), workspace)
    return workspace


def _token(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(app, ["token", *args])


def _assert_one_line_failure(result: Result) -> str:
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


def test_create_prints_only_the_token_on_stdout(cli: CliRunner, engine: Engine, crm: str) -> None:
    result = _token(cli, "create", "--workspace", crm, "--role", "admin")
    assert result.exit_code == 0, result.output
    assert TOKEN.fullmatch(result.stdout.removesuffix("\n"))
    principal = resolve_token(engine, result.stdout.strip())
    assert principal is not None and (principal.workspace, principal.role) == (crm, "admin")


def test_create_for_a_user_makes_a_token_that_acts_as_the_user(
        cli: CliRunner, engine: Engine, crm: str) -> None:
    result = _token(cli, "create", "-w", crm, "--role", "manager", "--user", "anna@acme.test")
    assert result.exit_code == 0, result.output
    principal = resolve_token(engine, result.stdout.strip())
    assert principal is not None and principal.email == "anna@acme.test"


def test_create_with_an_unknown_role_is_one_line_naming_the_valid_roles(cli: CliRunner, crm: str) -> None:
    line = _assert_one_line_failure(_token(cli, "create", "-w", crm, "--role", "boss"))
    assert "MM.E401" in line and "its roles are: admin, manager" in line


def test_create_with_an_unknown_user_is_one_line(cli: CliRunner, crm: str) -> None:
    line = _assert_one_line_failure(_token(cli, "create", "-w", crm, "--role", "manager", "--user", "x@y.z"))
    assert "MM.E402" in line and '"x@y.z"' in line


def test_create_in_an_unknown_workspace_is_one_line(cli: CliRunner, crm: str) -> None:
    line = _assert_one_line_failure(_token(cli, "create", "-w", "nosuchworkspace", "--role", "admin"))
    assert 'there is no workspace "nosuchworkspace"' in line


def test_list_shows_id_role_user_and_moments_but_never_a_secret(cli: CliRunner, crm: str) -> None:
    created = _token(cli, "create", "-w", crm, "--role", "manager", "--user", "anna@acme.test").stdout.strip()
    result = _token(cli, "list", "--workspace", crm)
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split() == ["id", "role", "user", "created", "last", "used", "revoked"]
    token_id, secret = created.split("_")[1], created.split("_", 2)[2]
    assert row.split()[:3] == [token_id, "manager", "anna@acme.test"]
    assert row.split()[-2:] == ["-", "-"]  # never used, not revoked
    assert secret not in result.output


def test_list_of_a_workspace_without_tokens_says_so(cli: CliRunner, crm: str) -> None:
    result = _token(cli, "list", "-w", crm)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"workspace {crm}: no tokens"


def test_revoke_refuses_the_token_at_once(cli: CliRunner, engine: Engine, crm: str) -> None:
    token = _token(cli, "create", "-w", crm, "--role", "admin").stdout.strip()
    token_id = token.split("_")[1]
    result = _token(cli, "revoke", token_id, "--workspace", crm)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"token {token_id} revoked at ")
    assert resolve_token(engine, token) is None
    assert _token(cli, "list", "-w", crm).stdout.splitlines()[1].split()[-1] != "-"


def test_revoke_of_an_unknown_token_id_is_one_line(cli: CliRunner, crm: str) -> None:
    line = _assert_one_line_failure(_token(cli, "revoke", "0123456789abcdef", "-w", crm))
    assert "NOT_FOUND" in line and '"0123456789abcdef"' in line


def test_revoke_given_the_whole_token_revokes_it_without_printing_the_secret(
        cli: CliRunner, engine: Engine, crm: str) -> None:
    token = _token(cli, "create", "-w", crm, "--role", "admin").stdout.strip()
    result = _token(cli, "revoke", token, "-w", crm)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"token {token.split('_')[1]} revoked at ")
    assert token.split("_", 2)[2] not in result.output
    assert resolve_token(engine, token) is None


def test_revoke_of_an_unknown_whole_token_is_one_line_naming_only_its_id(cli: CliRunner, crm: str) -> None:
    secret = "Z" * 43
    line = _assert_one_line_failure(_token(cli, "revoke", f"sc_0123456789abcdef_{secret}", "-w", crm))
    assert '"0123456789abcdef"' in line and secret not in line


def test_revoke_of_text_that_is_no_token_id_does_not_echo_it(cli: CliRunner, crm: str) -> None:
    line = _assert_one_line_failure(_token(cli, "revoke", "hunter2-my-password", "-w", crm))
    assert "this is not a token id" in line and "hunter2" not in line
