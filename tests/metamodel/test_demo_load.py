"""Loading the demo (metamodel.demo) on SQLite and PostgreSQL: real records with months of stage
history, funnel-shaped counts, no automation run for the back-dated events but the usual runs for
what happens afterwards, and a second load that changes nothing."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from metamodel import load_workspace_meta
from metamodel.clock import ManualClock
from metamodel.db import create_engine_for
from metamodel.demo import (
    DemoAlreadyLoaded,
    DemoError,
    DemoResult,
    clear_records,
    existing_records,
    load_demo,
)
from metamodel.demo_data import DemoSize
from metamodel.records import RecordStore
from metamodel.storage.system_tables import outbox, stage_history, users, wf_instances
from metamodel.tokens import create_token, resolve_token
from workflow import Runtime, drain

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "online-store" / "blueprint.yaml"
TINY = DemoSize(customers=20, products=6, orders=80)
OPEN_STAGES = ("cart", "ordered", "awaiting_payment", "paid", "repeat")
SEEN = 'automation "Seen"\nwhen Order created\ndo\n  set comment = "seen"\nend\n'


def write_store_blueprint(folder: Path) -> Path:
    """The online-store blueprint with one automation of ours that every new order triggers."""
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["automations"] = ["seen.craft"]
    (folder / "blueprint.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    (folder / "seen.craft").write_text(SEEN, encoding="utf-8")
    return folder


@pytest.fixture
def store_blueprint(tmp_path: Path) -> Path:
    return write_store_blueprint(tmp_path)


@dataclass(frozen=True)
class Loaded:
    engine: Engine
    workspace: str
    now: datetime
    result: DemoResult


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """One demo per dialect, loaded once for the tests that only read it."""
    folder = tmp_path_factory.mktemp("demo")
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), folder / "demo.db")
        url = f"sqlite:///{folder / 'demo.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    engine = create_engine_for(url)
    workspace, now = f"t{uuid.uuid4().hex[:12]}", datetime.now(UTC)
    yield Loaded(engine, workspace, now, load(engine, write_store_blueprint(folder), workspace, now))
    engine.dispose()


def load(engine: Engine, blueprint: Path, workspace: str, now: datetime, seed: int = 5) -> DemoResult:
    return load_demo(engine, blueprint, workspace=workspace, seed=seed, size=TINY, now=now)


def history(engine: Engine, workspace: str) -> list[sa.Row[tuple[int, str, datetime, datetime | None]]]:
    h = stage_history.c
    with engine.connect() as conn:
        return list(conn.execute(sa.select(h.record_id, h.stage, h.entered_at, h.left_at).where(
            h.workspace == workspace, h.entity == "Order")))


def test_the_demo_makes_the_asked_records(loaded: Loaded) -> None:
    store = RecordStore(loaded.engine, load_workspace_meta(loaded.engine, loaded.workspace))
    assert {e: store.count(e) for e in ("Customer", "Product", "Order")} == {
        "Customer": 20, "Product": 6, "Order": 80}
    assert loaded.result.counts == {"Product": 6, "Customer": 20, "Order": 80}
    assert sum(loaded.result.stages.values()) == 80


def test_stage_history_spans_months(loaded: Loaded) -> None:
    rows = history(loaded.engine, loaded.workspace)
    entered = [row.entered_at for row in rows]
    assert max(entered) - min(entered) > timedelta(days=150)
    assert max(entered) <= loaded.now
    left = [row for row in rows if row.left_at is not None]
    assert left and all(row.left_at >= row.entered_at for row in left)


def test_records_are_created_over_the_months(loaded: Loaded) -> None:
    store = RecordStore(loaded.engine, load_workspace_meta(loaded.engine, loaded.workspace))
    created = [r["created_at"] for r in store.list("Order", first=100).records]
    assert max(created) - min(created) > timedelta(days=120)


def test_fewer_orders_reach_each_later_stage(loaded: Loaded) -> None:
    furthest: dict[int, int] = {}
    for row in history(loaded.engine, loaded.workspace):
        if row.stage in OPEN_STAGES:
            furthest[row.record_id] = max(furthest.get(row.record_id, 0), OPEN_STAGES.index(row.stage))
    reached = [sum(1 for f in furthest.values() if f >= i) for i in range(len(OPEN_STAGES))]
    assert reached[0] == 80
    assert reached == sorted(reached, reverse=True)
    assert reached[0] > reached[3] > 0  # carts are abandoned, yet orders get paid


def test_orders_that_were_placed_have_a_sales_owner(loaded: Loaded) -> None:
    store = RecordStore(loaded.engine, load_workspace_meta(loaded.engine, loaded.workspace))
    placed = store.list("Order", where={"stage": {"in": ["paid", "repeat"]}}, first=100).records
    with loaded.engine.connect() as conn:
        emails = dict(conn.execute(sa.select(users.c.id, users.c.email).where(
            users.c.workspace == loaded.workspace)).all())
    assert placed and {emails[r["owner"]] for r in placed} <= {"anna@store.test", "oleg@store.test"}


def test_the_demo_events_start_no_run(loaded: Loaded) -> None:
    drain(Runtime(loaded.engine, ManualClock(loaded.now), workspace=loaded.workspace))
    with loaded.engine.connect() as conn:
        runs = conn.execute(sa.select(sa.func.count()).where(
            wf_instances.c.workspace == loaded.workspace)).scalar()
        pending = conn.execute(sa.select(sa.func.count()).where(
            outbox.c.workspace == loaded.workspace, outbox.c.processed_at.is_(None))).scalar()
    assert (runs, pending) == (0, 0)
    assert loaded.result.events_consumed == loaded.result.writes


def test_an_order_created_after_the_demo_triggers_automations(engine: Engine, store_blueprint: Path,
                                                              workspace: str) -> None:
    now = datetime.now(UTC)
    load(engine, store_blueprint, workspace, now)
    store = RecordStore(engine, load_workspace_meta(engine, workspace))
    order = store.create("Order", {"title": "After the demo"})
    drain(Runtime(engine, ManualClock(now), workspace=workspace))
    assert store.get("Order", order["id"])["comment"] == "seen"
    assert store.count("Order", {"comment": {"eq": "seen"}}) == 1


def test_the_same_seed_loads_the_same_orders(engine: Engine, store_blueprint: Path) -> None:
    now = datetime.now(UTC)
    seen = []
    for name in ("demoseed" + now.strftime("%H%M%S%f")[:8] + suffix for suffix in ("a", "b")):
        load(engine, store_blueprint, name, now)
        store = RecordStore(engine, load_workspace_meta(engine, name))
        seen.append([(r["title"], r["stage"], r["amount"], r["created_at"], r["stage_entered_at"])
                     for r in store.list("Order", order_by=[("title", "asc")], first=100).records])
    assert seen[0] == seen[1]


def test_loading_again_changes_nothing(engine: Engine, store_blueprint: Path, workspace: str) -> None:
    now = datetime.now(UTC)
    load(engine, store_blueprint, workspace, now)
    version = load_workspace_meta(engine, workspace).version
    (store_blueprint / "seen.craft").write_text(SEEN.replace('"seen"', '"changed"'), encoding="utf-8")
    with pytest.raises(DemoAlreadyLoaded) as raised:
        load(engine, store_blueprint, workspace, now, seed=6)
    assert raised.value.code == "MM.E621"
    assert raised.value.counts == {"Customer": 20, "Product": 6, "Order": 80}
    assert load_workspace_meta(engine, workspace).version == version  # not even the blueprint applied


def test_a_blueprint_without_the_store_entities_is_refused(engine: Engine, tmp_path: Path,
                                                           workspace: str) -> None:
    (tmp_path / "blueprint.yaml").write_text(
        "entities:\n  Deal:\n    fields:\n      title: {type: string}\n", encoding="utf-8")
    with pytest.raises(DemoError) as raised:
        load(engine, tmp_path, workspace, datetime.now(UTC))
    assert raised.value.code == "MM.E620"
    assert "no entity Product" in raised.value.message


def test_clear_records_leaves_the_workspace_empty_but_keeps_users_and_tokens(
        engine: Engine, store_blueprint: Path, workspace: str) -> None:
    now = datetime.now(UTC)
    load(engine, store_blueprint, workspace, now)
    token, _ = create_token(engine, workspace, "admin")
    assert clear_records(engine, workspace) == {"Customer": 20, "Product": 6, "Order": 80}
    assert existing_records(engine, workspace) == {"Customer": 0, "Product": 0, "Order": 0}
    assert history(engine, workspace) == []
    assert resolve_token(engine, token) is not None
    again = load(engine, store_blueprint, workspace, now, seed=6)
    with engine.connect() as conn:
        events = conn.execute(sa.select(sa.func.count()).where(outbox.c.workspace == workspace)).scalar()
    assert again.counts["Order"] == 80 and events == again.writes


def test_clear_records_of_an_unknown_workspace_does_nothing(engine: Engine, workspace: str) -> None:
    assert clear_records(engine, workspace) == {}
