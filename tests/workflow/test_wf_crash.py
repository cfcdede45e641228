"""Crash test: a real `stagecraft worker` SIGKILLed again and again while 200 runs hand messages over.

Each run sends an email (to a real SMTP server), calls a webhook (a real HTTP receiver), sleeps a
second on half the tickets and calls a second webhook.  The worker's whole process group is killed
at random moments and restarted; leases of 2 seconds make the rescues quick.  Afterwards every run
is done, once: 200 message rows, 200 distinct Message-IDs at the SMTP server and 400 distinct
Idempotency-Keys at the receiver.  A repeated hand-over (killed between "handed over" and "marked")
arrives with the SAME key — that is at-least-once delivery deduplicated by the key, so repeats are
allowed and printed; a key of one run never shows up in another.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.db import create_engine_for
from metamodel.migrate import apply_blueprint_path
from metamodel.records.actor import Actor
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import messages, wf_instances

if TYPE_CHECKING:
    from conftest import Receiver, SmtpServer

REDIS_DB = 14  # this module's own Redis database: flushed before use, nothing else in it
STAGECRAFT = Path(sys.executable).parent / "stagecraft"
RUNS = 200
SEED = 20261123
KILLS = 6
BLUEPRINT = """
workspace: crash
entities:
  Ticket:
    fields:
      title: {type: string, required: true, max_length: 200}
      email: {type: email}
      slow:  {type: boolean, default: false}
automations: [rules.craft]
"""
RULES = """
automation "Hand over"
when Ticket created
do
  send email to email subject "Ticket {title}" body "Hello {title}"
  call webhook "URL/first" with {title: title, step: "first"}
  if slow then
    wait 1 second
  end
  call webhook "URL/second" with {title: title, step: "second"}
end
"""


@pytest.fixture
def broker_url(redis_database: Callable[[int], str]) -> str:
    """This module's own Redis database, emptied."""
    return redis_database(REDIS_DB)


@pytest.fixture
def crash_db(scratch_postgres: Callable[[str], str]) -> str:
    """A PostgreSQL database only this test's workers see (the session one holds simulations)."""
    return scratch_postgres("sc_crash")


class Workers:
    """Starts `stagecraft worker` in a process group of its own and kills the whole group."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = {**os.environ, **env}, log
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(STAGECRAFT), "worker", "--concurrency", "2", "--loglevel", "INFO"], env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Until this start's "ready." line is in the log (the pool has forked, the ticker runs)."""
        seen = self.log.read_text(errors="replace").count(" ready.")
        deadline = time.monotonic() + timeout
        while self.log.read_text(errors="replace").count(" ready.") < seen + 1:
            if time.monotonic() > deadline:
                pytest.fail(f"the worker did not start:\n{self.tail()}")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def statuses(engine: Engine, workspace: str) -> Counter[str]:
    with engine.connect() as conn:
        found = conn.execute(sa.select(wf_instances.c.status, sa.func.count()).where(
            wf_instances.c.workspace == workspace).group_by(wf_instances.c.status)).all()
    return Counter({status: count for status, count in found})


def create_tickets(engine: Engine, workspace: str, tmp_path: Path, url: str) -> None:
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
    (tmp_path / "rules.craft").write_text(RULES.replace("URL", url), encoding="utf-8")
    apply_blueprint_path(engine, tmp_path, workspace)
    store, actor = RecordStore(engine, load_workspace_meta(engine, workspace)), Actor(email="crash-test")
    for n in range(RUNS):
        store.create("Ticket", {"title": f"t{n}", "email": f"t{n}@example.com", "slow": n % 2 == 0},
                     actor=actor)


def kill_and_restart(workers: Workers, engine: Engine, workspace: str, rng: random.Random) -> None:
    """Up to KILLS kills at random moments after each start, while there is work left to interrupt."""
    for _ in range(KILLS):
        workers.start()
        workers.wait_ready()
        time.sleep(rng.uniform(0.2, 1.5))
        workers.kill()
        print(f"kill {workers.kills}: {dict(statuses(engine, workspace))}")
        if statuses(engine, workspace)["done"] >= RUNS:
            break
    workers.start()


