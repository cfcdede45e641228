"""Benchmarks of the workflow engine (issue 4), on SQLite and on PostgreSQL.

The engine's cost must grow with the work, not with how many automations or waiting instances
exist (DESIGN.md, "Speed"): each scenario times the same work in a small and a big world, same run:

1. ``updates``: record updates of ``Target``, each followed by consuming its outbox event (the
   matching included), in a workspace with 0 automations vs one with 50 automations on OTHER
   entities (created, updated, changed, entered/left stage, stays in stage, date).  Target ≤ 1.2x.
2. ``claim``: claiming 1,000 due instances (:func:`workflow.instances.claim_due`) and firing 1,000
   due trigger timers (:func:`workflow.timers.fire_due_timers`) among 10,000 vs 1,000,000 waiting
   ones.  Target ≤ 2x.  Both claims' query plans are printed (``ix_sc_wf_*_due`` partial indexes).

Run ``.venv/bin/python -P bench/workflow.py [--updates N] [--waiting N] [--postgres]``.  PostgreSQL
runs with ``--postgres`` or ``STAGECRAFT_BENCH_POSTGRES_URL`` set, and is skipped with the reason
printed when unreachable.  Exit 1 when a ratio misses its target.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path, and this very file would hide the workflow package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402

from metamodel import apply_blueprint_path, load_workspace_meta  # noqa: E402
from metamodel.clock import ManualClock  # noqa: E402
from metamodel.db import database_unreachable, throwaway_engine  # noqa: E402
from metamodel.records import Actor, RecordStore  # noqa: E402
from metamodel.storage.system_tables import wf_instances, wf_timers  # noqa: E402
from workflow import Runtime  # noqa: E402
from workflow.consumer import consume_outbox  # noqa: E402
from workflow.instances import claim_due  # noqa: E402
from workflow.timers import fire_due_timers  # noqa: E402

UPDATES_TARGET = 1.2
CLAIM_TARGET = 2.0
POSTGRES_ENV = "STAGECRAFT_BENCH_POSTGRES_URL"
POSTGRES_URL = os.environ.get(
    POSTGRES_ENV, os.environ.get("STAGECRAFT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
# The claims' moment lies long before, and the waiting rows' wake-up long after, any real clock's: a
# database shared with other runs (the smoke test's) never sees the bench's rows due, nor the other way round.
NOW = datetime(2001, 1, 1, 9, 0, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)
ACTOR = Actor(email="bench@shop.test")


@dataclass(frozen=True)
class Result:
    """One scenario on one database: seconds of the big world and of the small one, for ``unit`` ops."""

    name: str
    big: float
    small: float
    target: float
    unit: int
    labels: tuple[str, str] = ("big", "small")

    @property
    def ratio(self) -> float:
        return self.big / self.small

    def line(self, db: str) -> str:
        verdict = "ok" if self.ratio <= self.target else "OVER TARGET"
        per = 1e6 / self.unit
        big, small = self.labels
        return (f"{db:<10} {self.name:<34} {big} {self.big * per:7.0f} µs/op  {small} {self.small * per:7.0f}"
                f" µs/op  ratio {self.ratio:4.2f}x  (target ≤ {self.target:.1f}x) {verdict}")


# --- 1. updates with 0 vs 50 automations on other entities ----------------------------------------

OTHERS = 5
AUTOMATIONS = 50
_HEAD_YAML = """workspace: wfbench
entities:
  Target:
    fields: {title: {type: string, required: true, max_length: 200}, hits: {type: integer, default: 0}}
"""
_OTHER_YAML = """
  {name}:
    fields: {{title: {{type: string, required: true, max_length: 200}}, amount: {{type: integer}},
             due_on: {{type: date}}}}
    pipelines:
      flow: {{label: Flow, stages: [{{code: new, name: New}}, {{code: working, name: Working}},
                                  {{code: done, name: Done, kind: won}},
                                  {{code: dropped, name: Dropped, kind: lost}}]}}
