"""Every automation example of spec/craft-language.md does what its comment says (both databases)."""

from __future__ import annotations

from datetime import timedelta

from workflow.simulation import Simulation


def _ann(sim: Simulation) -> None:
    sim.create("Contact", {"name": "Ann", "email": "ann@example.com", "phone": "+10000000001"}, "ann")


def test_new_order_intake_notifies_creates_a_task_and_records_an_email(sim: Simulation) -> None:
    _ann(sim)
    sim.create("Order", {"title": "Order 1", "amount": 120, "contact": "ann", "owner": "sam@spec.test"}, "o1")
    [note] = sim.notifications()
    assert note["text"] == "New order Order 1 for 120"
    [task] = sim.tasks()
    assert task["title"] == "Call Ann about order Order 1"
    assert task["due_at"].replace(tzinfo=None) == (sim.clock.now() + timedelta(hours=1)).replace(tzinfo=None)
    [message] = sim.messages()
    assert (message["channel"], message["recipient"], message["subject"]) == (
        "email", "ann@example.com", "Order Order 1 accepted")
    assert message["body"] == "We got your order, Ann."
    assert message["status"] == "recorded"


def test_payment_reminder_sends_an_sms_after_three_days_in_awaiting_payment(sim: Simulation) -> None:
    _ann(sim)
    sim.create("Order", {"title": "Order 1", "amount": 120, "contact": "ann", "owner": "sam@spec.test"}, "o1")
    sim.move("o1", "awaiting_payment")
    sim.advance(timedelta(days=2))
    assert len(sim.messages()) == 1
    sim.advance(timedelta(days=1, minutes=1))
    last = sim.messages()[-1]
    assert (last["channel"], last["recipient"]) == ("sms", "+10000000001")
    assert last["body"] == "Your order Order 1 is still waiting for payment."


def test_payment_reminder_is_not_sent_when_the_order_was_paid_in_time(sim: Simulation) -> None:
    _ann(sim)
    sim.create("Order", {"title": "Order 1", "amount": 120, "contact": "ann", "owner": "sam@spec.test"}, "o1")
    sim.move("o1", "awaiting_payment")
    sim.advance(timedelta(days=1))
    sim.move("o1", "paid")
    sim.advance(timedelta(days=5))
    assert [m["channel"] for m in sim.messages()] == ["email"]
    assert {i["status"] for i in sim.instances()} == {"done"}


def _emails(sim: Simulation, user_ids: list[int]) -> list[str]:
    emails = sim.emails()
    return [emails[uid] for uid in user_ids]


def test_big_deal_alert_notifies_the_heads_group_when_the_amount_crosses_a_million(sim: Simulation) -> None:
    sim.create("Deal", {"title": "Rocket", "amount": 500000, "owner": "sam@spec.test"}, "d1")
    sim.update("d1", {"amount": 900000})
    assert sim.notifications() == []
    sim.update("d1", {"amount": 1200000})
    [note] = sim.notifications()
    assert _emails(sim, [note["user_id"]]) == ["hanna@spec.test"]
    assert note["text"] == "Deal Rocket is now 1200000"
    sim.update("d1", {"amount": 1300000})  # old.amount is no longer below a million
    assert len(sim.notifications()) == 1


def test_goal_reached_moves_a_paid_deal_in_invoice_to_won(sim: Simulation) -> None:
    sim.create("Deal", {"title": "Rocket", "amount": 10, "stage": "invoice"}, "d1")
    sim.update("d1", {"paid": True})
    assert sim.get("d1")["stage"] == "won"


def test_goal_is_not_reached_outside_the_invoice_stage(sim: Simulation) -> None:
    sim.create("Deal", {"title": "Rocket", "amount": 10, "stage": "negotiation"}, "d1")
    sim.update("d1", {"paid": True})
    assert sim.get("d1")["stage"] == "negotiation"


def test_hot_lead_is_assigned_round_robin_and_gets_a_call_task(sim: Simulation) -> None:
    for name in ("L1", "L2", "L3"):
        sim.create("Lead", {"name": name, "score": 10}, name)
        sim.update(name, {"score": 60})
    owners = [sim.emails()[sim.get(name)["owner"]] for name in ("L1", "L2", "L3")]
    assert owners == ["sam@spec.test", "sara@spec.test", "sam@spec.test"]
    assert [t["title"] for t in sim.tasks()] == ["Call hot lead L1", "Call hot lead L2", "Call hot lead L3"]


