"""The ``stagecraft`` command line.

Every command is a short function registered with ``@command()``, which also
turns every expected failure into one red line on stderr and exit code 1 —
never a traceback.  Heavy imports (the web stack, migrations) happen inside the
commands so ``stagecraft --help`` stays quick.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import sqlalchemy as sa
import typer
from sqlalchemy.engine import Engine
from typer.core import TyperGroup

from api.settings import Settings
from metamodel.errors import MetamodelError

if TYPE_CHECKING:
    from metamodel.migrate import Outcome

P = ParamSpec("P")
R = TypeVar("R")

DEBUG_ENV = "STAGECRAFT_DEBUG"


class CommandFailed(Exception):
    """A failure already phrased for the user; the message is printed as it is."""


class _OneLineErrorsGroup(TyperGroup):
    """Usage errors (unknown command, bad option) as one line instead of a boxed usage text."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        argv = sys.argv[1:] if args is None else list(args)
        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as err:
            if not argv:  # no_args_is_help: the "error" is the help text
                typer.echo(err.format_message())
                sys.exit(0)
            ctx = getattr(err, "ctx", None)
            hint = f" Try '{ctx.command_path} --help'." if ctx is not None else ""
            message = err.format_message().rstrip()
            message += "" if message.endswith((".", "?", "!")) else "."
            typer.secho(f"Error: {message}{hint}", fg="red", err=True)
            sys.exit(err.exit_code)
        except typer.Abort:
            typer.secho("Aborted.", fg="red", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="stagecraft",
    help="Stagecraft: entities, pipelines and automations described as metadata, served as an API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_OneLineErrorsGroup,
)


def fail(message: str) -> NoReturn:
    """Print ``message`` in red on stderr and exit 1."""
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


