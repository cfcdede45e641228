"""``stagecraft broadcast send|list|show``: one message per record of a segment (store: workflow.broadcasts).

``send`` checks the broadcast and queues it; the runners (``stagecraft serve`` in-process, or
``stagecraft worker``) send it.  ``--deliver`` sends it from this command instead — for a script or
a machine with no server running — and prints the counts at the end; messages whose provider asked
for a retry stay queued for the runners.  A bad broadcast is one line naming every place at fault,
and nothing is saved.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli_base import CommandFailed, app, open_engine, reports_failures
from api.settings import Settings

if TYPE_CHECKING:
    from workflow import BroadcastRow

broadcast_app = typer.Typer(help="Broadcasts: one message per record of a segment (send, list, show).",
                            no_args_is_help=True)
app.add_typer(broadcast_app, name="broadcast")

Workspace = Annotated[str, typer.Option("--workspace", "-w", help="The workspace to send from.")]


def parse_where(text: str | None) -> dict[str, Any] | None:
    """``--where`` as a filter object (the entity list's ``where``, as JSON)."""
    if text is None or not text.strip():
        return None
    try:
        where = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandFailed(f"--where is not JSON: {exc.msg} at column {exc.colno}; write e.g. "
                            "'{\"tags\": {\"hasAny\": [\"vip\"]}}'") from None
    if not isinstance(where, dict):
        raise CommandFailed('--where must be a JSON object such as {"tags": {"hasAny": ["vip"]}}')
    return where


@broadcast_app.command("send")
@reports_failures
def broadcast_send(
    workspace: Workspace,
    entity: Annotated[str, typer.Option("--entity", "-e", help="The entity whose records receive it.")],
    channel: Annotated[str, typer.Option("--channel", "-c", help="email, sms or whatsapp.")],
    body: Annotated[str, typer.Option("--body", "-b", help='The text; {field} paths are filled per record.')],
    subject: Annotated[str | None, typer.Option("--subject", "-s", help="The subject (email only).")] = None,
    where: Annotated[str | None, typer.Option(
        "--where", help='The segment as JSON, e.g. \'{"tags": {"hasAll": ["buyer", "vip"]}}\'.')] = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="The field holding the address (default: the entity's email or phone field).")] = None,
    opt_out: Annotated[str | None, typer.Option(
        "--opt-out", help="One more boolean field that skips a record when true (unsubscribed always "
                          "does, on the record and on the one holding the address).")] = None,
    deliver: Annotated[bool, typer.Option(
        "--deliver", help="Send it from this command now instead of leaving it to the runners.")] = False,
) -> None:
    """Queue a broadcast to every record of the segment; prints its id."""
    from workflow import (
        BroadcastSpec,
        Runtime,
        WorkflowConfig,
        WorkflowError,
        create_broadcast,
        run_broadcasts,
    )
    from workflow.broadcasts import recorded_count

    spec = BroadcastSpec(entity=entity, channel=channel, body=body, subject=subject, where=parse_where(where),
                         to=to, opt_out=opt_out)
    with open_engine(Settings.from_env()) as engine:
        runtime = Runtime(engine, config=WorkflowConfig.from_env(), worker="cli", workspace=workspace)
        try:
            row = create_broadcast(runtime, workspace, spec, created_by="cli")
            typer.echo(f"broadcast {row.id} queued: {row.channel} to {row.entity} records"
                       + (" of the segment" if row.where else ""))
            if deliver:
                row = run_broadcasts(runtime, row.id)
                typer.echo(_counts(row, recorded_count(engine, workspace, row.id)))
        except WorkflowError as err:
            raise CommandFailed(str(err)) from None


@broadcast_app.command("list")
@reports_failures
def broadcast_list(
    workspace: Workspace,
    first: Annotated[int, typer.Option("--first", "-n", help="How many, newest first.")] = 20,
) -> None:
    """The workspace's broadcasts, newest first, with their counts."""
    from workflow import list_broadcasts

    with open_engine(Settings.from_env()) as engine:
        rows = list_broadcasts(engine, workspace, first=first)
    if not rows:
        typer.echo(f"workspace {workspace}: no broadcasts")
        return
    for line in broadcasts_table(rows):
        typer.echo(line)


@broadcast_app.command("show")
@reports_failures
def broadcast_show(
    broadcast_id: Annotated[int, typer.Argument(help="The broadcast's id (first column of broadcast list).")],
    workspace: Workspace,
    every: Annotated[bool, typer.Option(
        "--all", help="Every recipient, not only those skipped, failed or waiting.")] = False,
) -> None:
    """One broadcast: its message, its counts, and why records were skipped or failed."""
    from metamodel.storage.catalog import load_workspace_meta
    from workflow import WorkflowError, get_broadcast, list_recipients
    from workflow.broadcasts import recorded_count
    from workflow.broadcasts_check import opt_out_paths

    statuses = () if every else ("skipped", "failed", "queued")
    with open_engine(Settings.from_env()) as engine:
        try:
            row = get_broadcast(engine, workspace, broadcast_id)
            recipients = list_recipients(engine, workspace, broadcast_id, statuses=statuses, first=1000)
            recorded = recorded_count(engine, workspace, broadcast_id)
        except WorkflowError as err:
            raise CommandFailed(str(err)) from None
        opt_outs = opt_out_paths(load_workspace_meta(engine, workspace).blueprint, row.entity, row.to,
                                 row.opt_out)
    typer.echo(_counts(row, recorded))
    opt_out = f", opt-out {' / '.join(opt_outs)}" if opt_outs else ""
    typer.echo(f"  {row.channel} to {row.entity}.{row.to}{opt_out}"
               + (f", where {json.dumps(row.where)}" if row.where else ""))
    if row.subject is not None:
        typer.echo(f"  subject: {row.subject}")
    typer.echo(f"  body: {row.body}")
    if row.error:
        typer.echo(f"  error: {row.error}")
    for recipient in recipients:
        reason = f": {recipient.reason}" if recipient.reason else ""
        typer.echo(f"  {row.entity} {recipient.record_id} {recipient.status}{reason}")


_COLUMNS = ("id", "entity", "channel", "status", "recipients", "sent", "skipped", "failed", "created")


def broadcasts_table(rows: list[BroadcastRow]) -> list[str]:
    """The broadcasts as an aligned text table, header first."""
    cells = [list(_COLUMNS)] + [
        [str(b.id), b.entity, b.channel, b.status, str(b.recipients), str(b.sent), str(b.skipped),
         str(b.failed), _moment(b.created_at)] for b in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in cells]


def _counts(row: BroadcastRow, recorded: int) -> str:
    """The counts line; ``recorded``: how many of the sent were only recorded (no provider)."""
    text = (f"broadcast {row.id} {row.status}: {row.recipients} recipients, {row.sent} sent, "
            f"{row.skipped} skipped, {row.failed} failed")
    text += f", {row.queued} waiting for a retry" if row.queued else ""
    if recorded:
        text += f"\n  {recorded} of the sent only recorded: no provider for {row.channel}"
    return text


def _moment(at: datetime | None) -> str:
    return "-" if at is None else at.isoformat(sep=" ", timespec="seconds")
