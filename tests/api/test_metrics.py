"""GET /metrics: Prometheus text with request counts by route template, durations, and the
workflow's runs by status and pending outbox events read at scrape time; one registry per app."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from api.app import create_app
from api.metrics import WorkflowCollector
from api.settings import Settings
from metamodel import apply_blueprint_path
from workflow import WorkflowCounts, workflow_counts

SPEC_LANGUAGE = Path(__file__).resolve().parents[2] / "examples" / "spec-language"


def _app_client(engine: Engine) -> TestClient:
    return TestClient(create_app(Settings(database_url=str(engine.url)), engine=engine, runner=False))


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with _app_client(engine) as test_client:
        yield test_client


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def _requests(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], **labels: str) -> float:
    return samples.get(("stagecraft_http_requests_total", frozenset(labels.items())), 0.0)


def test_a_request_is_counted_by_method_route_and_status(client: TestClient) -> None:
    client.get("/healthz")

    samples = _samples(client)

    assert _requests(samples, method="GET", route="/healthz", status="200") == 1


def test_requests_are_labelled_with_the_route_template_not_the_path(client: TestClient) -> None:
    client.post("/w/acme/forms/contact", json={})
    client.get("/no/such/page")

    samples = _samples(client)

    assert _requests(samples, method="POST", route="/w/{workspace}/forms/{name}", status="404") == 1
    assert _requests(samples, method="GET", route="<unmatched>", status="404") == 1


def test_request_durations_are_a_histogram(client: TestClient) -> None:
    client.get("/healthz")

    samples = _samples(client)

    key = ("stagecraft_http_request_duration_seconds_count",
           frozenset({"method": "GET", "route": "/healthz"}.items()))
    assert samples[key] == 1


def test_workflow_runs_by_status_and_pending_outbox_are_read_on_scrape(
        client: TestClient, engine: Engine, workspace: str) -> None:
    apply_blueprint_path(engine, SPEC_LANGUAGE, workspace)
    now = [0.0]
    client.app.state.workflow_collector.clock = lambda: now[0]  # type: ignore[attr-defined]
    before = _samples(client)[("stagecraft_workflow_runs", frozenset({"status": "running"}.items()))]

    client.post(f"/w/{workspace}/forms/website", json={"full_name": "Wanda"})
    now[0] = 15.0
    after = _samples(client)

    assert after[("stagecraft_workflow_runs", frozenset({"status": "running"}.items()))] == before + 1
    assert after[("stagecraft_outbox_pending", frozenset())] >= 1  # the Contact's "created" event


def test_each_app_counts_only_its_own_requests(engine: Engine) -> None:
    with _app_client(engine) as first, _app_client(engine) as second:
        first.get("/healthz")

        assert _requests(_samples(second), method="GET", route="/healthz", status="200") == 0


def test_an_invented_http_method_is_counted_as_other(client: TestClient) -> None:
    client.request("QWERTY1", "/healthz")
    client.request("QWERTY2", "/healthz")

    samples = _samples(client)

    assert _requests(samples, method="OTHER", route="/healthz", status="405") == 2
    assert not any(dict(labels).get("method", "").startswith("QWERTY") for _, labels in samples)


class _StatementCounter:
    """Counts the SQL statements an engine runs while attached."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.count = engine, 0

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> _StatementCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


def test_building_the_app_runs_no_sql(engine: Engine) -> None:
    with _StatementCounter(engine) as statements:
        create_app(Settings(database_url=str(engine.url)), engine=engine, runner=False)

    assert statements.count == 0


def test_workflow_counts_are_read_once_per_15_seconds(client: TestClient, engine: Engine) -> None:
    now = [100.0]
    client.app.state.workflow_collector.clock = lambda: now[0]  # type: ignore[attr-defined]
    _samples(client)
    with _StatementCounter(engine) as statements:
        now[0] = 114.9
        _samples(client)
        cached = statements.count
        now[0] = 115.0
        _samples(client)

    assert cached == 0
    assert statements.count > 0


def test_concurrent_scrapes_share_one_refresh(engine: Engine) -> None:
    reads, entered, release = [], threading.Event(), threading.Event()

    def slow_read(bound: Engine) -> WorkflowCounts:
        reads.append(1)
        entered.set()
        release.wait(5)
        return workflow_counts(bound)

    collector = WorkflowCollector(engine, read=slow_read)
    scrapes = [threading.Thread(target=lambda: list(collector.collect())) for _ in range(4)]
    for scrape in scrapes:
        scrape.start()
    entered.wait(5)
    time.sleep(0.05)  # the other scrapes reach the collector while the first read is under way
    release.set()
    for scrape in scrapes:
        scrape.join(5)

    assert len(reads) == 1
