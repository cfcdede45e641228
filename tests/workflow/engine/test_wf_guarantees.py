"""Guarantees: depth limit, failures kept and retryable, pinned plan versions, one message per step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from workflow import retry
from workflow.simulation import Simulation

MakeSim = Callable[[str], Simulation]

def test_an_automation_that_triggers_itself_stops_at_the_depth_limit(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Echo"\nwhen Ticket updated\ndo\n  set hits = hits + 1\nend\n')
    sim.create("Ticket", {"title": "t"}, "t")
    sim.update("t", {"title": "u"})
    hits = sim.get("t")["hits"]
    assert 1 < hits <= 10
    incidents = [e for e in sim.timeline if e["kind"] == "incident"]
    assert len(incidents) == 1
    assert incidents[0]["code"] == "WF_DEPTH_LIMIT"
    assert 'automation "Echo" was stopped' in incidents[0]["message"]


def test_a_step_that_breaks_a_rule_fails_the_run_with_the_reason_and_place(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Rate"\nwhen Ticket created\ndo\n  set rating = 9\nend\n')
    sim.create("Ticket", {"title": "t"}, "t")
    [run] = sim.instances()
    assert run["status"] == "failed"
    assert "VALIDATION_FAILED" in run["error"] and "rating" in run["error"]
    assert "rules.craft:4:3" in run["error"]
    assert sim.get("t")["rating"] is None


def test_a_failed_run_can_be_retried_and_fails_again_visibly(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Rate"\nwhen Ticket created\ndo\n  set rating = 9\nend\n')
    sim.create("Ticket", {"title": "t"}, "t")
    run_id = sim.instances()[0]["id"]
    assert retry(sim.runtime, "another-workspace", run_id) is False
    assert retry(sim.runtime, sim.workspace, run_id) is True
    sim.settle()
    assert sim.instances()[0]["status"] == "failed"
    assert [e["kind"] for e in sim.timeline if e.get("run") == run_id].count("failed") == 2


def test_a_running_instance_keeps_the_plan_it_started_with(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Later"\nwhen Ticket created\ndo\n'
                   '  wait 1 day\n  set title = "old plan"\nend\n')
    sim.create("Ticket", {"title": "t"}, "t")
    make_sim('automation "Later"\nwhen Ticket created\ndo\n  wait 1 day\n  set title = "new plan"\nend\n')
    sim.advance(timedelta(days=2))
    assert sim.get("t")["title"] == "old plan"
    sim.create("Ticket", {"title": "u"}, "u")
    sim.advance(timedelta(days=2))
    assert sim.get("u")["title"] == "new plan"


def test_a_message_step_records_one_message_however_often_the_run_is_woken(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Mail"\nwhen Ticket created\ndo\n'
                   '  send email to email subject "Hi" body "Ticket {title}"\n  wait 1 hour\nend\n')
    sim.create("Ticket", {"title": "t", "email": "a@example.com"}, "t")
    sim.update("t", {"hits": 1})  # nudges the waiting run
    sim.advance(timedelta(hours=2))
    assert len(sim.messages()) == 1
    assert sim.instances()[0]["status"] == "done"


def test_a_date_automation_added_later_plans_timers_for_existing_records(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Noop"\nwhen Ticket deleted\ndo\n  stop\nend\n')
    sim.create("Ticket", {"title": "old", "due": "2026-03-10"}, "t")
    make_sim('automation "Due"\nwhen 1 day before Ticket.due\ndo\n  set title = "due soon"\nend\n')
    sim.advance(timedelta(days=7, hours=1))
    assert sim.get("t")["title"] == "due soon"


def test_a_condition_that_cannot_be_evaluated_is_an_incident(make_sim: MakeSim) -> None:
    sim = make_sim('automation "Far"\nwhen Ticket updated where due + 3000000 days > today\n'
                   'do\n  stop\nend\n')
    sim.create("Ticket", {"title": "t", "due": "2026-03-10"}, "t")
    sim.update("t", {"hits": 3})
    assert sim.instances() == []
    [incident] = [e for e in sim.timeline if e["kind"] == "incident"]
    assert 'the condition of automation "Far" (rules.craft:1) could not be evaluated' in incident["message"]
