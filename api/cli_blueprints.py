"""Blueprint commands: init, check, fmt, apply, export, purge."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli_base import CommandFailed, command, describe_failure, open_engine, shown_url
from api.settings import Settings
from metamodel.errors import MetamodelError

if TYPE_CHECKING:
    from metamodel.migrate import Outcome


@command()
def init() -> None:
    """Create or upgrade the platform's system tables (idempotent; serve does it too)."""
    from metamodel.db import init_database

    settings = Settings.from_env()
    with open_engine(settings) as engine:
        init_database(engine)
    typer.echo(f"system tables are ready in {shown_url(settings.database_url)}")


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


# --- workflow: simulate, runs list / show / retry (api.simulate, api.runs) ---
