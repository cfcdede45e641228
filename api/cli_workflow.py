"""Workflow commands: serve (with the in-process runner), worker, simulate, runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli_base import CommandFailed, app, command, fail, open_engine, reports_failures, shown_url
from api.settings import Settings

if TYPE_CHECKING:
    pass


@command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every interface).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8000,
    demo: Annotated[Path | None, typer.Option(
        exists=True, help="Apply the blueprint at this path to the database before serving.")] = None,
) -> None:
    """Serve the HTTP API after creating the system tables (and applying --demo).

    Without STAGECRAFT_BROKER_URL the workflow runs inside this process.

    With a broker, `stagecraft worker` processes run it and serve runs none.
    """
    import uvicorn

    from api.app import create_app
    from metamodel.db import init_database

    settings = Settings.from_env()
    with open_engine(settings) as engine:
        init_database(engine)
        if demo is not None:
            from metamodel import apply_blueprint_path

            apply_blueprint_path(engine, demo, workspace=None)
        uvicorn.run(create_app(settings, engine=engine), host=host, port=port)


@command()
def worker(
    concurrency: Annotated[int, typer.Option(
        min=1, help="Pool processes running the runs (the default is one per CPU).")]
    = max(os.cpu_count() or 1, 1),
    loglevel: Annotated[str, typer.Option(
        help="Log level: DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Run the workflow on Celery: a tick that claims due runs, and a pool of processes that runs them.

    Needs STAGECRAFT_BROKER_URL (Redis). Start as many workers on as many machines as you like.

    A killed worker's runs are picked up by the others after STAGECRAFT_WORKFLOW_LEASE seconds.
    """
    from metamodel.db import init_database
    from workflow import WorkflowConfig
    from workflow.celery_runner import broker_problem, create_celery, run_worker

    if loglevel.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise CommandFailed(f"--loglevel {loglevel} is not one of DEBUG, INFO, WARNING, ERROR")
    settings = Settings.from_env()
    if settings.broker_url is None:
        raise CommandFailed("STAGECRAFT_BROKER_URL is not set: the worker needs a broker (e.g. "
                            "redis://127.0.0.1:6379/0); without one, `stagecraft serve` runs the workflow")
    with open_engine(settings) as engine:
        init_database(engine)
    app = create_celery(settings.broker_url, settings.database_url, WorkflowConfig.from_env())
    problem = broker_problem(app)
    if problem is not None:
        raise CommandFailed(f"cannot reach the broker at {shown_url(settings.broker_url)}: {problem}")
    run_worker(app, concurrency=concurrency, loglevel=loglevel.upper())


# --- blueprints: check, fmt, apply [--plan], export, purge (metamodel.migrate) ---


@contextmanager
def workflow_failures() -> Iterator[None]:
    """Typed workflow errors (a bad scenario, a run that is not there) as the lines they carry."""
    from workflow import WorkflowError

    try:
        yield
    except WorkflowError as err:
        raise CommandFailed(str(err)) from None


@command()
def simulate(
    path: Annotated[Path, typer.Argument(exists=True, help="A blueprint directory or YAML file.")],
    scenario: Annotated[Path, typer.Option("--scenario", "-s", help="The scenario YAML file to run.")],
    json_lines: Annotated[bool, typer.Option("--json", help="Print one JSON object per timeline entry.")]
    = False,
) -> None:
    """Run a blueprint against a scenario on a virtual clock and a throwaway database.

    Scenario steps (spec/cli.md): create, update, move, delete,
    advance ("3 days"), submit, webhook, run (a manual automation or a
    process, on a record), complete_task, decide and expect.
    Prints the timeline with virtual times: record and stage changes,
    tasks, notifications, messages, waits, wake-ups and errors
    (--json: one JSON object a line).
    Exit 1 when an expect fails (each mismatch at its file:line), or when
    the blueprint, the scenario or a step is wrong (one line, its place).
    """
    import json

    from api.simulate import simulate as run_scenario
    from api.simulate import timeline_line

    def emit(event: dict[str, Any]) -> None:
        typer.echo(json.dumps(event, ensure_ascii=False, default=str) if json_lines else timeline_line(event))

    with workflow_failures():
        result = run_scenario(path, scenario, emit)
    for failure in result.failures:
        typer.secho(failure, fg="red", err=True)
    if result.failures:
        fail(f"{len(result.failures)} mismatch(es) in {result.expects} expect step(s) of {scenario}")
    typer.secho(f"{scenario}: {result.expects} expect step(s) passed", fg="green", err=True)


runs_app = typer.Typer(help="Automation and process runs of a workspace: list, show, retry.",
                       no_args_is_help=True)
app.add_typer(runs_app, name="runs")
RunsWorkspace = Annotated[str, typer.Option("--workspace", "-w", help="The workspace whose runs to read.")]


@runs_app.command("list")
@reports_failures
def runs_list(
    workspace: RunsWorkspace,
    status: Annotated[str | None, typer.Option(
        help="Only runs in this status: running, waiting, done, failed or cancelled.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many runs, newest first.")] = 50,
) -> None:
    """List runs (id, automation or process, record, status, failing step, error, updated)."""
    from api.runs import list_runs, runs_table

    with open_engine(Settings.from_env()) as engine, workflow_failures():
        rows = list_runs(engine, workspace, status=status, limit=limit)
    if not rows:
        typer.echo(f"workspace {workspace}: no {status + ' ' if status else ''}runs")
        return
    for line in runs_table(rows):
        typer.echo(line)


@runs_app.command("show")
@reports_failures
def runs_show(run_id: Annotated[int, typer.Argument(help="The run's id.")], workspace: RunsWorkspace) -> None:
    """Show one run: what it is, where it stands, and its log lines in order."""
    from api.runs import get_run, log_text, run_log

    with open_engine(Settings.from_env()) as engine, workflow_failures():
        run, lines = get_run(engine, workspace, run_id), run_log(engine, workspace, run_id)
    typer.echo(f'run {run.id}: {run.kind} "{run.name}" on {run.record}, {run.status} at {run.place}')
    if run.error:
        typer.echo(f"error: {run.error}")
    for line in lines:
        typer.echo(log_text(line))


@runs_app.command("retry")
@reports_failures
def runs_retry(run_id: Annotated[int, typer.Argument(help="The failed run's id.")],
               workspace: RunsWorkspace) -> None:
    """Put a failed run back to work at the step that failed (after fixing the cause)."""
    from api.runs import retry_run

    with open_engine(Settings.from_env()) as engine, workflow_failures():
        retry_run(engine, workspace, run_id)
    typer.echo(f"run {run_id} will run again from the step that failed")


hook_app = typer.Typer(help="Inbound webhooks (POST /w/{workspace}/hooks/{name}): their signing secrets.",
                       no_args_is_help=True)
app.add_typer(hook_app, name="hook")


@hook_app.command("secret")
@reports_failures
def hook_secret(name: Annotated[str, typer.Argument(help="NAME of `webhook NAME received`.")],
                workspace: RunsWorkspace) -> None:
    """Print the secret the sender of one inbound webhook signs with (and only it, on stdout).

    Each workspace and hook has its own secret, derived from STAGECRAFT_HOOK_SECRET (or
    STAGECRAFT_SECRET_KEY), so a signature made for one hook opens no other.
    """
    from api.rest_hooks import hook_secret as master_secret
    from workflow import hook_secret_for

    master = master_secret(Settings.from_env())
    if master is None:
        fail("inbound webhooks need STAGECRAFT_HOOK_SECRET (or STAGECRAFT_SECRET_KEY): set it first")
    typer.echo(hook_secret_for(master, workspace, name))