"""
_TRIGGERS = (  # one of each kind the consumer or the timer planner can match
    "{e} created", "{e} updated where amount > {i}", "{e}.amount changed", "{e} entered stage working",
    "{e} left stage new", "{e} stays in stage new for {i} hours", "{i} days before {e}.due_on")


def blueprint_yaml(craft: bool) -> str:
    """Target plus Other1..Other5, with (``craft``) or without the rules file."""
    others = "".join(_OTHER_YAML.format(name=f"Other{n}") for n in range(1, OTHERS + 1))
    return _HEAD_YAML + others + ("automations: [rules.craft]\n" if craft else "")


def rules_craft(count: int = AUTOMATIONS) -> str:
    """``count`` automations spread over the Other entities and every trigger kind."""
    rules = []
    for i in range(count):
        trigger = _TRIGGERS[i % len(_TRIGGERS)].format(e=f"Other{i % OTHERS + 1}", i=i + 1)
        rules.append(f'automation "Rule {i + 1}"\nwhen {trigger}\ndo\n'
                     f'  notify owner "Rule {i + 1}: {{title}}"\nend\n')
    return "\n".join(rules)


def apply_bench_workspace(engine: Engine, workspace: str, automations: int) -> None:
    """Apply the bench blueprint to ``workspace`` with ``automations`` rules (0: no rules file)."""
    with tempfile.TemporaryDirectory(prefix="stagecraft-wfbench-") as tmp:
        folder = Path(tmp)
        (folder / "blueprint.yaml").write_text(blueprint_yaml(automations > 0), encoding="utf-8")
        if automations:
            (folder / "rules.craft").write_text(rules_craft(automations), encoding="utf-8")
        apply_blueprint_path(engine, folder, workspace)


def bench_updates(engine: Engine, count: int, automations: int = AUTOMATIONS) -> Result:
    """``count`` updates of Target + outbox consumption, with 0 vs ``automations`` rules elsewhere."""
    runtime = Runtime(engine)
    consume_outbox(runtime, limit=100_000)  # earlier scenarios' leftovers are not this one's work

    def updater(automations_here: int) -> Callable[[int], None]:
        workspace = f"wfb{uuid.uuid4().hex[:8]}"
        apply_bench_workspace(engine, workspace, automations_here)
        store = RecordStore(engine, load_workspace_meta(engine, workspace))
        ids = [store.create("Target", {"title": f"Target {i}"}, actor=ACTOR)["id"] for i in range(50)]
        consume_outbox(runtime, limit=1000)
        hits = itertools.count(1)  # a value never written before: every update is a change

        def update(i: int) -> None:
            store.update("Target", ids[i % len(ids)], {"hits": next(hits)}, actor=ACTOR)
            if consume_outbox(runtime) != 1:
                raise AssertionError("each update must leave exactly one outbox event")
        return update

    bare, busy = updater(0), updater(automations)
    bare_s, busy_s = alternate(bare, busy, count)
    return Result(f"update+consume, {automations} rules elsewhere", busy_s, bare_s, UPDATES_TARGET, count,
                  (f"{automations} rules", "0 rules"))


def alternate(small: Callable[[int], None], big: Callable[[int], None], count: int) -> tuple[float, float]:
    """Warm both up, then time them in short alternating blocks so drift (load, fsync) hits both alike."""
    for i in range(min(200, count)):
        small(count + i)
        big(count + i)
    small_s = big_s = 0.0
    block = 20
    for start in range(0, count, block):
        stop = min(start + block, count)
        small_s += timed(small, start, stop)
        big_s += timed(big, start, stop)
    return small_s, big_s


def timed(work: Callable[[int], None], start: int, stop: int) -> float:
    began = time.perf_counter()
    for i in range(start, stop):
        work(i)
    return time.perf_counter() - began


# --- 2. claiming due work among many waiting rows ----------------------------------------------------

def _numbers(conn: Connection, count: int) -> sa.FromClause:
    """A one-column ``n`` source of 1..count: generate_series on PostgreSQL, a recursive CTE elsewhere."""
    if conn.dialect.name == "postgresql":
        return sa.func.generate_series(1, count).table_valued("n", name="nums").render_derived()
    seed = sa.select(sa.literal(1).label("n")).cte("nums", recursive=True)
    return seed.union_all(sa.select(seed.c.n + 1).where(seed.c.n < count))


def add_waiting(engine: Engine, count: int, wake_at: datetime = FAR,
                name: str = "waiting") -> tuple[int, int]:
    """Insert ``count`` waiting instances in one INSERT … SELECT; returns an id range of exactly them."""
    c = wf_instances.c
    with engine.begin() as conn:
        nums = _numbers(conn, count)
        start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(c.id), 0))).scalar_one() + 1
        wake, made = sa.literal(wake_at, c.wake_at.type), sa.literal(NOW, c.created_at.type)
        source = sa.select(
            sa.literal("wfbench"), sa.literal("process"), sa.literal(name), sa.literal(1),
            sa.literal("Target"), nums.c.n, sa.literal("waiting"), sa.literal(1), sa.literal({}, sa.JSON),
            sa.literal({}, sa.JSON), wake, sa.literal(0), sa.literal(0), made, made)
        conn.execute(sa.insert(wf_instances).from_select(
            ["workspace", "kind", "name", "plan_version", "entity", "record_id", "status", "pc", "vars",
             "context", "wake_at", "attempts", "depth", "created_at", "updated_at"], source))
        last = conn.execute(sa.select(sa.func.max(c.id))).scalar_one()
    return int(start), int(last)


def add_timers(engine: Engine, count: int, fire_at: datetime = FAR, prefix: str = "wait") -> None:
    """Insert ``count`` stay timers (unique keys ``prefix:n``) in one INSERT … SELECT."""
    c = wf_timers.c
    with engine.begin() as conn:
        nums = _numbers(conn, count)
        tag = uuid.uuid4().hex[:8]
        source = sa.select(
            sa.literal("wfbench"), sa.literal("Rule 6"), sa.literal("stay"), sa.literal("Other1"), nums.c.n,
            sa.literal(f"{prefix}:{tag}:") + sa.cast(nums.c.n, sa.String),
            sa.literal(fire_at, c.fire_at.type), sa.literal({}, sa.JSON), sa.literal(NOW, c.created_at.type))
        columns = ("workspace", "automation", "kind", "entity", "record_id", "key", "fire_at", "data")
        conn.execute(sa.insert(wf_timers).from_select([*columns, "created_at"], source))


def analyze(engine: Engine) -> None:
    """Fresh statistics, no dead index entries, a bulk load's pages written back (not while timing)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.dialect.name != "postgresql":
            conn.exec_driver_sql("ANALYZE")
            return
        conn.exec_driver_sql("VACUUM ANALYZE")
        with suppress(sa.exc.DBAPIError):  # CHECKPOINT needs a privileged role; without, skip it
            conn.exec_driver_sql("CHECKPOINT")


