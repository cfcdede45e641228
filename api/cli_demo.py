"""``stagecraft demo``: the online-store workspace with six months of orders (``metamodel.demo``).

The command is what ``make run`` calls before ``serve``, so it must be harmless to run again: on
a workspace that holds records already it says so, changes nothing and exits 0 with the same
"how to open it" lines.  The progress bar goes to stderr (and only on a terminal); the summary to
stdout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.engine import Engine

from api.cli_base import CommandFailed, command, open_engine
from api.settings import Settings

if TYPE_CHECKING:
    from metamodel.demo import DemoResult

#: The blueprint the demo's story is written for (the repository's own example).
DEFAULT_BLUEPRINT = Path(__file__).resolve().parents[1] / "examples" / "online-store"


@command()
def demo(
    workspace: Annotated[str | None, typer.Option(
        "--workspace", "-w", help="Load the demo into this workspace (default: the blueprint's).")]
    = None,
    blueprint: Annotated[Path, typer.Option(
        help="The online-store blueprint (or an edit of it) to apply first.",
        show_default="examples/online-store")] = DEFAULT_BLUEPRINT,
    seed: Annotated[int, typer.Option(help="Seed of the random story: the same seed, the same data.")] = 7,
    orders: Annotated[int, typer.Option(
        min=1, max=100_000, help="Orders to make; customers (3 per 16 orders) and products scale with it.")]
    = 1600,
    token: Annotated[bool, typer.Option(
        help="Create an admin token and print it (once) when the demo is loaded.")] = True,
    url: Annotated[str, typer.Option(
        help="Where `stagecraft serve` will answer, for the lines that tell how to open the demo.")]
    = "http://127.0.0.1:8000",
    reset: Annotated[bool, typer.Option(
        help="Delete the workspace's records (and their history, runs, tasks, messages) and load again.")]
    = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --reset deletes.")] = False,
) -> None:
    """Create the demo workspace from examples/online-store with six months of sample data.

    About 300 customers, 50 products and 1,600 orders moved through the order pipeline at realistic
    moments and rates, so the funnel, history and cycle-time views have numbers to show.

    No automation runs for this back-dated history; records created afterwards trigger them as usual.

    On a workspace that already holds records it changes nothing and says so; --reset deletes
    them first (asking, unless --yes).
    """
    from metamodel.db import init_database
    from metamodel.demo import DemoAlreadyLoaded, load_demo
    from metamodel.demo_data import DemoSize

    if not blueprint.exists():
        raise CommandFailed(f"{blueprint}: no such blueprint (the demo needs examples/online-store; "
                            "pass --blueprint PATH)")
    with open_engine(Settings.from_env()) as engine:
        init_database(engine)
        if reset:
            _reset(engine, blueprint, workspace, yes)
        try:
            with _progress_bar() as progress:
                result = load_demo(engine, blueprint, workspace=workspace, seed=seed,
                                   size=DemoSize.for_orders(orders), progress=progress)
        except DemoAlreadyLoaded as err:
            counts = ", ".join(f"{n:,} {e}" for e, n in err.counts.items())
            typer.echo(f'Workspace "{err.workspace}" already holds records ({counts}): nothing changed '
                       "(--reset deletes them and loads the demo again).")
            _how_to_open(url, err.workspace, None)
            return
        secret = _admin_token(engine, result.workspace) if token else None
    _summary(result, blueprint, seed)
    _how_to_open(url, result.workspace, secret)


def _reset(engine: Engine, blueprint: Path, workspace: str | None, yes: bool) -> None:
    """Empty the demo workspace first, after asking (unless --yes) when it holds records."""
    from metamodel.blueprint import load_blueprint
    from metamodel.demo import clear_records, existing_records

    name = workspace or load_blueprint(blueprint).workspace
    if name is None:
        return  # the blueprint names no workspace: load_demo says so
    counts = {e: n for e, n in existing_records(engine, name).items() if n}
    if counts and not yes:
        shown = ", ".join(f"{n:,} {e}" for e, n in counts.items())
        typer.confirm(f'Delete every record of workspace "{name}" ({shown}) with its history, runs, tasks '
                      "and messages?", abort=True)
    clear_records(engine, name)
    if counts:
        typer.echo(f'Workspace "{name}": its records are deleted; loading the demo again.')


@contextmanager
def _progress_bar() -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr while the records are written (nothing when not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("writes"), TimeRemainingColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task("Applying the blueprint", total=None)

        def advance(done: int, total: int) -> None:
            if done == 1:
                bar.update(task, description="Writing six months of orders")
            if done == 1 or done == total or done % 50 == 0:
                bar.update(task, completed=done, total=total)

        yield advance


def _admin_token(engine: Engine, workspace: str) -> str:
    from metamodel.tokens import create_token

    text, _ = create_token(engine, workspace, "admin")
    return text


def _summary(result: DemoResult, blueprint: Path, seed: int) -> None:
    counts = result.counts
    typer.secho(f'Created workspace "{result.workspace}" from {blueprint} (seed {seed}):', fg="green")
    typer.echo(f"  {counts.get('Customer', 0):,} customers, {counts.get('Product', 0):,} products, "
               f"{counts.get('Order', 0):,} orders — {result.writes:,} writes from "
               f"{result.first:%Y-%m-%d} to {result.last:%Y-%m-%d}")
    typer.echo("  orders by stage now: " + ", ".join(f"{code} {n:,}" for code, n in result.stages.items()))
    typer.echo(f"  no automation ran for this history: its {result.events_consumed:,} events are marked "
               "processed; new changes trigger automations as usual")


def _how_to_open(url: str, workspace: str, secret: str | None) -> None:
    typer.echo("Open it:")
    typer.echo("  stagecraft serve             # or: make run")
    typer.echo(f"  GraphQL: {url.rstrip('/')}/w/{workspace}/graphql (GraphiQL in a browser)")
    if secret is not None:
        typer.echo(f"  admin token (shown only this once): {secret}")
    typer.echo(f"  a new token: stagecraft token create --workspace {workspace} --role admin")
