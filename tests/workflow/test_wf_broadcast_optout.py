"""Broadcasts never reach people who opted out: through references, at send time, after a failure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metamodel.clock import ManualClock
from metamodel.migrate import apply_blueprint_path
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import messages
from workflow import (
    BroadcastInvalid,
    BroadcastSpec,
    Runtime,
    WorkflowConfig,
    create_broadcast,
    list_recipients,
)
from workflow import broadcasts_run as run

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BLUEPRINT = """
workspace: optout
entities:
  Customer:
    fields:
      name: {type: string, required: true}
      email: {type: email}
      phone: {type: phone}
      unsubscribed: {type: boolean, default: false}
      no_mail: {type: boolean, default: false}
  Order:
    fields:
      number: {type: string, required: true}
      customer: {type: reference, to: Customer}
"""
CUSTOMERS = [("Ann", False, False), ("Bob", True, False), ("Cid", False, True)]  # name, unsubscribed, no_mail


class Shop:
    """A workspace with one order per customer; ``runtime`` on a manual clock, ``store`` to change it."""

    def __init__(self, engine: Engine, workspace: str) -> None:
        self.clock = ManualClock(START)
        self.runtime = Runtime(engine, self.clock, WorkflowConfig(), workspace=workspace)
        self.store = RecordStore(engine, load_workspace_meta(engine, workspace), self.clock)
        self.workspace = workspace
        self.customers: dict[str, int] = {}
        for name, unsubscribed, no_mail in CUSTOMERS:
            customer = self.store.create("Customer", {"name": name, "email": f"{name.lower()}@x.test",
                                                      "phone": "+15550100", "unsubscribed": unsubscribed,
                                                      "no_mail": no_mail})
            self.customers[name] = customer["id"]
            self.store.create("Order", {"number": f"N-{name}", "customer": customer["id"]})

    def create(self, **values: Any) -> int:
        fields: dict[str, Any] = {"entity": "Customer", "channel": "email", "subject": "Hi {name}",
                                  "body": "Hello"} | values
        return create_broadcast(self.runtime, self.workspace, BroadcastSpec(**fields)).id

    def reasons(self, broadcast_id: int) -> dict[int, tuple[str, str | None]]:
        return {r.record_id: (r.status, r.reason) for r in list_recipients(
            self.runtime.engine, self.workspace, broadcast_id)}

    def delivered(self) -> list[str]:
        """Addresses of messages handed over (or recorded): not those skipped before sending."""
        with self.runtime.engine.connect() as conn:
            return sorted(conn.execute(sa.select(messages.c.recipient).where(
                messages.c.workspace == self.workspace,
                messages.c.status.in_(("sent", "recorded")))).scalars())


@pytest.fixture
def shop(engine: Engine, workspace: str, tmp_path: Path) -> Shop:
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
    apply_blueprint_path(engine, tmp_path, workspace)
    return Shop(engine, workspace)


def order_mail(**values: Any) -> dict[str, Any]:
    return {"entity": "Order", "subject": "Order {number}", "to": "customer.email"} | values


def refused(shop: Shop, **values: Any) -> dict[str, str]:
    with pytest.raises(BroadcastInvalid) as caught:
        shop.create(**values)
    found: dict[str, str] = {}
    for place, reason in caught.value.problems:
        found[place] = f"{found[place]} | {reason}" if place in found else reason
    return found


# ---- opt-out through the address's record ---------------------------------------------------------

def test_an_unsubscribed_customer_gets_no_mail_sent_to_their_order(shop: Shop) -> None:
    broadcast = shop.create(**order_mail())
    run.run_broadcasts(shop.runtime, broadcast)
    assert shop.delivered() == ["ann@x.test", "cid@x.test"]
    assert ("skipped", "opted out (customer.unsubscribed)") in shop.reasons(broadcast).values()


def test_an_opt_out_through_a_reference_applies_besides_unsubscribed(shop: Shop) -> None:
    broadcast = shop.create(**order_mail(opt_out="customer.no_mail"))
    done = run.run_broadcasts(shop.runtime, broadcast)
    assert shop.delivered() == ["ann@x.test"]
    assert (done.status, done.sent, done.skipped) == ("done", 1, 2)


def test_a_named_opt_out_on_the_own_entity_keeps_unsubscribed(shop: Shop) -> None:
    broadcast = shop.create(opt_out="no_mail")
    run.run_broadcasts(shop.runtime, broadcast)
    assert shop.delivered() == ["ann@x.test"]


@pytest.mark.parametrize(("opt_out", "words"), [
    ("customer.no_mial", 'Customer has no field "no_mial" — did you mean "no_mail"?'),
    ("customer.name", "Customer.name is string; the opt-out field must be a boolean"),
    ("number.unsubscribed", "each name before the last must be a reference"),
    ("customer..x", "is not a field path"),
])
def test_a_bad_opt_out_path_is_refused_with_its_place(shop: Shop, opt_out: str, words: str) -> None:
    assert words in refused(shop, **order_mail(opt_out=opt_out))["optOut"]


# ---- the address field must fit the channel -------------------------------------------------------

@pytest.mark.parametrize(("channel", "to", "words"), [
    ("sms", "name", "Customer.name is string; sms is sent to a phone field"),
    ("whatsapp", "email", "Customer.email is email; whatsapp is sent to a phone field"),
    ("email", "phone", "Customer.phone is phone; email is sent to an email field"),
    ("email", "unsubscribed", "Customer.unsubscribed is boolean"),
])
def test_an_address_field_of_another_type_than_the_channel_is_refused(shop: Shop, channel: str, to: str,
                                                                       words: str) -> None:
    subject = "Hi" if channel == "email" else None
    assert words in refused(shop, channel=channel, to=to, subject=subject)["to"]


def test_a_phone_through_a_reference_is_accepted_for_sms(shop: Shop) -> None:
    broadcast = shop.create(entity="Order", channel="sms", to="customer.phone", subject=None, body="{number}")
    assert run.run_broadcasts(shop.runtime, broadcast).sent == 2


# ---- checked again when sent -----------------------------------------------------------------------

def queued_then(shop: Shop, change: Callable[[], object]) -> dict[int, tuple[str, str | None]]:
    """Expand a broadcast to every customer, apply ``change``, then deliver; the recipients after."""
    broadcast = shop.create()
    while run.expand_next(shop.runtime):
        pass
    change()
    done = run.run_broadcasts(shop.runtime, broadcast)
    assert done.status == "done" and done.queued == 0
    return shop.reasons(broadcast)


def test_a_person_who_unsubscribes_after_queueing_is_not_sent(shop: Shop) -> None:
    ann = shop.customers["Ann"]
    reasons = queued_then(shop, lambda: shop.store.update("Customer", ann, {"unsubscribed": True}))
    assert reasons[ann] == ("skipped", "opted out (unsubscribed)")
    assert shop.delivered() == ["cid@x.test"]


def test_a_record_deleted_after_queueing_is_not_sent(shop: Shop) -> None:
    ann = shop.customers["Ann"]
    reasons = queued_then(shop, lambda: shop.store.delete("Customer", ann))
    assert reasons[ann] == ("skipped", "the record was deleted since the broadcast was queued")
    assert shop.delivered() == ["cid@x.test"]


def test_an_address_changed_after_queueing_is_not_sent_to_either_address(shop: Shop) -> None:
    ann = shop.customers["Ann"]
    reasons = queued_then(shop, lambda: shop.store.update("Customer", ann, {"email": "new@x.test"}))
    assert reasons[ann] == ("skipped", "address changed since the broadcast was queued")
    assert shop.delivered() == ["cid@x.test"]


def test_records_unchanged_since_queueing_are_sent(shop: Shop) -> None:
    reasons = queued_then(shop, lambda: None)
    assert sorted(status for status, _ in reasons.values()) == ["recorded", "recorded", "skipped"]


def test_skips_at_send_time_are_counted(shop: Shop) -> None:
    ann = shop.customers["Ann"]
    broadcast = shop.create()
    while run.expand_next(shop.runtime):
        pass
    shop.store.update("Customer", ann, {"unsubscribed": True})
    done = run.run_broadcasts(shop.runtime, broadcast)
    assert (done.recipients, done.sent, done.skipped, done.failed) == (3, 1, 2, 0)


# ---- a failed broadcast stops ----------------------------------------------------------------------

def test_a_failed_broadcast_skips_its_queued_recipients_and_sends_nothing_more(
        shop: Shop, engine: Engine, tmp_path: Path) -> None:
    broadcast = shop.create(body="Hello {no_mail}")
    run.expand_next(shop.runtime, batch=1)  # one recipient queued, the broadcast still expanding
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT.replace(
        "      no_mail: {type: boolean, default: false}\n", ""), encoding="utf-8")
    apply_blueprint_path(engine, tmp_path, shop.workspace)
    done = run.run_broadcasts(shop.runtime, broadcast)
    assert (done.status, done.sent, done.skipped, done.queued) == ("failed", 0, 1, 0)
    reason = shop.reasons(broadcast)[shop.customers["Ann"]]
    assert reason[0] == "skipped" and (reason[1] or "").startswith("the broadcast failed: ")
    assert shop.delivered() == []
