"""Broadcasts: segments, opt-outs, skipped addresses and one message per recipient, on both databases."""

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
from metamodel.storage.system_tables import broadcast_recipients, broadcasts, messages
from workflow import (
    BroadcastInvalid,
    BroadcastNotFound,
    BroadcastSpec,
    Runtime,
    WorkflowConfig,
    create_broadcast,
    drain,
    get_broadcast,
    list_broadcasts,
    list_recipients,
)
from workflow import broadcasts_run as run

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BLUEPRINT = """
workspace: broadcasts
entities:
  Company:
    fields:
      name: {type: string}
  Contact:
    fields:
      name: {type: string, required: true}
      email: {type: email}
      phone: {type: phone}
      tags: {type: tags}
      unsubscribed: {type: boolean, default: false}
      no_mail: {type: boolean, default: false}
      company: {type: reference, to: Company}
"""
PEOPLE = [  # name, email, tags, unsubscribed
    ("Ann", "ann@example.com", ["buyer", "vip"], False),
    ("Bob", "bob@example.com", ["buyer"], False),
    ("Cid", "cid@example.com", ["seller"], False),
    ("Dee", "dee@example.com", ["buyer", "vip"], True),
    ("Eve", None, ["buyer"], False),
]

MakeRuntime = Callable[..., Runtime]


@pytest.fixture
def make_runtime(engine: Engine, workspace: str, tmp_path: Path) -> MakeRuntime:
    """The Contact workspace with PEOPLE in it; runtimes on a manual clock (``config`` for SMTP)."""
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
    apply_blueprint_path(engine, tmp_path, workspace)
    clock = ManualClock(START)
    store = RecordStore(engine, load_workspace_meta(engine, workspace), clock)
    acme = store.create("Company", {"name": "Acme"})
    for name, email, tags, unsubscribed in PEOPLE:
        store.create("Contact", {"name": name, "email": email, "tags": tags, "unsubscribed": unsubscribed,
                                 "company": acme["id"]})

    def make(config: WorkflowConfig | None = None) -> Runtime:
        return Runtime(engine, clock, config or WorkflowConfig(), workspace=workspace)

    return make


def email(where: dict[str, Any] | None = None, **extra: Any) -> BroadcastSpec:
    values: dict[str, Any] = {"subject": "News for {name}", "body": "Hello {name} of {company.name}"}
    return BroadcastSpec(entity="Contact", channel="email", where=where, **(values | extra))


def sent_to(runtime: Runtime) -> list[str]:
    with runtime.engine.connect() as conn:
        return sorted(conn.execute(sa.select(messages.c.recipient).where(
            messages.c.workspace == runtime.workspace)).scalars())


def rows(runtime: Runtime, table: sa.Table) -> list[dict[str, Any]]:
    with runtime.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).where(
            table.c.workspace == runtime.workspace).order_by(table.c.id)).mappings()]


