"""Broadcast delivery: a real SMTP server, retries, a crash between hand-over and marking, both runners."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.clock import ManualClock
from metamodel.migrate import apply_blueprint_path
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import broadcast_recipients, messages
from workflow import (
    BroadcastRow,
    BroadcastSpec,
    InProcessRunner,
    Runtime,
    WorkflowConfig,
    create_broadcast,
    drain,
)
from workflow import broadcasts_deliver as delivery
from workflow import broadcasts_run as run
from workflow.broadcasts import get_broadcast
from workflow.delivery import deliver, message_id
from workflow.ticker import Claim, dispatch_tick

if TYPE_CHECKING:
    from conftest import SmtpServer

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BLUEPRINT = """
workspace: mailing
entities:
  Contact:
    fields:
      name: {type: string, required: true}
      email: {type: email}
      unsubscribed: {type: boolean, default: false}
"""
ADDRESSES = ["ann@example.com", "bob@example.com", "cid@example.com"]
SPEC = BroadcastSpec(entity="Contact", channel="email", subject="Spring news", body="Hello {name}")
Started = Callable[..., tuple[Runtime, BroadcastRow]]


@pytest.fixture
def started(engine: Engine, workspace: str, tmp_path: Path) -> Started:
    """Three contacts and a broadcast to them all; ``smtp_url`` (or none) and the clock are the caller's."""
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
    apply_blueprint_path(engine, tmp_path, workspace)

    def start(smtp_url: str | None = None, clock: Any = None) -> tuple[Runtime, BroadcastRow]:
        runtime = Runtime(engine, clock or ManualClock(START), WorkflowConfig(smtp_url=smtp_url),
                          workspace=workspace)
        store = RecordStore(engine, load_workspace_meta(engine, workspace), runtime.clock)
        for address in ADDRESSES:
            store.create("Contact", {"name": address.split("@")[0].title(), "email": address})
        return runtime, create_broadcast(runtime, workspace, SPEC, created_by="admin@example.com")

    return start


def stored(runtime: Runtime, table: sa.Table) -> list[dict[str, Any]]:
    with runtime.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).where(
            table.c.workspace == runtime.workspace).order_by(table.c.id)).mappings()]


def test_each_recipient_gets_one_mail_through_smtp(started: Started, smtp_server: SmtpServer) -> None:
    runtime, row = started(smtp_server.url)
    drain(runtime)
    mails = smtp_server.mails()
    assert sorted(m["To"] for m in mails) == ADDRESSES
    keys = {m["X-Stagecraft-Idempotency-Key"] for m in mails}
    assert keys == {f"broadcast:{row.id}:{r['record_id']}" for r in stored(runtime, messages)}
    assert all(m["Message-ID"] == message_id(m["X-Stagecraft-Idempotency-Key"]) for m in mails)
    done = get_broadcast(runtime.engine, runtime.workspace or "", row.id)
    assert (done.status, done.sent, done.failed) == ("done", 3, 0)
    assert {m["status"] for m in stored(runtime, messages)} == {"sent"}


def test_a_refused_recipient_fails_at_once_and_the_others_are_sent(started: Started,
                                                                    smtp_server: SmtpServer) -> None:
    smtp_server.refuse["bob@example.com"] = "550 no such user"
    runtime, row = started(smtp_server.url)
    drain(runtime)
    done = get_broadcast(runtime.engine, runtime.workspace or "", row.id)
    assert (done.status, done.sent, done.failed) == ("done", 2, 1)
    [failed] = [r for r in stored(runtime, broadcast_recipients) if r["status"] == "failed"]
    assert "550" in failed["reason"]
    assert sorted(m["status"] for m in stored(runtime, messages)) == ["failed", "sent", "sent"]