def make_due(engine: Engine, due: tuple[int, int]) -> None:
    """Make the instances with ids in ``due`` due again (as if their leases had run out)."""
    with engine.begin() as conn:
        conn.execute(sa.update(wf_instances).where(wf_instances.c.id.between(*due))
                     .values(wake_at=NOW - timedelta(minutes=5), lease=None))


def time_claims(engine: Engine, due: tuple[int, int], count: int, repeat: int) -> tuple[int, float, float]:
    """How many wait, and the median seconds of ``repeat`` claims of the due rows / firings of due timers.

    Between rounds, untimed: the due rows are made due again and the due timers re-inserted.
    """
    c = wf_instances.c
    analyze(engine)
    runtime = Runtime(engine, ManualClock(NOW))
    claims, fires = [], []
    for _ in range(repeat + 1):  # the first round warms caches up and is dropped
        make_due(engine, due)
        began = time.perf_counter()
        claimed = claim_due(engine, NOW, limit=count)
        claims.append(time.perf_counter() - began)
        add_timers(engine, count, NOW - timedelta(minutes=5), prefix="due")
        began = time.perf_counter()
        fired = fire_due_timers(runtime, limit=count)
        fires.append(time.perf_counter() - began)
        if len(claimed) != count or fired != count:
            raise AssertionError(f"claimed {len(claimed)} and fired {fired}, not {count} each")
    with engine.connect() as conn:
        waiting = conn.execute(sa.select(sa.func.count()).where(c.wake_at == FAR)).scalar_one()
    return int(waiting), statistics.median(claims[1:]), statistics.median(fires[1:])


def bench_claim(engine: Engine, waiting: int, small: int = 10_000, due: int = 1000,
                repeat: int = 7) -> tuple[list[Result], dict[str, list[str]]]:
    """Claim ``due`` instances / fire ``due`` timers among ``small``, then ``waiting``, waiting rows.

    Also returns the query plans of both claims, taken at the big size with the due rows in place.
    """
    apply_bench_workspace(engine, "wfbench", AUTOMATIONS)  # the timers' automation exists (they are stale)
    add_waiting(engine, small)
    add_timers(engine, small)
    due_ids = add_waiting(engine, due, NOW - timedelta(minutes=5), name="due")
    few_waiting, few_claim, few_fire = time_claims(engine, due_ids, due, repeat)
    add_waiting(engine, waiting - small)
    add_timers(engine, waiting - small)
    add_timers(engine, due, NOW - timedelta(minutes=5), prefix="due")
    make_due(engine, due_ids)
    analyze(engine)
    plans = {name: explain(engine, stmt) for name, stmt in claim_queries().items()}
    fire_due_timers(Runtime(engine, ManualClock(NOW)), limit=due)
    many_waiting, many_claim, many_fire = time_claims(engine, due_ids, due, repeat)
    labels = (f"{many_waiting:,} waiting", f"{few_waiting:,} waiting")
    return [Result(f"claim {due:,} due instances", many_claim, few_claim, CLAIM_TARGET, due, labels),
            Result(f"fire {due:,} due timers", many_fire, few_fire, CLAIM_TARGET, due, labels)], plans