def test_contract_renewal_task_is_created_30_days_before_the_end(sim: Simulation) -> None:
    sim.create("Company", {"name": "Acme"}, "acme")
    sim.create("Contract", {"title": "Support", "company": "acme", "ends_on": "2026-05-01",
                            "owner": "sam@spec.test"}, "c1")
    sim.advance(timedelta(days=29))  # 2026-03-31 09:00: one day early
    assert sim.tasks() == []
    sim.advance(timedelta(days=2))
    [task] = sim.tasks()
    assert task["title"] == "Renewal talk with Acme"


def test_contract_renewal_is_replanned_when_the_end_date_moves(sim: Simulation) -> None:
    sim.create("Company", {"name": "Acme"}, "acme")
    sim.create("Contract", {"title": "Support", "company": "acme", "ends_on": "2026-05-01",
                            "owner": "sam@spec.test"}, "c1")
    sim.update("c1", {"ends_on": "2026-06-01"})
    sim.advance(timedelta(days=40))  # past the first plan (April 1), before the new one (May 2)
    assert sim.tasks() == []
    sim.advance(timedelta(days=30))
    assert len(sim.tasks()) == 1


def test_contract_renewal_is_cancelled_when_the_contract_is_deleted(sim: Simulation) -> None:
    sim.create("Contract", {"title": "Support", "ends_on": "2026-05-01", "owner": "sam@spec.test"}, "c1")
    sim.delete("c1")
    sim.advance(timedelta(days=90))
    assert sim.tasks() == []


def test_no_call_yet_fires_once_after_an_hour_in_new(sim: Simulation) -> None:
    sim.create("Lead", {"name": "Lena", "owner": "sam@spec.test"}, "l1")
    sim.advance(timedelta(minutes=59))
    assert sim.notifications() == []
    sim.advance(timedelta(hours=5))
    [note] = sim.notifications()
    assert note["text"] == "Lead Lena has waited an hour without a call"


def test_no_call_yet_does_not_fire_when_the_lead_moved_on(sim: Simulation) -> None:
    sim.create("Lead", {"name": "Lena", "owner": "sam@spec.test"}, "l1")
    sim.advance(timedelta(minutes=30))
    sim.move("l1", "contacted")
    sim.advance(timedelta(hours=2))
    assert sim.notifications() == []


def test_monday_digest_notifies_owners_of_deals_in_negotiation_at_nine(sim: Simulation) -> None:
    sim.create("Deal", {"title": "A", "amount": 1, "stage": "negotiation", "owner": "sam@spec.test"}, "a")
    sim.create("Deal", {"title": "B", "amount": 1, "stage": "new", "owner": "sam@spec.test"}, "b")
    sim.advance(timedelta(days=6, hours=23))  # Sunday 08:00
    assert sim.notifications() == []
    sim.advance(timedelta(hours=2))  # Monday 10:00
    [note] = sim.notifications()
    assert note["text"].startswith("Deal A has been in negotiation since 2026-03-02T09:00")


def test_website_form_creates_a_lead_and_assigns_it(sim: Simulation) -> None:
    sim.submit("website", {"full_name": "Wanda", "phone": "+10000000009"})
    leads = sim.store().list("Lead").records
    created = [lead for lead in leads if lead["source"] == "website"]
    assert [lead["name"] for lead in created] == ["Wanda"]
    assert sim.emails()[created[0]["owner"]] in ("sam@spec.test", "sara@spec.test")


def test_repeat_sale_creates_the_next_deal_and_a_task_due_in_90_days(sim: Simulation) -> None:
    _ann(sim)
    sim.create("Deal", {"title": "Sofa", "amount": 10, "contact": "ann", "owner": "sam@spec.test"}, "d1")
    sim.move("d1", "won")
    titles = sorted(d["title"] for d in sim.store().list("Deal").records)
    assert titles == ["Repeat: Sofa", "Sofa"]
    [task] = sim.tasks()
    assert task["title"] == "Offer a refill to Ann"
