"""The HTTP application: ``create_app(settings)`` builds one FastAPI app per process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from api.auth import AUTH_EXCEPTION_HANDLERS
from api.graphql.endpoint import graphql_router
from api.metrics import install_metrics
from api.rest import install_rest
from api.rest_data import router as data_router
from api.settings import Settings
from metamodel.db import create_engine_for
from workflow import InProcessRunner, Runtime, WorkflowConfig

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, engine: Engine | None = None, runner: bool | None = None) -> FastAPI:
    """The API for ``settings``; pass ``engine`` to share one the caller already made.

    An engine created here is disposed of when the app shuts down; a passed one
    stays the caller's to dispose of.  ``runner`` says whether the workflow runs
    inside this app (:class:`workflow.InProcessRunner`, started and stopped with
    the app); by default it does when no broker is configured — with a broker,
    ``stagecraft worker`` processes run it and the API only writes the rows.
    """
    owned = engine is None
    bound = create_engine_for(settings.database_url) if engine is None else engine
    in_process = settings.broker_url is None if runner is None else runner
    runtime = Runtime(bound, config=WorkflowConfig.from_env())  # shared by the runner and the REST endpoints

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started = InProcessRunner(runtime).start() if in_process else None
        app.state.runner = started
        try:
            yield
        finally:
            if started is not None:
                await run_in_threadpool(started.stop)
            if owned:
                bound.dispose()

    app = FastAPI(title="Stagecraft", lifespan=lifespan, exception_handlers=dict(AUTH_EXCEPTION_HANDLERS))
    app.state.settings = settings
    app.state.engine = bound
    app.state.runner = None  # the InProcessRunner while the app runs one

    @app.get("/healthz", summary="Liveness and database reachability")
    async def healthz() -> JSONResponse:
        """The driver's reason is logged, never answered: it names hosts, ports and roles."""
        problem = await run_in_threadpool(database_problem, bound)
        if problem is None:
            return JSONResponse({"status": "ok", "database": "ok"})
        log.warning("healthz: database unreachable: %s", problem)
        return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)

    install_rest(app, runtime)
    app.include_router(data_router)  # imports and exports of records (needs install_rest's state)
    app.include_router(graphql_router(runtime))
    install_metrics(app, bound)
    return app


def database_problem(engine: Engine) -> str | None:
    """None when ``SELECT 1`` succeeds, else the reason in one line (blocking: run it off the loop)."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as err:
        return one_line_reason(err)
    return None


def one_line_reason(err: BaseException) -> str:
    """The driver's own message when there is one, first line only, without SQLAlchemy's boilerplate."""
    cause = err.orig if isinstance(err, sa.exc.DBAPIError) and err.orig is not None else err
    lines = str(cause).strip().splitlines()
    return lines[0].strip() if lines else type(cause).__name__