def test_any_of_tags_segment_reaches_every_record_with_one_of_them(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    create_broadcast(runtime, runtime.workspace or "", email({"tags": {"hasAny": ["vip", "seller"]}}))
    drain(runtime)
    assert sent_to(runtime) == ["ann@example.com", "cid@example.com"]  # Dee is vip but opted out


def test_all_of_tags_segment_reaches_only_records_with_every_tag(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    create_broadcast(runtime, runtime.workspace or "", email({"tags": {"hasAll": ["buyer", "vip"]}}))
    drain(runtime)
    assert sent_to(runtime) == ["ann@example.com"]


def test_messages_are_written_from_the_record_like_send_steps(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    create_broadcast(runtime, runtime.workspace or "", email({"name": {"eq": "Ann"}}))
    drain(runtime)
    [message] = rows(runtime, messages)
    assert (message["subject"], message["body"]) == ("News for Ann", "Hello Ann of Acme")
    assert message["entity"] == "Contact" and message["status"] == "recorded"


def test_opted_out_records_are_skipped_and_counted(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    row = create_broadcast(runtime, runtime.workspace or "", email({"name": {"eq": "Dee"}}))
    drain(runtime)
    done = get_broadcast(runtime.engine, runtime.workspace or "", row.id)
    assert (done.status, done.recipients, done.sent, done.skipped) == ("done", 1, 0, 1)
    assert [r["reason"] for r in rows(runtime, broadcast_recipients)] == ["opted out (unsubscribed)"]
    assert sent_to(runtime) == []


def test_records_without_an_address_are_skipped_and_counted(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    row = create_broadcast(runtime, runtime.workspace or "", email({"name": {"eq": "Eve"}}))
    drain(runtime)
    done = get_broadcast(runtime.engine, runtime.workspace or "", row.id)
    assert (done.skipped, done.sent) == (1, 0)
    assert [r["reason"] for r in rows(runtime, broadcast_recipients)] == ["no address in email"]


def test_a_named_opt_out_field_applies_besides_unsubscribed(make_runtime: MakeRuntime,
                                                          engine: Engine) -> None:
    runtime = make_runtime()
    store = RecordStore(engine, load_workspace_meta(engine, runtime.workspace or ""), runtime.clock)
    bob = store.list("Contact", where={"name": {"eq": "Bob"}}).records[0]
    store.update("Contact", bob["id"], {"no_mail": True})
    segment = {"name": {"in": ["Ann", "Bob", "Dee"]}}
    create_broadcast(runtime, runtime.workspace or "", email(segment, opt_out="no_mail"))
    drain(runtime)
    assert sent_to(runtime) == ["ann@example.com"]


def test_whole_entity_without_where_counts_every_record(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    row = create_broadcast(runtime, runtime.workspace or "", email())
    drain(runtime)
    done = get_broadcast(runtime.engine, runtime.workspace or "", row.id)
    assert (done.recipients, done.sent, done.skipped, done.failed, done.queued) == (5, 3, 2, 0, 0)


def test_camel_case_field_names_in_where_are_accepted(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    store = RecordStore(runtime.engine, load_workspace_meta(runtime.engine, runtime.workspace or ""))
    ann = store.list("Contact", where={"name": {"eq": "Ann"}}).records[0]
    store.update("Contact", ann["id"], {"no_mail": True})
    create_broadcast(runtime, runtime.workspace or "", email({"noMail": {"eq": True}}))
    drain(runtime)
    assert sent_to(runtime) == ["ann@example.com"]


def test_a_segment_may_follow_references(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    create_broadcast(runtime, runtime.workspace or "", email({"company": {"name": {"startsWith": "Ac"}},
                                                              "name": {"in": ["Bob"]}}))
    drain(runtime)
    assert sent_to(runtime) == ["bob@example.com"]


def test_expansion_repeated_from_the_start_queues_no_second_message(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    row = create_broadcast(runtime, runtime.workspace or "", email())
    drain(runtime)
    with runtime.engine.begin() as conn:  # as if the cursor had been lost: expand everything again
        conn.execute(sa.update(broadcasts).where(broadcasts.c.id == row.id)
                     .values(status="expanding", last_record_id=None))
    drain(runtime)
    assert len(sent_to(runtime)) == 3
    assert len(rows(runtime, broadcast_recipients)) == 5


def test_a_crash_inside_a_batch_loses_the_whole_batch_and_the_retry_sends_once(
        make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime()
    create_broadcast(runtime, runtime.workspace or "", email())
    assert run.expand_next(runtime, batch=2) == 2  # the first two records, committed
    real = run._recipients

    def crash_after_writing(*args: Any) -> tuple[int, int]:
        real(*args)
        raise SystemExit("the process died")  # not an error of the broadcast: nothing marks it failed

    monkeypatch.setattr(run, "_recipients", crash_after_writing)
    with pytest.raises(SystemExit):
        run.expand_next(runtime, batch=2)
    assert len(rows(runtime, broadcast_recipients)) == 2  # the crashed batch left nothing
    monkeypatch.undo()
    drain(runtime)
    assert sent_to(runtime) == ["ann@example.com", "bob@example.com", "cid@example.com"]


def test_a_broadcast_that_breaks_while_expanding_fails_and_the_next_one_goes_on(
        make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = make_runtime()
    broken = create_broadcast(runtime, runtime.workspace or "", email())
    fine = create_broadcast(runtime, runtime.workspace or "", email())
    real = run._recipients

    def bad_data_once(conn: Any, *args: Any) -> tuple[int, int]:
        if args[0]["id"] == broken.id:
            raise ValueError("a value the driver refused")
        return real(conn, *args)

    monkeypatch.setattr(run, "_recipients", bad_data_once)
    drain(runtime)

    assert get_broadcast(runtime.engine, runtime.workspace or "", broken.id).status == "failed"
    assert "a value the driver refused" in (get_broadcast(runtime.engine, runtime.workspace or "",
                                                          broken.id).error or "")
    assert get_broadcast(runtime.engine, runtime.workspace or "", fine.id).status == "done"
    assert len(sent_to(runtime)) == 3


def test_every_message_key_names_the_broadcast_and_the_record(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    row = create_broadcast(runtime, runtime.workspace or "", email({"name": {"eq": "Ann"}}))
    drain(runtime)
    [message] = rows(runtime, messages)
    assert message["idempotency_key"] == f"broadcast:{row.id}:{message['record_id']}"


def test_list_shows_the_newest_first_and_filters_by_entity(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    first = create_broadcast(runtime, runtime.workspace or "", email())
    second = create_broadcast(runtime, runtime.workspace or "", email({"name": {"eq": "Ann"}}))
    workspace = runtime.workspace or ""
    assert [b.id for b in list_broadcasts(runtime.engine, workspace)] == [second.id, first.id]
    assert list_broadcasts(runtime.engine, workspace, entities=["Company"]) == []


def test_recipients_list_each_record_with_its_status_and_reason(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    row = create_broadcast(runtime, runtime.workspace or "", email({"tags": {"hasAny": ["buyer"]}}))
    drain(runtime)
    found = list_recipients(runtime.engine, runtime.workspace or "", row.id)
    assert [(r.status, r.reason) for r in found] == [
        ("recorded", None), ("recorded", None), ("skipped", "opted out (unsubscribed)"),
        ("skipped", "no address in email")]
    skipped = list_recipients(runtime.engine, runtime.workspace or "", row.id, statuses=["skipped"])
    assert len(skipped) == 2


def test_another_workspaces_broadcast_is_not_found(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    row = create_broadcast(runtime, runtime.workspace or "", email())
    with pytest.raises(BroadcastNotFound):
        list_recipients(runtime.engine, "elsewhere", row.id)
    with pytest.raises(BroadcastNotFound):
        get_broadcast(runtime.engine, "elsewhere", row.id)


def test_a_field_removed_by_a_later_apply_fails_the_broadcast_instead_of_sending_blanks(
        make_runtime: MakeRuntime, engine: Engine, tmp_path: Path) -> None:
    runtime = make_runtime()
    row = create_broadcast(runtime, runtime.workspace or "", email(body="Hello {name} of {company.name}"))
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT.replace(
        "      company: {type: reference, to: Company}\n", ""), encoding="utf-8")
    apply_blueprint_path(engine, tmp_path, runtime.workspace or "")
    drain(runtime)
    failed = get_broadcast(runtime.engine, runtime.workspace or "", row.id)
    assert failed.status == "failed" and 'Contact has no field "company"' in (failed.error or "")
    assert sent_to(runtime) == []


def test_an_apply_that_keeps_what_it_reads_lets_the_broadcast_go_on(make_runtime: MakeRuntime, engine: Engine,
                                                                     tmp_path: Path) -> None:
    runtime = make_runtime()
    row = create_broadcast(runtime, runtime.workspace or "", email())
    (tmp_path / "blueprint.yaml").write_text(BLUEPRINT + "      notes: {type: text}\n", encoding="utf-8")
    apply_blueprint_path(engine, tmp_path, runtime.workspace or "")
    drain(runtime)
    assert get_broadcast(runtime.engine, runtime.workspace or "", row.id).status == "done"
    assert len(sent_to(runtime)) == 3


# ---- bad input: every problem named, nothing saved ----------------------------------------------

BAD = [
    (BroadcastSpec(entity="Contct", channel="email", subject="s", body="b"), "entity", "Contact"),
    (email({"tagz": {"hasAny": ["vip"]}}), "where.tagz", 'did you mean "tags"'),
    (email({"tags": {"gt": 3}}), "where.tags.gt", "gt"),
    (BroadcastSpec(entity="Company", channel="email", subject="s", body="b"), "to", "no email field"),
    (email(body="  "), "body", "empty"),
    (email(subject=None), "subject", "needs a subject"),
    (email(body="Hi {nmae}"), "body", 'did you mean "name"'),
    (email(subject="Hi {company.nam}"), "subject", "Company has no field"),
    (email(body="Hi {name"), "body", "E_BAD_INTERPOLATION"),
    (email(to="phone_number"), "to", "E_UNKNOWN_FIELD"),
    (email(opt_out="name"), "optOut", "must be a boolean"),
    (BroadcastSpec(entity="Contact", channel="fax", body="b"), "channel", "unknown channel"),
    (BroadcastSpec(entity="Contact", channel="sms", subject="s", body="b"), "subject", "no subject"),
]


@pytest.mark.parametrize(("spec", "place", "words"), BAD)
def test_bad_broadcast_is_refused_with_its_place_and_nothing_saved(
        make_runtime: MakeRuntime, spec: BroadcastSpec, place: str, words: str) -> None:
    runtime = make_runtime()
    with pytest.raises(BroadcastInvalid) as refused:
        create_broadcast(runtime, runtime.workspace or "", spec)
    assert refused.value.code == "WF_BAD_BROADCAST"
    assert any(p == place and words in reason for p, reason in refused.value.problems), refused.value.problems
    assert rows(runtime, broadcasts) == []


def test_every_problem_is_reported_at_once(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    with pytest.raises(BroadcastInvalid) as refused:
        create_broadcast(runtime, runtime.workspace or "",
                         email({"tagz": {"hasAny": ["a"]}}, subject="Hi {nme}", body="{company.nam}"))
    assert [p for p, _ in refused.value.problems] == ["where.tagz", "subject", "body"]