def wait_until_all_done(workers: Workers, engine: Engine, workspace: str, stall: float = 45.0) -> None:
    """Until every run is done; fails when no run finished for ``stall`` seconds (a busy machine is
    slow, not stuck, so the bound is on progress rather than on the total)."""
    done, deadline = -1, 0.0
    while done < RUNS:
        now_done = statuses(engine, workspace)["done"]
        if now_done > done:
            done, deadline = now_done, time.monotonic() + stall
        elif time.monotonic() > deadline:
            pytest.fail(f"no run finished for {stall:.0f} s: {dict(statuses(engine, workspace))}\n"
                        f"{workers.tail()}")
        time.sleep(0.2)


def keys_by_run(keys: set[str]) -> dict[int, set[str]]:
    """``workspace:run:step`` keys grouped by run id."""
    grouped: dict[int, set[str]] = defaultdict(set)
    for key in keys:
        grouped[int(key.split(":")[1])].add(key)
    return grouped


@pytest.mark.postgres
@pytest.mark.timeout(420)
def test_every_run_hands_each_message_over_under_one_key_through_kills(
        crash_db: str, broker_url: str, smtp_server: SmtpServer, receiver: Receiver, workspace: str,
        tmp_path: Path) -> None:
    engine = create_engine_for(crash_db)
    create_tickets(engine, workspace, tmp_path, receiver.url)
    workers = Workers({"STAGECRAFT_DATABASE_URL": crash_db, "STAGECRAFT_BROKER_URL": broker_url,
                       "STAGECRAFT_SMTP_URL": smtp_server.url, "STAGECRAFT_WEBHOOK_ALLOW": "127.0.0.1/32",
                       "STAGECRAFT_WORKFLOW_LEASE": "2"}, tmp_path / "worker.log")
    try:
        kill_and_restart(workers, engine, workspace, random.Random(SEED))
        wait_until_all_done(workers, engine, workspace)
    finally:
        workers.stop()
    report(workers, smtp_server, receiver)
    assert statuses(engine, workspace) == Counter({"done": RUNS})
    assert_messages(engine, workspace, smtp_server)
    assert_webhooks(engine, workspace, receiver)
    engine.dispose()


def assert_messages(engine: Engine, workspace: str, smtp: SmtpServer) -> None:
    with engine.connect() as conn:
        found = conn.execute(sa.select(messages.c.idempotency_key, messages.c.status).where(
            messages.c.workspace == workspace)).all()
    assert len(found) == RUNS and len({key for key, _ in found}) == RUNS
    assert {status for _, status in found} == {"sent"}
    subjects: dict[str, set[str]] = defaultdict(set)
    for mail in smtp.mails():
        subjects[str(mail["X-Stagecraft-Idempotency-Key"])].add(str(mail["Subject"]))
    assert len({str(mail["Message-ID"]) for mail in smtp.mails()}) == RUNS
    assert set(subjects) == {key for key, _ in found}
    assert all(len(one) == 1 for one in subjects.values())  # a key never carries another run's mail


def assert_webhooks(engine: Engine, workspace: str, receiver: Receiver) -> None:
    titles: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for request in receiver.requests:
        body = json.loads(request.body)
        titles[request.headers["Idempotency-Key"]].add((body["title"], body["step"]))
    assert len(titles) == 2 * RUNS
    assert all(len(one) == 1 for one in titles.values())  # a key never carries another run's call
    with engine.connect() as conn:
        runs = set(conn.execute(sa.select(wf_instances.c.id).where(wf_instances.c.workspace == workspace))
                   .scalars())
    grouped = keys_by_run(set(titles))
    assert set(grouped) == runs
    assert all(len(keys) == 2 for keys in grouped.values())
    assert len({title for one in titles.values() for title, _ in one}) == RUNS


def report(workers: Workers, smtp: SmtpServer, receiver: Receiver) -> None:
    mail_ids = Counter(str(mail["Message-ID"]) for mail in smtp.mails())
    calls: Counter[str] = Counter(receiver.by_key)
    print(f"\n{workers.kills} kills; SMTP: {sum(mail_ids.values())} mails, "
          f"{sum(n - 1 for n in mail_ids.values())} repeated hand-overs; webhooks: {sum(calls.values())} "
          f"calls, {sum(n - 1 for n in calls.values())} repeated under the same key")

