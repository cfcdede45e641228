"""The "Delivery" business process of spec/craft-language.md: tasks, reminders, an approval."""

from __future__ import annotations

from datetime import timedelta

from workflow import start_process
from workflow.simulation import Simulation


def _deal(sim: Simulation) -> int:
    sim.create("Contact", {"name": "Ann", "email": "ann@example.com"}, "ann")
    record = sim.create("Deal", {"title": "Sofa", "amount": 10, "contact": "ann", "owner": "sam@spec.test",
                                 "stage": "invoice"}, "d1")
    start_process(sim.runtime, sim.workspace, "Delivery", "Deal", record["id"])
    sim.settle()
    return int(record["id"])


def test_delivery_starts_with_a_packing_task_for_the_warehouse(sim: Simulation) -> None:
    _deal(sim)
    [task] = sim.tasks()
    assert task["title"] == "Pack the goods"
    assert sim.emails()[task["assignee_id"]] == "wes@spec.test"
    assert [i["status"] for i in sim.instances()] == ["waiting"]


def test_an_overdue_packing_task_is_reminded_every_four_hours(sim: Simulation) -> None:
    _deal(sim)
    sim.advance(timedelta(days=1, hours=9))  # due after 1 day: reminders at +0 h, +4 h, +8 h
    reminders = [n for n in sim.notifications() if n["text"].startswith("Reminder")]
    assert len(reminders) == 3
    assert reminders[0]["text"] == 'Reminder: the task "Pack the goods" is overdue'


def test_done_tasks_lead_to_the_next_task_and_then_the_approval(sim: Simulation) -> None:
    _deal(sim)
    sim.complete_task("Pack the goods")
    assert [t["title"] for t in sim.tasks() if t["status"] == "open"] == ["Ship to Ann"]
    sim.complete_task("Ship to")
    [approval] = [t for t in sim.tasks() if t["status"] == "open"]
    assert (approval["title"], approval["kind"], approval["options"]) == (
        "Confirm delivery", "approval", ["delivered", "failed"])


def test_a_delivered_outcome_moves_the_deal_to_won(sim: Simulation) -> None:
    _deal(sim)
    sim.complete_task("Pack the goods")
    sim.complete_task("Ship to")
    sim.complete_task("Confirm delivery", "delivered")
    assert sim.get("d1")["stage"] == "won"
    assert sim.instances()[0]["status"] == "done"


def test_a_failed_outcome_moves_the_deal_to_lost(sim: Simulation) -> None:
    _deal(sim)
    sim.complete_task("Pack the goods")
    sim.complete_task("Ship to")
    sim.complete_task("Confirm delivery", "failed")
    assert sim.get("d1")["stage"] == "lost"


def test_no_reminder_once_the_task_is_done(sim: Simulation) -> None:
    _deal(sim)
    sim.complete_task("Pack the goods")
    sim.advance(timedelta(days=3))
    assert not [n for n in sim.notifications() if n["text"].startswith("Reminder")]
