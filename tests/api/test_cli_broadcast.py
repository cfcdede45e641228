"""``stagecraft broadcast send|list`` and the scenario step ``broadcast:``: output, counts, and every
bad input as one line with exit 1 and nothing saved — on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from api.cli import app
from metamodel import apply_blueprint
from metamodel.blueprint import parse_blueprint
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import broadcasts, messages

CONTACTS = """
entities:
  Contact:
    fields:
      name: {type: string, required: true}
      email: {type: email}
      tags: {type: tags}
      unsubscribed: {type: boolean, default: false}
"""


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command line on the test's database, with no SMTP server (messages are recorded)."""
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", db_url)
    monkeypatch.delenv("STAGECRAFT_SMTP_URL", raising=False)
    return CliRunner()


@pytest.fixture
def contacts(engine: Engine, workspace: str) -> str:
    apply_blueprint(engine, parse_blueprint(CONTACTS), workspace)
    store = RecordStore(engine, load_workspace_meta(engine, workspace))
    store.create("Contact", {"name": "Ann", "email": "ann@example.com", "tags": ["buyer", "vip"]})
    store.create("Contact", {"name": "Bob", "email": "bob@example.com", "tags": ["buyer"],
                             "unsubscribed": True})
    store.create("Contact", {"name": "Cid", "email": "cid@example.com", "tags": ["seller"]})
    return workspace


def send(cli: CliRunner, workspace: str, *extra: str) -> Result:
    return cli.invoke(app, ["broadcast", "send", "-w", workspace, "-e", "Contact", "-c", "email",
                            "-s", "News for {name}", "-b", "Hello {name}", *extra])


def saved(engine: Engine, workspace: str, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(
            table.c.workspace == workspace)).scalar_one())


def test_send_queues_the_broadcast_and_prints_its_id(cli: CliRunner, contacts: str, engine: Engine) -> None:
    result = send(cli, contacts, "--where", '{"tags": {"hasAny": ["vip"]}}')
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("broadcast ") and "queued: email to Contact records of the segment" in \
        result.stdout
    assert saved(engine, contacts, broadcasts) == 1
    assert saved(engine, contacts, messages) == 0  # the runners send it, not the command


def test_send_with_deliver_sends_now_and_prints_the_counts(cli: CliRunner, contacts: str,
                                                           engine: Engine) -> None:
    result = send(cli, contacts, "--where", '{"tags": {"hasAny": ["buyer"]}}', "--deliver")
    assert result.exit_code == 0, result.output
    assert "done: 2 recipients, 1 sent, 1 skipped, 0 failed" in result.stdout
    assert saved(engine, contacts, messages) == 1


def test_list_shows_the_broadcasts_with_their_counts(cli: CliRunner, contacts: str) -> None:
    send(cli, contacts, "--deliver")
    result = cli.invoke(app, ["broadcast", "list", "-w", contacts])
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split() == ["id", "entity", "channel", "status", "recipients", "sent", "skipped", "failed",
                              "created"]
    assert row.split()[1:8] == ["Contact", "email", "done", "3", "2", "1", "0"]


def test_list_of_a_workspace_without_broadcasts_says_so(cli: CliRunner, contacts: str) -> None:
    result = cli.invoke(app, ["broadcast", "list", "-w", contacts])
    assert result.stdout.strip() == f"workspace {contacts}: no broadcasts"


@pytest.mark.parametrize(("extra", "words"), [
    (["--where", '{"tags":'], "--where is not JSON"),
    (["--where", "[1, 2]"], "must be a JSON object"),
    (["--where", '{"tagz": {"hasAny": ["vip"]}}'], 'where.tagz: Contact has no field "tagz"'),
    (["--to", "mobile"], 'to: E_UNKNOWN_FIELD Contact has no field "mobile"'),
    (["--opt-out", "name"], "optOut: Contact.name is string"),
])
def test_a_bad_broadcast_is_one_line_exit_1_and_nothing_saved(cli: CliRunner, contacts: str, engine: Engine,
                                                              extra: list[str], words: str) -> None:
    result = send(cli, contacts, *extra)
    assert result.exit_code == 1
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert saved(engine, contacts, broadcasts) == 0


