"""The Celery runner: real `stagecraft worker` processes on a real Redis and PostgreSQL.

The worker reads the system clock, so waits here are seconds long.  Every test gets a workspace of
its own in one database that only this module's worker sees (the session database is shared with
simulations whose virtual-time instances a real worker must not run).  Under ``CI=true`` an
unreachable Redis fails the module; elsewhere it is skipped with the reason printed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.cli import app as cli
from metamodel.clock import ManualClock
from metamodel.db import create_engine_for
from metamodel.migrate import apply_blueprint_path
from metamodel.records.actor import Actor
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import messages, notifications, tasks, users, wf_instances
from workflow import Runtime, WorkflowConfig, complete_task, start_process, submit_form
from workflow.celery_runner import create_celery
from workflow.interpreter import run_instance
from workflow.ticker import Claim, dispatch_tick

if TYPE_CHECKING:
    from conftest import Receiver

pytestmark = pytest.mark.postgres
REDIS_DB = 15  # this module's own Redis database: flushed before use, nothing else in it
SPEC_EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "spec-language"
STAGECRAFT = Path(sys.executable).parent / "stagecraft"
TICKETS = """
workspace: celery
entities:
  Ticket:
    fields:
      title: {type: string, required: true, max_length: 200}
      hits:  {type: integer, default: 0}
automations: [rules.craft]
"""


@pytest.fixture(scope="module")
def broker_url(redis_database: Callable[[int], str]) -> str:
    """This module's own Redis database, emptied."""
    return redis_database(REDIS_DB)


@pytest.fixture(scope="module")
def worker_db(scratch_postgres: Callable[[str], str]) -> str:
    """A PostgreSQL database only this module's workers see."""
    return scratch_postgres("sc_celery")


