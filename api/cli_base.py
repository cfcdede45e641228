"""The ``stagecraft`` command line's frame: the app, one-line failures, the database handle.

Every command is a short function registered with ``@command()``, which also turns every expected
failure into one red line on stderr and exit code 1 — never a traceback.  The commands live in
``api/cli_blueprints.py`` (init, check, fmt, apply, export, purge) and ``api/cli_workflow.py``
(serve, worker, simulate, runs); ``api/cli.py`` puts them together.  Heavy imports (the web stack,
migrations, Celery) happen inside the commands so ``stagecraft --help`` stays quick.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import sqlalchemy as sa
import typer
from sqlalchemy.engine import Engine
from typer.core import TyperGroup

from api.settings import Settings
from metamodel.errors import MetamodelError

if TYPE_CHECKING:
    pass

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
