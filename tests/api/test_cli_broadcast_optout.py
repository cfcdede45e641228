"""``stagecraft broadcast``: a broadcast to orders skips unsubscribed customers, ``show`` names every
opt-out applied, and an address field of the wrong type is refused — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from api.cli import app
from metamodel import apply_blueprint
from metamodel.blueprint import parse_blueprint
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta

SHOP = """
entities:
  Customer:
    fields:
      name: {type: string, required: true}
      email: {type: email}
      unsubscribed: {type: boolean, default: false}
  Order:
    fields:
      title: {type: string, required: true}
      customer: {type: reference, to: Customer}
"""


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", db_url)
    monkeypatch.delenv("STAGECRAFT_SMTP_URL", raising=False)
    return CliRunner()


@pytest.fixture
def shop(engine: Engine, workspace: str) -> str:
    """One order of an unsubscribed customer, one of a subscribed one."""
    apply_blueprint(engine, parse_blueprint(SHOP), workspace)
    store = RecordStore(engine, load_workspace_meta(engine, workspace))
    for name, unsubscribed in (("Ann", False), ("Bob", True)):
        customer = store.create("Customer", {"name": name, "email": f"{name.lower()}@x.test",
                                             "unsubscribed": unsubscribed})
        store.create("Order", {"title": f"Order of {name}", "customer": customer["id"]})
    return workspace


def send(cli: CliRunner, workspace: str, *extra: str) -> Result:
    return cli.invoke(app, ["broadcast", "send", "-w", workspace, "-e", "Order", "-b", "About {title}",
                            *extra])


def test_a_broadcast_to_orders_skips_the_unsubscribed_customer(cli: CliRunner, shop: str) -> None:
    result = send(cli, shop, "-c", "email", "-s", "Hi", "--to", "customer.email", "--deliver")
    assert result.exit_code == 0, result.output
    assert "done: 2 recipients, 1 sent, 1 skipped, 0 failed" in result.stdout


def test_show_names_the_opt_out_of_the_address_record(cli: CliRunner, shop: str) -> None:
    send(cli, shop, "-c", "email", "-s", "Hi", "--to", "customer.email", "--deliver")
    listed = cli.invoke(app, ["broadcast", "list", "-w", shop])
    broadcast_id = listed.stdout.splitlines()[1].split()[0]
    shown = cli.invoke(app, ["broadcast", "show", broadcast_id, "-w", shop])
    assert "email to Order.customer.email, opt-out customer.unsubscribed" in shown.stdout
    assert "skipped: opted out (customer.unsubscribed)" in shown.stdout


def test_an_sms_to_a_name_field_is_refused_with_the_place_to(cli: CliRunner, shop: str) -> None:
    result = send(cli, shop, "-c", "sms", "--to", "title")
    assert result.exit_code == 1
    assert "to: Order.title is string; sms is sent to a phone field" in result.output


def test_messages_only_recorded_are_said_to_be(cli: CliRunner, shop: str) -> None:
    result = send(cli, shop, "-c", "email", "-s", "Hi", "--to", "customer.email", "--deliver")
    assert "  1 of the sent only recorded: no provider for email" in result.stdout.splitlines()
