"""Cases an adversarial review found: each pins a guarantee that once failed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from metamodel.storage.system_tables import outbox, wf_plans
from workflow import Runtime, WorkflowConfig, drain
from workflow.errors import WorkflowError
from workflow.instances import claim_due
from workflow.simulation import Simulation
from workflow.step import HANDLERS

if TYPE_CHECKING:
    from conftest import Receiver

MakeSim = Callable[[str], Simulation]


def test_an_apply_stores_its_plan_with_the_version(make_sim: MakeSim) -> None:
    sim = make_sim('automation "A"\nwhen Ticket created\ndo\n  stop\nend\n')
    with sim.runtime.engine.connect() as conn:
        versions = conn.execute(sa.select(wf_plans.c.version).where(wf_plans.c.workspace == sim.workspace))
        assert list(versions.scalars()) == [1]


def test_two_changes_before_consumption_are_judged_each_by_its_own_values(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Crossed"\nwhen Ticket updated where hits >= 10 and old.hits < 10\ndo\n'
                   '  set title = "crossed"\nend\n')
    record = sim.create("Ticket", {"title": "t"}, "t")
    store = sim.store()
    store.update("Ticket", record["id"], {"hits": 12})
    store.update("Ticket", record["id"], {"hits": 5})
    sim.settle()
    assert sim.get("t")["title"] == "crossed"


def test_a_process_that_starts_itself_stops_at_the_depth_limit(make_sim: MakeSim) -> None:
    sim = make_sim('process "Again" for Ticket\n  set hits = hits + 1\n  start process "Again"\nend\n'
                   'automation "Go"\nwhen Ticket created\ndo\n  start process "Again"\nend\n')
    sim.create("Ticket", {"title": "t"}, "t")
    assert sim.get("t")["hits"] <= 10
    assert any(e["kind"] == "incident" and e["code"] == "WF_DEPTH_LIMIT" for e in sim.timeline)


def test_a_loop_through_a_stay_timer_stops_at_the_depth_limit(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Start"\nwhen Ticket stays in stage new for 1 minute\ndo\n'
                   '  move to stage doing\nend\n'
                   'automation "Back"\nwhen Ticket entered stage doing\ndo\n  move to stage new\nend\n')
    sim.create("Ticket", {"title": "t"}, "t")
    sim.advance(timedelta(hours=2))
    assert len(sim.instances()) <= 10
    assert any(e["kind"] == "incident" and e["code"] == "WF_DEPTH_LIMIT" for e in sim.timeline)


def test_a_new_duration_replans_the_timers_already_planned(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Due"\nwhen 30 days before Ticket.due\ndo\n  set title = "due"\nend\n')
    sim.create("Ticket", {"title": "t", "due": "2026-05-01"}, "t")
    make_sim('automation "Due"\nwhen 10 days before Ticket.due\ndo\n  set title = "due"\nend\n')
    sim.advance(timedelta(days=40))  # April 11: the old moment (April 1) has passed
    assert sim.get("t")["title"] == "t"
    sim.advance(timedelta(days=10))  # April 21: the new one
    assert sim.get("t")["title"] == "due"


def test_a_write_whose_automation_condition_fails_is_kept_with_an_incident(make_sim: MakeSim) -> None:
    sim = make_sim('automation "F"\nwhen Ticket created where due + 3000000 days > today\ndo\n  stop\nend\n')
    sim.create("Ticket", {"title": "t", "due": "2026-03-10"}, "t")
    assert [e["code"] for e in sim.timeline if e["kind"] == "incident"] == ["E_RUNTIME_RANGE"]
    assert sim.get("t")["title"] == "t"


def test_a_slow_webhook_keeps_its_lease_so_no_second_runner_calls_again(make_sim: MakeSim,
                                                                       receiver: Receiver) -> None:
    receiver.always(200, delay=1.5)
    sim = make_sim(f'automation "Hook"\nwhen Ticket created\ndo\n  call webhook "{receiver.url}"\nend\n')
    config = WorkflowConfig(webhook_allow="127.0.0.1/32", lease_seconds=0.4)
    runtime = Runtime(sim.runtime.engine, config=config, workspace=sim.workspace)  # only this test's runs
    sim.store().create("Ticket", {"title": "t"})
    worker = threading.Thread(target=drain, args=(runtime,))
    worker.start()
    time.sleep(1.0)  # well past the 0.4 s lease while the call is still under way
    stolen = claim_due(runtime.engine, datetime.now(UTC), lease_for=runtime.config.lease)
    worker.join()
    ours = {i["id"] for i in sim.instances()}  # the database is shared with other tests' runs
    assert ours and not ours & {instance_id for instance_id, _ in stolen}
    assert list(receiver.by_key.values()) == [1]


def test_an_outbox_event_that_cannot_be_handled_stays_pending_and_the_others_go_on(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Seen"\nwhen Ticket updated\ndo\n  set title = "seen"\nend\n')
    record = sim.create("Ticket", {"title": "t"}, "t")
    with sim.runtime.engine.begin() as conn:  # a damaged event: its changes are not a mapping
        conn.execute(sa.insert(outbox).values(
            workspace=sim.workspace, entity="Ticket", record_id=record["id"], kind="updated",
            payload={"changes": "broken"}, created_at=sim.clock.now()))
    sim.update("t", {"hits": 1})
    assert sim.get("t")["title"] == "seen"
    with sim.runtime.engine.connect() as conn:
        pending = conn.execute(sa.select(outbox.c.payload).where(
            outbox.c.workspace == sim.workspace, outbox.c.processed_at.is_(None))).scalars().all()
    assert pending == [{"changes": "broken"}]


def test_a_wake_up_that_fails_retryably_stays_waiting(make_sim: MakeSim,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    sim = make_sim('automation "Until"\nwhen Ticket created\ndo\n  wait until hits > 5\n'
                   '  set title = "done"\nend\n')
    sim.create("Ticket", {"title": "t"}, "t")
    original = HANDLERS["wait_until"]

    def hiccup(step: Any, op: Any) -> Any:
        raise WorkflowError("the database blinked", retryable=True)

    monkeypatch.setitem(HANDLERS, "wait_until", hiccup)
    sim.update("t", {"hits": 1})  # nudges the run, whose wake-up fails
    [run] = sim.instances()
    assert (run["status"], run["attempts"]) == ("waiting", 1)
    monkeypatch.setitem(HANDLERS, "wait_until", original)
    sim.update("t", {"hits": 9})
    sim.advance(timedelta(hours=2))
    assert sim.get("t")["title"] == "done"
