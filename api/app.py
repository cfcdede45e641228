"""The HTTP application: ``create_app(settings)`` builds one FastAPI app per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from api.settings import Settings
from metamodel.db import create_engine_for


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """The API for ``settings``; pass ``engine`` to share one the caller already made.

    An engine created here is disposed of when the app shuts down; a passed one
    stays the caller's to dispose of.
    """
    owned = engine is None
    bound = create_engine_for(settings.database_url) if engine is None else engine

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            bound.dispose()

    app = FastAPI(title="Stagecraft", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = bound

    @app.get("/healthz", summary="Liveness and database reachability")
    async def healthz() -> JSONResponse:
        problem = await run_in_threadpool(database_problem, bound)
        if problem is None:
            return JSONResponse({"status": "ok", "database": "ok"})
        return JSONResponse({"status": "degraded", "database": problem}, status_code=503)

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