def reports_failures(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command body, turning every failure into one line and exit code 1.

    ``STAGECRAFT_DEBUG=1`` shows the traceback of anything but a metamodel error.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except (MetamodelError, CommandFailed) as err:
            fail(str(err))
        except Exception as err:
            if os.environ.get(DEBUG_ENV):
                raise
            fail(describe_failure(err))

    return wrapper


_UNREACHABLE = ("unable to open database", "could not connect", "connection refused", "connection failed",
                "connection to server", "could not translate host name", "timeout expired",
                "server closed the connection", "password authentication failed", "no such host")


def is_connection_failure(err: sa.exc.DBAPIError) -> bool:
    """Whether ``err`` means the database could not be reached (not that a statement failed).

    SQLAlchemy leaves ``statement`` empty for errors raised while connecting.
    """
    reason = one_line(err).lower()
    return err.statement is None or err.connection_invalidated or any(m in reason for m in _UNREACHABLE)


def describe_database_failure(err: sa.exc.DBAPIError) -> str:
    """A database error as what it is: unreachable, locked by another writer, or the driver's reason."""
    reason = one_line(err)
    if is_connection_failure(err):
        return f"cannot reach the database at {shown_url(Settings.from_env().database_url)}: {reason}"
    if "database is locked" in reason.lower():
        return "the database is locked — another apply is running? try again"
    return f"database error: {reason}"


def describe_failure(err: Exception) -> str:
    """One line for an error that is not already phrased for the user."""
    reason = one_line(err)
    if isinstance(err, sa.exc.OperationalError | sa.exc.InterfaceError):
        return describe_database_failure(err)
    if isinstance(err, OSError | ImportError):
        return reason
    return f"unexpected error ({type(err).__name__}): {reason} (set {DEBUG_ENV}=1 to see the traceback)"


def command(*args: Any, **kwargs: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``app.command`` with the shared failure handling of ``reports_failures``."""

    def register(func: Callable[P, R]) -> Callable[P, R]:
        app.command(*args, **kwargs)(reports_failures(func))
        return func

    return register


def one_line(err: BaseException) -> str:
    """The first line of ``err`` (of the driver's own error for a database error)."""
    from api.app import one_line_reason  # only on a failure path: keeps --help quick

    return one_line_reason(err)


def shown_url(url: str) -> str:
    """``url`` with any password masked, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


@contextmanager
def open_engine(settings: Settings) -> Iterator[Engine]:
    """An engine for the configured database, disposed of on exit."""
    from metamodel.db import create_engine_for

    try:
        engine = create_engine_for(settings.database_url)
    except sa.exc.ArgumentError as err:
        raise CommandFailed(
            f"STAGECRAFT_DATABASE_URL is not a usable database URL ({shown_url(settings.database_url)}): "
            f"{one_line(err)}") from err
    try:
        yield engine
    finally:
        engine.dispose()


@command()
def init() -> None:
    """Create or upgrade the platform's system tables (idempotent; serve does it too)."""
    from metamodel.db import init_database

    settings = Settings.from_env()
    with open_engine(settings) as engine:
        init_database(engine)
    typer.echo(f"system tables are ready in {shown_url(settings.database_url)}")


@command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for every interface).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")] = 8000,
    demo: Annotated[Path | None, typer.Option(
        exists=True, help="Apply the blueprint at this path to the database before serving.")] = None,
) -> None:
    """Serve the HTTP API after creating the system tables (and applying --demo)."""
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


# --- blueprints: check, fmt, apply [--plan], export, purge (metamodel.migrate) ---


@command()
def check(
    path: Annotated[Path, typer.Argument(help="A blueprint directory (with blueprint.yaml) or a YAML file.")],
) -> None:
    """Check a blueprint: every problem as `file:line:col CODE message`; exit 1 when there is any."""
    from metamodel.blueprint import check_blueprint_path

    problems = check_blueprint_path(path)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.secho(f"{len(problems)} problem(s) in {path}", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"{path}: no problems")


def craft_files(path: Path) -> list[Path]:
    """The ``.craft`` files ``fmt`` works on: the file itself, or every one under a directory."""
    if path.is_dir():
        return sorted(path.rglob("*.craft"))
    if path.is_file():
        return [path]
    raise CommandFailed(f"{path} does not exist")


def formatted_text(file: Path) -> tuple[str, str]:
    """(text as it is, canonical text) of one file; raises ``CraftErrors`` when it does not parse."""
    import dsl

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CommandFailed(f"{file}: cannot be read as UTF-8 text ({err.__class__.__name__})") from None
    return text, dsl.format_program(dsl.parse(text, str(file)))


@command()
def fmt(
    path: Annotated[Path, typer.Argument(help="A .craft file, or a directory whose .craft files to format.")],
    check_only: Annotated[bool, typer.Option(
        "--check", help="Change nothing; list the files that would change and exit 1 if there is any.")]
    = False,
) -> None:
    """Rewrite .craft files in their canonical layout (idempotent; the meaning never changes)."""
    from dsl import CraftErrors

    files = craft_files(path)
    if not files:
        raise CommandFailed(f"{path} holds no .craft files")
    changed: list[Path] = []
    broken = 0
    for file in files:
        try:
            text, canonical = formatted_text(file)
        except CraftErrors as errors:
            broken += 1
            for error in errors:
                typer.echo(str(error))
            continue
        except CommandFailed as err:  # unreadable: the other files are still formatted
            broken += 1
            typer.echo(str(err))
            continue
        if canonical != text:
            changed.append(file)
            if not check_only:
                file.write_text(canonical, encoding="utf-8")
            typer.echo(f"{'would reformat' if check_only else 'formatted'} {file}")
    report_fmt(len(files), changed, broken, check_only)


def report_fmt(total: int, changed: list[Path], broken: int, check_only: bool) -> None:
    """The closing line of ``fmt``; exit 1 when a file does not parse, or would change under --check."""
    if broken:
        typer.secho(f"{broken} file(s) with syntax errors or unreadable, left unchanged", fg="red", err=True)
        raise typer.Exit(1)
    if check_only and changed:
        typer.secho(f"{len(changed)} of {total} file(s) would be reformatted", fg="red", err=True)
        raise typer.Exit(1)
    verb = "reformatted" if changed else "already formatted"
    typer.echo(f"{len(changed) if changed else total} of {total} .craft file(s) {verb}")


@command()
def apply(
    path: Annotated[Path, typer.Argument(exists=True, help="A blueprint directory or YAML file.")],
    workspace: Annotated[list[str] | None, typer.Option(
        "--workspace", "-w", help="Workspace to apply to; repeat for several (default: the blueprint's).")]
    = None,
    plan: Annotated[bool, typer.Option("--plan", help="Print the migration lines; change nothing.")] = False,
) -> None:
    """Plan or apply a blueprint: each workspace migrates in one transaction, or not at all."""
    from metamodel.db import init_database
    from metamodel.migrate import plan_blueprint_path, roll_out

    with open_engine(Settings.from_env()) as engine:
        init_database(engine)
        if plan:
            plans = plan_blueprint_path(engine, path, workspace or None)
            for each in plans:
                summary = f"{len(each.lines)} plan line(s)" if each.lines else "no changes"
                typer.echo(f"workspace {each.workspace}: {summary}")
                for line in each.lines:
                    typer.echo(line)
            if any(each.refusals for each in plans):
                raise typer.Exit(1)
            return
        outcomes = roll_out(engine, path, workspace or None)
    report_outcomes(outcomes)


def report_outcomes(outcomes: Sequence[Outcome]) -> None:
    """One line per workspace: applied, refused / failed with the reason, or not attempted.

    Exits 1 when any workspace was refused or failed, so scripts never take a
    partial roll-out for a whole one.
    """
    from metamodel.migrate import Status

    for each in outcomes:
        typer.echo(f"workspace {each.workspace}: {outcome_line(each)}")
        if each.result is not None:
            for line in each.result.lines:
                typer.echo(line)
        elif each.error is not None:
            for line in outcome_reason(each.error).splitlines()[1:]:
                typer.secho(line, fg="red", err=True)
    if any(each.status in (Status.REFUSED, Status.FAILED) for each in outcomes):
        raise typer.Exit(1)


def outcome_reason(err: Exception) -> str:
    return str(err) if isinstance(err, MetamodelError) else describe_failure(err)


def outcome_line(each: Outcome) -> str:
    """``now at version N`` / ``already up to date`` / ``refused: …`` / ``failed: …`` / ``not attempted``."""
    if each.result is not None:
        return f"now at version {each.result.version}" if each.result.changed else "already up to date"
    if each.error is not None:
        first = outcome_reason(each.error).splitlines()[0]
        return f"{each.status.value}: {first}"
    return "not attempted (nothing changed in it)"


@command()
def export(
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="The workspace to export.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory to write blueprint.yaml into.")]
    = Path("."),
) -> None:
    """Write a workspace's applied blueprint to DIR/blueprint.yaml (applying it back is a no-op)."""
    from metamodel.migrate import write_export

    with open_engine(Settings.from_env()) as engine:
        typer.echo(f"wrote {write_export(engine, workspace, out)}")


@command()
def purge(
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="The workspace to purge.")],
    older_than_days: Annotated[int, typer.Option(
        min=0, help="Purge soft-deleted records deleted more than this many days ago.")] = 30,
) -> None:
    """Drop archived fields and entities, and deleted records past retention; lists what went."""
    from metamodel.migrate import purge_workspace

    with open_engine(Settings.from_env()) as engine:
        lines = purge_workspace(engine, workspace, older_than_days=older_than_days)
    for line in lines or [f"workspace {workspace}: nothing to purge"]:
        typer.echo(line)


if __name__ == "__main__":
    app()
