"""The in-process runner inside the app: started with it, running automations, stopped with it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.settings import Settings
from metamodel.db import create_engine_for, init_database
from metamodel.migrate import apply_blueprint_path
from metamodel.records.actor import Actor
from metamodel.records.store import RecordStore
from metamodel.storage.catalog import load_workspace_meta
from metamodel.storage.system_tables import messages, users, wf_instances

SPEC_EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "spec-language"
WORKSPACE = "spec-language"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}")


@pytest.fixture
def db(settings: Settings) -> Iterator[Engine]:
    """A SQLite file database with the spec-language workspace applied."""
    eng = create_engine_for(settings.database_url)
    init_database(eng)
    apply_blueprint_path(eng, SPEC_EXAMPLES, WORKSPACE)
    yield eng
    eng.dispose()


def runner_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("stagecraft-workflow")]


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``check`` until it returns something truthy (the runner works in its own thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"nothing after {timeout}s")


def rows(engine: Engine, table: sa.Table) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def create_order(engine: Engine, title: str) -> None:
    store, actor = RecordStore(engine, load_workspace_meta(engine, WORKSPACE)), Actor(email="app-test")
    [sam] = [u["id"] for u in rows(engine, users) if u["email"] == "sam@spec.test"]
    ann = store.create("Contact", {"name": "Ann", "email": "ann@example.com"}, actor=actor)
    store.create("Order", {"title": title, "amount": 120, "contact": ann["id"], "owner": sam}, actor=actor)


def test_new_order_intake_runs_inside_the_app(settings: Settings, db: Engine) -> None:
    app = create_app(settings, engine=db, runner=True)
    with TestClient(app):
        create_order(db, "Order 1")
        [message] = wait_for(lambda: rows(db, messages))
        wait_for(lambda: [i["status"] for i in rows(db, wf_instances)] == ["done"])
    assert (message["recipient"], message["subject"]) == ("ann@example.com", "Order Order 1 accepted")


def test_the_runner_stops_when_the_app_shuts_down(settings: Settings, db: Engine) -> None:
    app = create_app(settings, engine=db, runner=True)
    with TestClient(app):
        assert app.state.runner is not None
        assert runner_threads()
    assert runner_threads() == []


def test_an_app_without_a_runner_leaves_the_runs_to_the_workers(settings: Settings, db: Engine) -> None:
    app = create_app(settings, engine=db, runner=False)
    with TestClient(app):
        create_order(db, "Order 1")
        assert app.state.runner is None
        assert runner_threads() == []
    assert rows(db, wf_instances) == []


def test_the_app_runs_the_workflow_itself_only_when_no_broker_is_configured(
        settings: Settings, db: Engine) -> None:
    embedded = create_app(settings, engine=db)
    with TestClient(embedded):
        assert embedded.state.runner is not None
    brokered = create_app(Settings(database_url=settings.database_url, broker_url="redis://127.0.0.1:6379/0"),
                          engine=db)
    with TestClient(brokered):
        assert brokered.state.runner is None
