"""The spec's examples that act at once, run by a real runner (threads polling the database) and
the system clock, not by the simulator's drain: what a user of ``stagecraft serve`` gets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.migrate import apply_blueprint_path
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import messages, notifications, tasks, users, wf_instances
from workflow import InProcessRunner, Runtime, complete_task, start_process, submit_form

SPEC_EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "spec-language"


@pytest.fixture
def runtime(engine: Engine, workspace: str) -> Iterator[Runtime]:
    apply_blueprint_path(engine, SPEC_EXAMPLES, workspace)
    runtime = Runtime(engine, workspace=workspace)  # the PostgreSQL database is shared with other tests
    runner = InProcessRunner(runtime, threads=2, interval=0.05).start()
    yield runtime
    runner.stop()


def _rows(engine: Engine, table: sa.Table, workspace: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).where(table.c.workspace == workspace)
                                              .order_by(table.c.id)).mappings()]


def _eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the runner did not get there in time"
        time.sleep(0.05)


def _store(runtime: Runtime, workspace: str) -> RecordStore:
    return RecordStore(runtime.engine, load_workspace_meta(runtime.engine, workspace))


def _user(engine: Engine, workspace: str, email: str) -> int:
    return next(u["id"] for u in _rows(engine, users, workspace) if u["email"] == email)


def _open_task(engine: Engine, workspace: str, title: str) -> bool:
    found = _rows(engine, tasks, workspace)
    return any(t["title"].startswith(title) and t["status"] == "open" for t in found)


def test_order_intake_runs_on_the_in_process_runner(runtime: Runtime, engine: Engine, workspace: str) -> None:
    store = _store(runtime, workspace)
    ann = store.create("Contact", {"name": "Ann", "email": "ann@example.com"})
    store.create("Order", {"title": "O1", "amount": 5, "contact": ann["id"],
                           "owner": _user(engine, workspace, "sam@spec.test")})
    _eventually(lambda: len(_rows(engine, messages, workspace)) == 1)
    _eventually(lambda: len(_rows(engine, tasks, workspace)) == 1)
    _eventually(lambda: len(_rows(engine, notifications, workspace)) == 1)
    assert _rows(engine, messages, workspace)[0]["subject"] == "Order O1 accepted"


def test_goal_and_repeat_sale_chain_on_the_in_process_runner(runtime: Runtime, engine: Engine,
                                                             workspace: str) -> None:
    store = _store(runtime, workspace)
    deal = store.create("Deal", {"title": "Sofa", "amount": 1, "stage": "invoice",
                                 "owner": _user(engine, workspace, "sam@spec.test")})
    store.update("Deal", deal["id"], {"paid": True})
    _eventually(lambda: store.count("Deal") == 2)  # moved to won, which creates the repeat deal
    assert store.get("Deal", deal["id"])["stage"] == "won"


def test_website_form_and_hot_lead_on_the_in_process_runner(runtime: Runtime, engine: Engine,
                                                            workspace: str) -> None:
    submit_form(runtime, workspace, "website", {"full_name": "Wanda", "phone": "+10000000009"})
    store = _store(runtime, workspace)
    _eventually(lambda: any(lead["owner"] for lead in store.list("Lead").records))
    lead = store.create("Lead", {"name": "Hot", "score": 10})
    store.update("Lead", lead["id"], {"score": 70})
    _eventually(lambda: any(t["title"] == "Call hot lead Hot" for t in _rows(engine, tasks, workspace)))


def test_delivery_process_on_the_in_process_runner(runtime: Runtime, engine: Engine, workspace: str) -> None:
    store = _store(runtime, workspace)
    owner = _user(engine, workspace, "sam@spec.test")
    deal = store.create("Deal", {"title": "Sofa", "amount": 1, "owner": owner})
    start_process(runtime, workspace, "Delivery", "Deal", deal["id"])
    for title, outcome in (("Pack the goods", None), ("Ship to", None), ("Confirm delivery", "delivered")):
        _eventually(lambda title=title: _open_task(engine, workspace, title))  # type: ignore[misc]
        task = next(t for t in _rows(engine, tasks, workspace) if t["title"].startswith(title))
        complete_task(runtime, workspace, task["id"], outcome)
    _eventually(lambda: store.get("Deal", deal["id"])["stage"] == "won")
    _eventually(lambda: _rows(engine, wf_instances, workspace)[0]["status"] == "done")


def test_waits_and_stay_timers_fire_on_the_in_process_runner_by_the_system_clock(
        make_sim: Callable[[str], Any], engine: Engine, workspace: str) -> None:
    make_sim('automation "Later"\nwhen Ticket created\ndo\n  wait 1 second\n  set title = "woke"\nend\n'
             'automation "Stayed"\nwhen Ticket stays in stage new for 2 seconds\ndo\n'
             '  move to stage doing\nend\n')
    runner = InProcessRunner(Runtime(engine, workspace=workspace), interval=0.05).start()
    try:
        store = _store(Runtime(engine), workspace)
        ticket = store.create("Ticket", {"title": "asleep"})
        _eventually(lambda: store.get("Ticket", ticket["id"])["title"] == "woke")
        _eventually(lambda: store.get("Ticket", ticket["id"])["stage"] == "doing")
    finally:
        runner.stop()
