"""``stagecraft import`` and ``stagecraft export-records``: records in from CSV/XLSX, out to CSV/XLSX.

The import shows a progress bar on stderr, prints every refused row as
``FILE:ROW: column: reason`` and ends with one summary line on stdout; it
exits 1 when any row failed — the good rows are kept all the same, so a
script can fix the bad lines and import them again with ``--key``.
(``stagecraft export`` is the blueprint export; records have ``export-records``.)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli_base import CommandFailed, command, fail, open_engine
from api.settings import Settings

if TYPE_CHECKING:
    from metamodel.errors import MetamodelError
    from metamodel.imports import ImportSummary, Progress
    from metamodel.records import RecordStore

Workspace = Annotated[str, typer.Option("--workspace", "-w", help="The workspace.")]
Entity = Annotated[str, typer.Option("--entity", "-e", help="The entity, as the blueprint names it.")]


@command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A .csv (UTF-8; , ; or tab) or .xlsx file; its first row names "
                                              "the columns.", exists=True, dir_okay=False, readable=True)],
    workspace: Workspace,
    entity: Entity,
    key: Annotated[str | None, typer.Option(
        "--key", "-k", help="Upsert: update the record whose KEY (id or a unique field) equals the row's, "
                            "else create one.")] = None,
    mapping: Annotated[list[str] | None, typer.Option(
        "--map", "-m", help="COLUMN=field: fill field from COLUMN (field.other finds a reference by another "
                            "field; COLUMN= skips the column). Repeat for more columns.")] = None,
    ignore_unknown: Annotated[bool, typer.Option(
        "--ignore-unknown", help="Skip columns that name no field instead of refusing the file.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Check every row as a real import would, then write nothing.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the summary, row errors included, as one JSON object on stdout.")] = False,
    as_user: Annotated[str | None, typer.Option(
        "--as", help="The e-mail of a workspace user to import as: creator and default owner of the "
                     "records.")] = None,
) -> None:
    """Import records from a CSV or Excel file, row by row; bad rows are reported, good rows are kept.

    Headers match field names or labels in any case.

    Each refused row is printed as FILE:ROW: column: reason; the exit code is then 1.
    """
    from metamodel import load_workspace_meta
    from metamodel.imports import ImportOptions, actor_for, import_records
    from metamodel.records import RecordStore

    options = ImportOptions(key=key, mapping=parse_mapping(mapping or []), ignore_unknown=ignore_unknown,
                            dry_run=dry_run)
    with open_engine(Settings.from_env()) as engine, file.open("rb") as source, phrased_refusals():
        store = RecordStore(engine, load_workspace_meta(engine, workspace))
        actor = actor_for(engine, workspace, as_user) if as_user else None
        with progress_bar(file.name) as progress:
            summary = import_records(store, entity, source, str(file), options, actor=actor,
                                     progress=progress)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        _report(summary)
    if summary.failed:
        raise typer.Exit(1)


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``["E-Mail=email", "Notes="]`` → ``{"E-Mail": "email", "Notes": ""}``; no ``=`` is refused."""
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        if not sep or not column.strip():
            raise CommandFailed(f'--map "{item}": write COLUMN=field (or COLUMN= to skip the column)')
        mapping[column.strip()] = target.strip()
    return mapping


def refusal_line(err: MetamodelError) -> str:
    """``FILE:LINE: CODE message — hint`` for a file refused as a whole; ``CODE message — hint`` when
    the refusal is about no file (an unknown workspace or entity, a filter: its message names the path)."""
    place = err.place
    where = f"{place.file}:{place.line}: " if place.line else f"{place.file}: " if place.file else ""
    hint = f" — {err.hint}" if err.hint else ""
    return f"{where}{err.code} {err.message}{hint}"


@contextmanager
def phrased_refusals() -> Iterator[None]:
    """Every metamodel refusal of these commands as one :func:`refusal_line` and exit code 1."""
    from metamodel.errors import MetamodelError

    try:
        yield
    except MetamodelError as err:
        fail(refusal_line(err))


@contextmanager
def progress_bar(name: str) -> Iterator[Progress]:
    """A rich progress bar on stderr, fed by the importer's ``(done, total)`` callback."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal)
    task = bar.add_task(name, total=None)

    def advance(done: int, total: int | None) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield advance


def _report(summary: ImportSummary) -> None:
    for column, reason in summary.skipped_columns:
        typer.secho(f"{summary.file}: column {column} skipped: {reason}", err=True, fg="yellow")
    for error in summary.errors:
        typer.secho(error.line(summary.file), err=True, fg="red")
    if summary.errors_not_listed:
        typer.secho(f"{summary.file}: {summary.errors_not_listed} more problem(s) not listed", err=True,
                    fg="red")
    counts = (f"{summary.rows} row(s) of {summary.entity}: {summary.created} created, {summary.updated} "
              f"updated, {summary.unchanged} unchanged, {summary.failed} failed")
    typer.echo(f"dry run, nothing written: {counts}" if summary.dry_run else counts)


@command("export-records")
def export_file(
    workspace: Workspace,
    entity: Entity,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="FILE.csv or FILE.xlsx (the extension picks the format); without it, CSV "
                               "on stdout.", dir_okay=False)] = None,
    where: Annotated[str | None, typer.Option(
        "--where", help='A filter as JSON in the GraphQL where shape, e.g. {"amount": {"gte": 1000}}.')]
    = None,
    order_by: Annotated[list[str] | None, typer.Option(
        "--order-by", help="field or field:desc; repeat for more keys.")] = None,
) -> None:
    """Export the records of an entity (optionally filtered and sorted) to CSV or Excel.

    The header is the field names; references are ids, tags are joined with ", ".

    The file imports back with stagecraft import (--key id updates the same records).
    """
    from metamodel import load_workspace_meta
    from metamodel.imports import export_records, file_format, parse_order_by, parse_where
    from metamodel.records import RecordStore

    with open_engine(Settings.from_env()) as engine, phrased_refusals():
        store = RecordStore(engine, load_workspace_meta(engine, workspace))
        fmt = "csv" if output is None else file_format(output.name, export=True)
        filters = parse_where(store.meta, where)
        order = parse_order_by(store.meta, order_by or [])
        if output is None:
            count = export_records(store, entity, sys.stdout.buffer, fmt, where=filters, order_by=order)
        else:
            count = _export_to(output, store, entity, fmt, filters, order)
    if output is not None:
        typer.echo(f"{count} {entity} record(s) written to {output}")


def _export_to(output: Path, store: RecordStore, entity: str, fmt: str, where: dict[str, Any] | None,
               order: list[tuple[str, str]]) -> int:
    """Write to ``output`` through a temporary file beside it: a failed export leaves no half file."""
    from metamodel.imports import export_records

    partial = output.with_name(output.name + ".part")
    try:
        with partial.open("wb") as out:
            count = export_records(store, entity, out, fmt, where=where, order_by=order)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return count