def start_worker(database_url: str, broker: str, log: Path, loglevel: str = "WARNING",
                 **env: str) -> subprocess.Popen[bytes]:
    """``stagecraft worker`` in a process group of its own (so a test can kill it with its pool)."""
    environ = {**os.environ, "STAGECRAFT_DATABASE_URL": database_url, "STAGECRAFT_BROKER_URL": broker,
               **env}
    with log.open("ab") as out:
        return subprocess.Popen([str(STAGECRAFT), "worker", "--concurrency", "2", "--loglevel", loglevel],
                                env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal the worker's whole process group and wait for its main process."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


@pytest.fixture(scope="module")
def worker(worker_db: str, broker_url: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One worker (the default lease of 60 s) for the module's tests: its database URL and its pid."""
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    process = start_worker(worker_db, broker_url, log, STAGECRAFT_WEBHOOK_ALLOW="127.0.0.1/32")
    yield worker_db, process.pid
    stop_worker(process)
    print(f"\n--- worker log ---\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture
def db(worker: tuple[str, int]) -> Iterator[Engine]:
    engine = create_engine_for(worker[0])
    yield engine
    engine.dispose()


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "the worker") -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def rows(engine: Engine, table: sa.Table, workspace: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        query = sa.select(table).where(table.c.workspace == workspace).order_by(table.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


def store(engine: Engine, workspace: str) -> RecordStore:
    return RecordStore(engine, load_workspace_meta(engine, workspace))


def apply_tickets(tmp_path: Path, engine: Engine, workspace: str, craft: str) -> None:
    (tmp_path / "blueprint.yaml").write_text(TICKETS, encoding="utf-8")
    (tmp_path / "rules.craft").write_text(craft, encoding="utf-8")
    apply_blueprint_path(engine, tmp_path, workspace)


def test_new_order_intake_runs_on_the_worker(db: Engine, workspace: str) -> None:
    apply_blueprint_path(db, SPEC_EXAMPLES, workspace)
    records, actor = store(db, workspace), Actor(email="celery-test")
    [sam] = [u["id"] for u in rows(db, users, workspace) if u["email"] == "sam@spec.test"]
    ann = records.create("Contact", {"name": "Ann", "email": "ann@example.com"}, actor=actor)
    records.create("Order", {"title": "Order 1", "amount": 120, "contact": ann["id"], "owner": sam},
                   actor=actor)
    [message] = wait_for(lambda: rows(db, messages, workspace), what="the intake email")
    assert (message["recipient"], message["subject"]) == ("ann@example.com", "Order Order 1 accepted")
    assert [n["text"] for n in rows(db, notifications, workspace)] == ["New order Order 1 for 120"]
    assert [t["title"] for t in rows(db, tasks, workspace)] == ["Call Ann about order Order 1"]
    wait_for(lambda: {i["status"] for i in rows(db, wf_instances, workspace)} == {"done"},
             what="the run to be done")


def test_a_wait_wakes_on_the_worker_when_its_time_comes(db: Engine, workspace: str, tmp_path: Path) -> None:
    apply_tickets(tmp_path, db, workspace, 'automation "Later"\nwhen Ticket created\ndo\n'
                  '  wait 2 seconds\n  set title = "woke"\nend\n')
    ticket = store(db, workspace).create("Ticket", {"title": "asleep"}, actor=Actor(email="celery-test"))
    started = time.monotonic()
    wait_for(lambda: [i for i in rows(db, wf_instances, workspace) if i["status"] == "waiting"],
             what="the run to wait")
    wait_for(lambda: store(db, workspace).get("Ticket", ticket["id"])["title"] == "woke",
             what="the run to wake")
    assert time.monotonic() - started >= 1.5
    assert [i["status"] for i in rows(db, wf_instances, workspace)] == ["done"]


def test_every_run_of_a_burst_is_done_exactly_once(db: Engine, workspace: str, tmp_path: Path) -> None:
    apply_tickets(tmp_path, db, workspace, 'automation "Count"\nwhen Ticket created\ndo\n'
                  '  set hits = hits + 1\nend\n')
    records, actor = store(db, workspace), Actor(email="celery-test")
    ids = [records.create("Ticket", {"title": f"t{n}"}, actor=actor)["id"] for n in range(50)]
    wait_for(lambda: [i["status"] for i in rows(db, wf_instances, workspace)] == ["done"] * 50,
             what="50 runs to be done")
    assert [records.get("Ticket", i)["hits"] for i in ids] == [1] * 50


def test_two_workers_share_the_runs_and_each_run_is_done_once(db: Engine, worker: tuple[str, int],
                                                              broker_url: str, workspace: str,
                                                              tmp_path: Path) -> None:
    log = tmp_path / "second.log"
    second = start_worker(worker[0], broker_url, log, "INFO")
    try:
        wait_for(lambda: " ready." in log.read_text(errors="replace"), what="the second worker")
        apply_tickets(tmp_path, db, workspace, 'automation "Count"\nwhen Ticket created\ndo\n'
                      '  set hits = hits + 1\nend\n')
        records, actor = store(db, workspace), Actor(email="celery-test")
        ids = [records.create("Ticket", {"title": f"t{n}"}, actor=actor)["id"] for n in range(60)]
        wait_for(lambda: [i["status"] for i in rows(db, wf_instances, workspace)] == ["done"] * 60,
                 what="60 runs to be done by two workers")
    finally:
        stop_worker(second)
    assert [records.get("Ticket", i)["hits"] for i in ids] == [1] * 60
    assert "Task stagecraft.run_instance[" in log.read_text(errors="replace")  # it took its share


def test_a_run_whose_pool_process_was_killed_goes_on_at_once_not_after_its_lease(
        db: Engine, worker: tuple[str, int], workspace: str, tmp_path: Path, receiver: Receiver) -> None:
    receiver.queue(200, delay=3.0)  # the first call hangs until its process is killed
    apply_tickets(tmp_path, db, workspace, f'automation "Call"\nwhen Ticket created\ndo\n'
                  f'  call webhook "{receiver.url}/hook"\n  set hits = 1\nend\n')
    store(db, workspace).create("Ticket", {"title": "t"}, actor=Actor(email="celery-test"))
    wait_for(lambda: receiver.requests, what="the webhook call")
    children = Path(f"/proc/{worker[1]}/task/{worker[1]}/children").read_text().split()
    killed = time.monotonic()
    for pid in children:
        os.kill(int(pid), signal.SIGKILL)
    wait_for(lambda: [i["status"] for i in rows(db, wf_instances, workspace)] == ["done"],
             what="the run to be handed back and finished")
    assert time.monotonic() - killed < 30  # the lease is 60 s: the message came back, not the lease
    assert list(receiver.by_key.values()) == [2]  # called again, under the same key


def test_the_celery_app_acknowledges_late_and_hands_back_the_runs_of_a_lost_process() -> None:
    conf = create_celery("redis://127.0.0.1:6379/0", "sqlite://").conf
    assert (conf.task_acks_late, conf.task_reject_on_worker_lost, conf.worker_prefetch_multiplier) == (
        True, True, 1)
    assert conf.broker_transport_options["visibility_timeout"] > 0


def test_the_worker_refuses_to_start_without_a_broker(runner: CliRunner,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STAGECRAFT_BROKER_URL", raising=False)
    result = runner.invoke(cli, ["worker"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert "STAGECRAFT_BROKER_URL is not set" in result.output


def test_the_worker_names_an_unreachable_broker_in_one_line(runner: CliRunner,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGECRAFT_BROKER_URL", "redis://127.0.0.1:1/0")
    result = runner.invoke(cli, ["worker"])
    assert result.exit_code == 1
    assert result.output.startswith("cannot reach the broker at redis://127.0.0.1:1/0")
    assert len(result.output.strip().splitlines()) == 1


def test_worker_help_names_its_options(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["worker", "--help"])
    assert result.exit_code == 0
    assert "--concurrency" in result.output and "--loglevel" in result.output


# --- the dispatching tick, against a dispatcher that keeps what it is given (no broker needed) ---

# Long before any real clock and any simulation's: other tests' rows in a shared database are never due.
LONG_AGO = datetime(2000, 1, 3, 9, 0, tzinfo=UTC)


class Kept:
    """A dispatcher with ``room`` places that keeps the claims it is sent (or drops them all)."""

    def __init__(self, room: int = 100, *, broken: bool = False) -> None:
        self.places, self.broken = room, broken
        self.sent: list[Claim] = []

    def room(self) -> int:
        return self.places

    def send(self, claims: Sequence[Claim]) -> int:
        if self.broken:
            return 0
        self.sent.extend(claims)
        return len(claims)


@pytest.fixture
def ticking(engine: Engine, workspace: str, tmp_path: Path) -> tuple[Runtime, int]:
    """A Ticket created at LONG_AGO whose automation counts; the runtime and the run's record id."""
    runtime = Runtime(engine, ManualClock(LONG_AGO), WorkflowConfig(lease_seconds=30), worker="test",
                      workspace=workspace)
    apply_tickets(tmp_path, engine, workspace, 'automation "Count"\nwhen Ticket created\ndo\n'
                  '  set hits = hits + 1\nend\n')
    ticket = RecordStore(engine, load_workspace_meta(engine, workspace), runtime.clock).create(
        "Ticket", {"title": "t"}, actor=Actor(email="celery-test"))
    return runtime, ticket["id"]


def mine(runtime: Runtime, workspace: str) -> list[dict[str, Any]]:
    return rows(runtime.engine, wf_instances, workspace)


def sent_here(kept: Kept, runtime: Runtime, workspace: str) -> list[Claim]:
    """The claims of this test's workspace."""
    ids = {run["id"] for run in mine(runtime, workspace)}
    return [claim for claim in kept.sent if claim[0] in ids]


def test_the_tick_sends_what_it_claims_instead_of_running_it(ticking: tuple[Runtime, int],
                                                             workspace: str) -> None:
    runtime, _ = ticking
    kept = Kept()
    dispatch_tick(runtime, kept)
    [run] = mine(runtime, workspace)
    [claim] = sent_here(kept, runtime, workspace)
    assert (run["status"], run["pc"], run["lease"]) == ("running", 0, claim[1])
    run_instance(runtime, *claim)
    assert mine(runtime, workspace)[0]["status"] == "done"


def test_a_claim_that_could_not_be_sent_is_claimed_again_when_its_lease_ends(
        ticking: tuple[Runtime, int], workspace: str) -> None:
    runtime, _ = ticking
    dispatch_tick(runtime, Kept(broken=True))
    kept = Kept()
    runtime.clock.advance(timedelta(seconds=29))  # type: ignore[attr-defined]
    dispatch_tick(runtime, kept)
    assert sent_here(kept, runtime, workspace) == []
    runtime.clock.advance(timedelta(seconds=2))  # type: ignore[attr-defined]
    dispatch_tick(runtime, kept)
    assert [claim[0] for claim in sent_here(kept, runtime, workspace)] == [mine(runtime, workspace)[0]["id"]]


def test_a_task_whose_lease_is_no_longer_current_does_nothing(ticking: tuple[Runtime, int],
                                                              workspace: str) -> None:
    runtime, ticket = ticking
    first, second = Kept(), Kept()
    dispatch_tick(runtime, first)
    runtime.clock.advance(timedelta(seconds=31))  # type: ignore[attr-defined]
    dispatch_tick(runtime, second)
    [stale], [current] = sent_here(first, runtime, workspace), sent_here(second, runtime, workspace)
    run_instance(runtime, *stale)
    assert (mine(runtime, workspace)[0]["status"], mine(runtime, workspace)[0]["pc"]) == ("running", 0)
    run_instance(runtime, *current)
    assert mine(runtime, workspace)[0]["status"] == "done"
    assert store(runtime.engine, workspace).get("Ticket", ticket)["hits"] == 1


def test_a_full_queue_gets_no_claims_and_the_run_stays_due(ticking: tuple[Runtime, int],
                                                           workspace: str) -> None:
    runtime, _ = ticking
    done = dispatch_tick(runtime, Kept(room=0))
    assert done.full
    [run] = mine(runtime, workspace)
    assert run["lease"] is None
    kept = Kept()
    dispatch_tick(runtime, kept)
    assert [claim[0] for claim in sent_here(kept, runtime, workspace)] == [run["id"]]


def _user(db: Engine, workspace: str, email: str) -> int:
    return next(u["id"] for u in rows(db, users, workspace) if u["email"] == email)


def test_goal_and_repeat_sale_chain_on_the_worker(db: Engine, workspace: str) -> None:
    apply_blueprint_path(db, SPEC_EXAMPLES, workspace)
    records, actor = store(db, workspace), Actor(email="celery-test")
    deal = records.create("Deal", {"title": "Sofa", "amount": 1, "stage": "invoice",
                                   "owner": _user(db, workspace, "sam@spec.test")}, actor=actor)
    records.update("Deal", deal["id"], {"paid": True}, actor=actor)
    wait_for(lambda: store(db, workspace).count("Deal") == 2, what="the goal move and the repeat deal")
    assert store(db, workspace).get("Deal", deal["id"])["stage"] == "won"


def test_big_deal_alert_and_hot_lead_on_the_worker(db: Engine, workspace: str) -> None:
    apply_blueprint_path(db, SPEC_EXAMPLES, workspace)
    records, actor = store(db, workspace), Actor(email="celery-test")
    deal = records.create("Deal", {"title": "Rocket", "amount": 10}, actor=actor)
    records.update("Deal", deal["id"], {"amount": 2000000}, actor=actor)
    lead = records.create("Lead", {"name": "Hot", "score": 10}, actor=actor)
    records.update("Lead", lead["id"], {"score": 70}, actor=actor)
    wait_for(lambda: any(t["title"] == "Call hot lead Hot" for t in rows(db, tasks, workspace)),
             what="the hot lead's task")
    wait_for(lambda: [n["text"] for n in rows(db, notifications, workspace)
                      if n["text"].startswith("Deal Rocket")] == ["Deal Rocket is now 2000000"],
             what="the big deal alert")


def test_website_form_and_delivery_process_on_the_worker(db: Engine, workspace: str) -> None:
    apply_blueprint_path(db, SPEC_EXAMPLES, workspace)
    runtime = Runtime(db, workspace=workspace)
    submit_form(runtime, workspace, "website", {"full_name": "Wanda", "phone": "+10000000009"})
    wait_for(lambda: any(lead["owner"] for lead in store(db, workspace).list("Lead").records),
             what="the form's lead to be assigned")
    owner = _user(db, workspace, "sam@spec.test")
    deal = store(db, workspace).create("Deal", {"title": "Sofa", "amount": 1, "owner": owner},
                                       actor=Actor(email="celery-test"))
    start_process(runtime, workspace, "Delivery", "Deal", deal["id"])
    for title, outcome in (("Pack the goods", None), ("Ship to", None), ("Confirm delivery", "delivered")):
        task = wait_for(lambda title=title: next((t for t in rows(db, tasks, workspace)  # type: ignore[misc]
                                                  if t["title"].startswith(title) and t["status"] == "open"),
                                                 None), what=f'the task "{title}"')
        complete_task(runtime, workspace, task["id"], outcome)
    wait_for(lambda: store(db, workspace).get("Deal", deal["id"])["stage"] == "won",
             what="the delivered deal")
