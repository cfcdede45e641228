"""``stagecraft token create|list|revoke``: the API tokens of a workspace (store: metamodel.tokens).

``create`` prints the token, and only it, on stdout (spec/cli.md), so a script can capture it:
``TOKEN=$(stagecraft token create -w crm --role admin)``.  The token is shown this once — only its
SHA-256 is stored — and the reminder goes to stderr, where it does not spoil the capture.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli_base import app, open_engine, reports_failures
from api.settings import Settings

if TYPE_CHECKING:
    from metamodel.tokens import TokenInfo

token_app = typer.Typer(help="API tokens of a workspace: create, list, revoke.", no_args_is_help=True)
app.add_typer(token_app, name="token")

TokenWorkspace = Annotated[str, typer.Option("--workspace", "-w", help="The workspace the token opens.")]


@token_app.command("create")
@reports_failures
def token_create(
    workspace: TokenWorkspace,
    role: Annotated[str, typer.Option("--role", "-r", help="admin or a role of the workspace's blueprint.")],
    user: Annotated[str | None, typer.Option(
        "--user", "-u", help="The email of a user of the workspace the token acts as (records: own).")]
    = None,
) -> None:
    """Create an API token and print it, and only it, on stdout.

    Send it as Authorization: Bearer <token>. It is shown once: only its hash is stored.
    """
    from metamodel.db import init_database
    from metamodel.tokens import create_token

    with open_engine(Settings.from_env()) as engine:
        init_database(engine)  # a database older than the tokens table gets it here
        text, info = create_token(engine, workspace, role, user)
    typer.echo(text)
    typer.secho(f"token {info.token_id} ({_holder(info)}) created; it is shown only this once", err=True,
                fg="green")


@token_app.command("list")
@reports_failures
def token_list(workspace: TokenWorkspace) -> None:
    """List the workspace's tokens (id, role, user, created, last used, revoked) — never a secret."""
    from metamodel.tokens import list_tokens

    with open_engine(Settings.from_env()) as engine:
        tokens = list_tokens(engine, workspace)
    if not tokens:
        typer.echo(f"workspace {workspace}: no tokens")
        return
    for line in tokens_table(tokens):
        typer.echo(line)


@token_app.command("revoke")
@reports_failures
def token_revoke(
    token_id: Annotated[str, typer.Argument(
        help="The token's id (the first column of token list), or the whole token.")],
    workspace: TokenWorkspace,
) -> None:
    """Revoke a token: the next request with it is refused. Given the whole token, only its id is used."""
    from metamodel.tokens import revoke_token

    with open_engine(Settings.from_env()) as engine:
        info = revoke_token(engine, workspace, token_id)
    typer.echo(f"token {info.token_id} revoked at {_moment(info.revoked_at)}")


_COLUMNS = ("id", "role", "user", "created", "last used", "revoked")


def tokens_table(tokens: list[TokenInfo]) -> list[str]:
    """The tokens as an aligned text table, header first."""
    cells = [list(_COLUMNS)] + [
        [t.token_id, t.role, t.user_email or "-", _moment(t.created_at), _moment(t.last_used_at),
         _moment(t.revoked_at)] for t in tokens]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in cells]


def _moment(at: datetime | None) -> str:
    return "-" if at is None else at.isoformat(sep=" ", timespec="seconds")


def _holder(info: TokenInfo) -> str:
    return f"role {info.role}" + (f", user {info.user_email}" if info.user_email else "")