# --- 3. the query plans of the claims ------------------------------------------------------------------

def claim_queries() -> dict[str, sa.Select[Any]]:
    """The claim statements of ``claim_due`` and ``fire_due_timers``, built as they build them."""
    i, t = wf_instances.c, wf_timers.c
    claim = sa.select(i.id).where(i.wake_at <= NOW).order_by(i.wake_at)
    fire = sa.select(wf_timers).where(t.fire_at <= NOW).order_by(t.fire_at)
    return {name: stmt.limit(1000).with_for_update(skip_locked=True)
            for name, stmt in (("claim_due", claim), ("fire_due_timers", fire))}


def explain(engine: Engine, stmt: sa.Select[Any]) -> list[str]:
    """The database's plan of ``stmt`` (its binds processed as for a real run)."""
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "

    def add_prefix(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> tuple[str, Any]:
        return prefix + statement, params

    with engine.connect() as conn:  # the listener lives and dies with this one connection
        sa.event.listen(conn, "before_cursor_execute", add_prefix, retval=True)
        result = conn.execute(stmt)
        rows = result.cursor.fetchall() if result.cursor is not None else []
    return [str(row[-1]) for row in rows]


# --- databases and main -----------------------------------------------------------------------------

def sqlite_engine() -> AbstractContextManager[Engine]:
    return throwaway_engine()


@contextmanager
def postgres_engine(url: str = POSTGRES_URL) -> Iterator[Engine | str]:
    """An engine on a throwaway database, or the reason PostgreSQL cannot be used."""
    reason = database_unreachable(url)
    if reason:
        yield f"PostgreSQL at {reason}"
        return
    with throwaway_engine(url, prefix="sc_wfbench") as engine:
        yield engine


def run_all(engine: Engine, db: str, options: argparse.Namespace) -> list[Result]:
    """Every wanted scenario on one database, each result printed as it comes."""
    results = [bench_updates(engine, options.updates)] if "updates" in options.only else []
    for result in results:
        print(result.line(db), flush=True)
    if "claim" in options.only:
        claims, plans = bench_claim(engine, options.waiting, options.small, options.due, options.repeat)
        print(*(result.line(db) for result in claims), sep="\n", flush=True)
        results += claims
        for name, lines in plans.items():
            print(f"{db:<10} plan of {name}:", *(f"{'':<11} {line}" for line in lines), sep="\n")
    return results


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmarks of the workflow engine (issue 4).")
    parser.add_argument("--updates", type=int, default=10_000, help="updates per side (default 10,000)")
    parser.add_argument("--waiting", type=int, default=1_000_000, help="big waiting size (default 1,000,000)")
    parser.add_argument("--small", type=int, default=10_000, help="the small waiting size (default 10,000)")
    parser.add_argument("--due", type=int, default=1000, help="due rows claimed at once (default 1,000)")
    parser.add_argument("--repeat", type=int, default=7, help="claims timed per size; the median counts")
    parser.add_argument("--postgres", action="store_true", help=f"also PostgreSQL (or set {POSTGRES_ENV})")
    parser.add_argument("--only", nargs="+", choices=("updates", "claim"), default=["updates", "claim"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios on SQLite (and PostgreSQL); exit 1 when a ratio misses its target."""
    options = parse(sys.argv[1:] if argv is None else argv)
    results: list[Result] = []
    with sqlite_engine() as engine:
        results += run_all(engine, "sqlite", options)
    if options.postgres or POSTGRES_ENV in os.environ:
        with postgres_engine() as pg:
            if isinstance(pg, str):
                print(f"postgresql skipped: {pg}")
            else:
                results += run_all(pg, "postgresql", options)
    else:
        print(f"postgresql skipped: pass --postgres or set {POSTGRES_ENV}")
    return 0 if all(r.ratio <= r.target for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
