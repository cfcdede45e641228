"""``GET /metrics`` in the Prometheus text format, from a registry of the app's own.

One :class:`prometheus_client.CollectorRegistry` per app (not the global one),
so two apps in one process — tests, mostly — never see each other's counts.
HTTP metrics are labelled with the route *template* (``/w/{workspace}/forms/{name}``),
never the raw path, so a scanner trying random URLs cannot blow up the number of
series; likewise a method outside the standard ones is counted as ``OTHER``.
Workflow gauges are read from the database at most every 15 s (one refresh at a
time, whatever the number of scrapers), and building the app reads nothing.

/metrics has no token: expose it only to the monitoring network (bind it
behind the proxy, or deny it there for public traffic).  It reveals the routes
and the volume of work, and each refresh costs a few queries.

``workflow_counts`` runs its own SQL over the platform tables: no public
workflow function counts runs by status across workspaces yet (``list_runs`` is
per workspace).  It belongs in ``workflow``; it lives here until moved there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow import WorkflowCounts, workflow_counts

log = logging.getLogger(__name__)

#: The label of requests no route matched (one series for all of them, whatever the path).
UNMATCHED = "<unmatched>"
#: Methods counted under their own name; any other (a scanner can invent them) is counted as OTHER.
KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
#: Seconds the workflow counts are reused before the next scrape reads them again.
COUNTS_TTL = 15.0


class WorkflowCollector(Collector):
    """Gauges of the workflow counts, cached for ``ttl`` seconds.

    Why a cache: every scraper (and every replica of Prometheus) would otherwise
    run the counting queries on each scrape.  The lock makes concurrent scrapes
    wait for one refresh instead of each starting its own.  A database that
    cannot answer leaves the gauges out rather than fail the scrape, and the
    failure is cached too, so a down database is not hammered either.
    """

    def __init__(self, engine: Engine, *, ttl: float = COUNTS_TTL,
                 clock: Callable[[], float] = time.monotonic,
                 read: Callable[[Engine], WorkflowCounts] = workflow_counts) -> None:
        self.engine = engine
        self.ttl = ttl
        self.clock = clock
        self.read = read
        self._lock = threading.Lock()
        self._counts: WorkflowCounts | None = None
        self._read_at: float | None = None

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families' names without touching the database (the registry asks at registration)."""
        yield GaugeMetricFamily("stagecraft_workflow_runs", "Automation and process runs by status",
                                labels=["status"])
        yield GaugeMetricFamily("stagecraft_outbox_pending", "Record events not yet consumed by workflow")

    def counts(self) -> WorkflowCounts | None:
        """The cached counts, refreshed when older than ``ttl``; None when the database failed."""
        with self._lock:
            now = self.clock()
            if self._read_at is None or now - self._read_at >= self.ttl:
                try:
                    self._counts = self.read(self.engine)
                except sa.exc.SQLAlchemyError as err:
                    log.warning("metrics: workflow counts unavailable: %s", str(err).splitlines()[0])
                    self._counts = None
                self._read_at = now
            return self._counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.counts()
        if counts is None:
            return
        runs = GaugeMetricFamily("stagecraft_workflow_runs", "Automation and process runs by status",
                                 labels=["status"])
        for status, count in counts.runs_by_status.items():
            runs.add_metric([status], count)
        yield runs
        yield GaugeMetricFamily("stagecraft_outbox_pending", "Record events not yet consumed by workflow",
                                value=counts.pending_outbox)


@dataclass(frozen=True, slots=True)
class HttpMetrics:
    requests: Counter
    duration: Histogram


def new_registry(engine: Engine, collector: WorkflowCollector | None = None,
                 ) -> tuple[CollectorRegistry, HttpMetrics]:
    """A registry with the HTTP request metrics and the workflow gauges of ``engine`` (or ``collector``).

    ``auto_describe=False`` and the collector's own ``describe``: registering must not query the database.
    """
    registry = CollectorRegistry(auto_describe=False)
    requests = Counter("stagecraft_http_requests", "HTTP requests answered",
                       ["method", "route", "status"], registry=registry)
    duration = Histogram("stagecraft_http_request_duration_seconds", "Time to answer an HTTP request",
                         ["method", "route"], registry=registry)
    registry.register(collector or WorkflowCollector(engine))
    return registry, HttpMetrics(requests, duration)


class MetricsMiddleware:
    """Pure ASGI middleware (no body buffering) counting and timing every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client gets when the app raises before answering
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(time.perf_counter() - started)


router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format"}})
async def get_metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    text = await run_in_threadpool(generate_latest, registry)  # the collector queries the database
    return Response(text, media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI, engine: Engine) -> None:
    """Give ``app`` its own registry, the counting middleware and ``GET /metrics``.

    Nothing is read from the database here: the workflow gauges are read at the first scrape.
    """
    collector = WorkflowCollector(engine)
    registry, metrics = new_registry(engine, collector)
    app.state.metrics_registry = registry
    app.state.workflow_collector = collector  # its clock and ttl are reachable, for tests
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.include_router(router)