def test_an_empty_body_and_a_bad_template_are_named_together(cli: CliRunner, contacts: str) -> None:
    result = cli.invoke(app, ["broadcast", "send", "-w", contacts, "-e", "Contact", "-c", "email",
                              "-s", "Hi {nmae}", "-b", " "])
    assert result.exit_code == 1
    assert "body: the message is empty" in result.stderr and 'did you mean "name"' in result.stderr


def test_an_unknown_workspace_is_one_line(cli: CliRunner, contacts: str) -> None:
    result = send(cli, "nowhere")
    assert result.exit_code == 1 and "nowhere" in result.stderr and "Traceback" not in result.output


SCENARIO = """
start: "2026-03-02T09:00:00Z"
steps:
  - create: Contact
    values: {name: Ann, email: ann@example.com, tags: [buyer, vip]}
  - create: Contact
    values: {name: Bob, email: bob@example.com, tags: [buyer], unsubscribed: true}
  - create: Contact
    values: {name: Cid, email: cid@example.com, tags: [buyer]}
  - broadcast: Contact
    where: {tags: {hasAll: [buyer, vip]}}
    channel: email
    subject: "Just for you, {name}"
    body: "Hello {name}"
  - expect: {messages: 1, last_message: {to: ann@example.com, subject: "Just for you, Ann"}}
  - broadcast: Contact
    where: {tags: {hasAny: [buyer]}}
    channel: email
    subject: "News"
    body: "Hello {name}"
  - expect: {messages: 3, last_message: {to: cid@example.com}}
"""


def test_a_scenario_broadcasts_to_a_segment_and_expects_its_messages(tmp_path: Path,
                                                                     runner: CliRunner) -> None:
    (tmp_path / "blueprint.yaml").write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "scenario.yaml").write_text(SCENARIO, encoding="utf-8")
    result = runner.invoke(app, ["simulate", str(tmp_path), "--scenario", str(tmp_path / "scenario.yaml")])
    assert result.exit_code == 0, result.output
    assert "broadcast done" in result.stdout and "reason=opted out (unsubscribed)" in result.stdout


def test_a_scenario_broadcast_naming_a_missing_field_stops_with_its_place(tmp_path: Path,
                                                                          runner: CliRunner) -> None:
    (tmp_path / "blueprint.yaml").write_text(CONTACTS, encoding="utf-8")
    bad = SCENARIO.replace("{tags: {hasAny: [buyer]}}", "{tagz: {hasAny: [buyer]}}")
    (tmp_path / "scenario.yaml").write_text(bad, encoding="utf-8")
    result = runner.invoke(app, ["simulate", str(tmp_path), "--scenario", str(tmp_path / "scenario.yaml")])
    assert result.exit_code == 1
    assert 'scenario.yaml:16 WF_BAD_BROADCAST where.tagz: Contact has no field "tagz"' in result.stderr


def sent_id(result: Result) -> str:
    """The broadcast id ``send`` printed."""
    return result.stdout.split()[1]


def test_show_names_each_skipped_record_and_why(cli: CliRunner, contacts: str) -> None:
    broadcast = sent_id(send(cli, contacts, "--deliver"))
    result = cli.invoke(app, ["broadcast", "show", broadcast, "-w", contacts])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].endswith("done: 3 recipients, 2 sent, 1 skipped, 0 failed")
    assert "  subject: News for {name}" in lines and "  body: Hello {name}" in lines
    [skipped] = [line for line in lines if line.startswith("  Contact ")]
    assert skipped.endswith(" skipped: opted out (unsubscribed)")


def test_show_all_lists_every_recipient(cli: CliRunner, contacts: str) -> None:
    broadcast = sent_id(send(cli, contacts, "--deliver"))
    result = cli.invoke(app, ["broadcast", "show", broadcast, "-w", contacts, "--all"])
    assert [line.split()[2] for line in result.stdout.splitlines() if line.startswith("  Contact ")] == [
        "recorded", "skipped:", "recorded"]


def test_show_of_an_unknown_broadcast_is_one_line(cli: CliRunner, contacts: str) -> None:
    result = cli.invoke(app, ["broadcast", "show", "999999999", "-w", contacts])
    assert result.exit_code == 1
    assert result.stderr.strip() == "WF_BROADCAST_NOT_FOUND broadcast 999999999 does not exist"
