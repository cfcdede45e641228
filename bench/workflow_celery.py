"""End-to-end workflow throughput: the Celery runner (1 and 2 workers) vs the in-process runner.

An "event" is one record create whose automation runs to the end: the create commits its outbox
row, a runner consumes it, starts the run, and the run's steps (one transaction each) finish.  The
clock starts when the first record is created and stops when the last run is done, so it measures
what a user waits for.  Each runner is warmed up first (one run through it) so process start-up —
a second or two for a Celery worker — is not counted.

Scenarios, on one fresh PostgreSQL database, each in a workspace of its own:

* ``in-process``: :class:`workflow.InProcessRunner` (one thread, as ``stagecraft serve`` runs it);
* ``celery x1``: one ``stagecraft worker --concurrency 1`` process (plus its ticker);
* ``celery x2``: two such workers — two tickers claiming with SKIP LOCKED, two pool processes.

Each scenario measures twice: *streaming* (the records are created while the runner works: what a
user waits for) and *backlog* (created while the runner is paused — SIGSTOP for workers — then
drained: the runner's own throughput).  Prints events/s and each figure's ratio to the in-process
one.  Needs PostgreSQL
(``STAGECRAFT_BENCH_POSTGRES_URL``, default the test server) and Redis (``STAGECRAFT_BENCH_REDIS_URL``,
default ``redis://127.0.0.1:6379/13``, a database number of its own that is flushed); when either is
unreachable it prints why and exits 0.  Run ``.venv/bin/python -P bench/workflow_celery.py [--events N]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and bench/workflow.py would hide the package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from metamodel import apply_blueprint_path, load_workspace_meta  # noqa: E402
from metamodel.db import create_engine_for, database_unreachable, init_database, throwaway_database  # noqa: E402
from metamodel.records import Actor, RecordStore  # noqa: E402
from metamodel.storage.system_tables import wf_instances  # noqa: E402
from workflow import InProcessRunner, Runtime  # noqa: E402

POSTGRES_URL = os.environ.get("STAGECRAFT_BENCH_POSTGRES_URL", os.environ.get(
    "STAGECRAFT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
REDIS_URL = os.environ.get("STAGECRAFT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
STAGECRAFT = Path(sys.executable).parent / "stagecraft"
ACTOR = Actor(email="bench@celery.test")
BLUEPRINT = """
workspace: bench
entities:
  Ticket:
    fields:
      title: {type: string, required: true, max_length: 200}
      hits:  {type: integer, default: 0}
automations: [rules.craft]
"""
RULES = """
automation "Count"
when Ticket created
do
  set hits = hits + 1
  set title = "{title} (counted)"
end
"""


def unreachable() -> str | None:
    """Why the bench cannot run here, or None."""
    reason = database_unreachable(POSTGRES_URL)
    if reason:
        return f"PostgreSQL at {reason}"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is unreachable: {str(exc).splitlines()[0]}"
    return None


def prepare(engine: Engine, workspace: str) -> RecordStore:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
        (Path(folder) / "rules.craft").write_text(RULES, encoding="utf-8")
        apply_blueprint_path(engine, Path(folder), workspace)
    return RecordStore(engine, load_workspace_meta(engine, workspace))


def done(engine: Engine, workspace: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(
            wf_instances.c.workspace == workspace, wf_instances.c.status == "done")).scalar_one())


def wait_done(engine: Engine, workspace: str, count: int, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while done(engine, workspace) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"runs of {workspace} not done after {timeout}s")
        time.sleep(0.02)


@dataclass(frozen=True)
class Rates:
    """Events per second: creates streaming in while the runner works, and a backlog drained."""

    stream: float
    backlog: float


def measure(engine: Engine, workspace: str, events: int, pause: Callable[[], None],
            resume: Callable[[], None]) -> Rates:
    """One warm-up run; ``events`` creates while the runner runs; ``events`` more created while paused."""
    store = prepare(engine, workspace)
    store.create("Ticket", {"title": "warm-up"}, actor=ACTOR)
    wait_done(engine, workspace, 1, timeout=120)
    started = time.perf_counter()
    for n in range(events):
        store.create("Ticket", {"title": f"t{n}"}, actor=ACTOR)
    wait_done(engine, workspace, events + 1)
    stream = events / (time.perf_counter() - started)
    pause()
    for n in range(events):
        store.create("Ticket", {"title": f"b{n}"}, actor=ACTOR)
    started = time.perf_counter()
    resume()
    wait_done(engine, workspace, 2 * events + 1)
    return Rates(stream, events / (time.perf_counter() - started))


def in_process(url: str, events: int) -> Rates:
    engine = create_engine_for(url)
    runners = [InProcessRunner(Runtime(engine)).start()]
    try:
        return measure(engine, "inprocess", events, pause=lambda: runners[-1].stop(),
                       resume=lambda: runners.append(InProcessRunner(Runtime(engine)).start()))
    finally:
        runners[-1].stop()
        engine.dispose()


def celery(url: str, events: int, workers: int) -> Rates:
    env = {**os.environ, "STAGECRAFT_DATABASE_URL": url, "STAGECRAFT_BROKER_URL": REDIS_URL}
    started = [subprocess.Popen([str(STAGECRAFT), "worker", "--concurrency", "1", "--loglevel", "WARNING"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True) for _ in range(workers)]

    def signal_all(sig: int) -> None:
        for process in started:
            os.killpg(process.pid, sig)

    engine = create_engine_for(url)
    try:
        return measure(engine, f"celery{workers}", events, pause=lambda: signal_all(signal.SIGSTOP),
                       resume=lambda: signal_all(signal.SIGCONT))
    finally:
        signal_all(signal.SIGCONT)
        signal_all(signal.SIGTERM)
        for process in started:
            process.wait(30)
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="record creates per scenario")
    args = parser.parse_args()
    reason = unreachable()
    if reason:
        print(f"workflow_celery skipped: {reason}")
        return 0
    redis.Redis.from_url(REDIS_URL).flushdb()
    with throwaway_database(POSTGRES_URL, prefix="sc_bench") as url:
        engine = create_engine_for(url)
        init_database(engine)
        engine.dispose()
        scenarios: list[tuple[str, Callable[[], Rates]]] = [
            ("in-process (1 thread)", lambda: in_process(url, args.events)),
            ("celery x1 (1 worker, 1 process)", lambda: celery(url, args.events, 1)),
            ("celery x2 (2 workers, 1 process each)", lambda: celery(url, args.events, 2)),
        ]
        results = [(name, run()) for name, run in scenarios]
    base = results[0][1]
    print(f"end-to-end events/s, {args.events} record creates -> automations done (PostgreSQL, Redis):")
    print(f"  {'runner':<40} {'streaming':>18} {'backlog':>18}")
    for name, rate in results:
        print(f"  {name:<40} {rate.stream:8.1f} ({rate.stream / base.stream:4.2f}x) "
              f"{rate.backlog:8.1f} ({rate.backlog / base.backlog:4.2f}x)")
    print("  (x: ratio to the in-process runner; streaming: creates while it runs; backlog: created "
          "while paused, then drained)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