def test_an_unreachable_smtp_server_is_retried_with_backoff_then_failed(started: Started) -> None:
    clock = ManualClock(START)
    runtime, row = started("smtp://127.0.0.1:9", clock)
    drain(runtime)
    assert {r["attempts"] for r in stored(runtime, broadcast_recipients)} == {1}  # each waits for a retry
    assert get_broadcast(runtime.engine, runtime.workspace or "", row.id).status == "sending"
    for _ in range(runtime.config.max_attempts):
        clock.set(clock.now() + timedelta(hours=2))  # past any backoff (capped at one hour)
        drain(runtime)
    done = get_broadcast(runtime.engine, runtime.workspace or "", row.id)
    assert (done.status, done.sent, done.failed) == ("done", 0, 3)
    assert {r["attempts"] for r in stored(runtime, broadcast_recipients)} == {runtime.config.max_attempts}
    assert len(stored(runtime, messages)) == 3  # recorded once each, whatever the retries


def test_a_hand_over_cut_off_before_marking_is_repeated_with_the_same_key(started: Started,
                                                                          smtp_server: SmtpServer) -> None:
    clock = ManualClock(START)
    runtime, row = started(smtp_server.url, clock)
    run.expand_next(runtime)
    run.expand_next(runtime)
    claimed, _lease = delivery.claim(runtime, 1)
    [(_, outgoing)] = claimed
    assert outgoing is not None
    deliver(outgoing, delivery.delivery_config(runtime))  # handed over, then the runner died
    clock.set(clock.now() + runtime.config.lease + timedelta(seconds=1))
    drain(runtime)
    ids = [m["Message-ID"] for m in smtp_server.mails()]
    assert len(ids) == 4 and len(set(ids)) == 3  # the repeat carries the first one's Message-ID
    assert len(stored(runtime, messages)) == 3
    assert get_broadcast(runtime.engine, runtime.workspace or "", row.id).sent == 3


def test_two_runners_at_once_hand_each_message_over_once(started: Started, smtp_server: SmtpServer) -> None:
    runtime, row = started(smtp_server.url)
    run.expand_next(runtime)
    run.expand_next(runtime)
    threads = [threading.Thread(target=delivery.deliver_due, args=(runtime, 1)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drain(runtime)
    keys = [m["X-Stagecraft-Idempotency-Key"] for m in smtp_server.mails()]
    assert len(keys) == 3 and len(set(keys)) == 3
    assert get_broadcast(runtime.engine, runtime.workspace or "", row.id).sent == 3


def test_the_in_process_runner_delivers_a_broadcast(started: Started, smtp_server: SmtpServer) -> None:
    from metamodel.clock import SYSTEM_CLOCK

    runtime, row = started(smtp_server.url, SYSTEM_CLOCK)
    runner = InProcessRunner(runtime, interval=0.05).start()
    try:
        deadline = time.monotonic() + 15
        while get_broadcast(runtime.engine, runtime.workspace or "", row.id).status != "done":
            assert time.monotonic() < deadline, "the runner did not finish the broadcast"
            time.sleep(0.05)
    finally:
        runner.stop()
    assert sorted(m["To"] for m in smtp_server.mails()) == ADDRESSES


class Kept:
    """A dispatcher that keeps what it is sent (the scale-out tick without a broker)."""

    def __init__(self) -> None:
        self.sent: list[Claim] = []

    def room(self) -> int:
        return 100

    def send(self, claims: Sequence[Claim]) -> int:
        self.sent.extend(claims)
        return len(claims)


def test_the_scale_out_ticker_delivers_broadcasts_too(started: Started, smtp_server: SmtpServer) -> None:
    runtime, row = started(smtp_server.url)
    for _ in range(10):
        if not dispatch_tick(runtime, Kept()).work:
            break
    assert get_broadcast(runtime.engine, runtime.workspace or "", row.id).status == "done"
    assert len(smtp_server.mails()) == 3


def test_a_call_past_its_time_hands_over_one_and_gives_the_rest_back(started: Started,
                                                                     smtp_server: SmtpServer) -> None:
    runtime, row = started(smtp_server.url)
    run.expand_next(runtime)
    run.expand_next(runtime)
    assert delivery.deliver_due(runtime, seconds=0) == 3  # claimed three, handed one over
    assert len(smtp_server.mails()) == 1
    waiting = [r for r in stored(runtime, broadcast_recipients) if r["status"] == "queued"]
    assert len(waiting) == 2 and all(r["lease"] is None for r in waiting)  # due again at once
    drain(runtime)
    assert get_broadcast(runtime.engine, runtime.workspace or "", row.id).sent == 3
