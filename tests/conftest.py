"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

Under ``CI=true`` an unreachable PostgreSQL fails the run; elsewhere its half
of the suite is skipped with the reason printed.  Each test session gets its
own PostgreSQL database so concurrent runs never see each other's tables.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from metamodel.db import create_engine_for, database_unreachable, init_database, throwaway_database

POSTGRES_URL = os.environ.get(
    "STAGECRAFT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
REDIS_URL = os.environ.get("STAGECRAFT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")




def _service_missing(reason: str, what: str) -> None:
    """Fail under CI=true (the scale-out half must run there); elsewhere skip, saying why."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: {what} must run)")
    print(f"\nskipping {what}: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def scratch_postgres() -> Iterator[Callable[[str], str]]:
    """Makes fresh databases with the platform tables on the test server (``prefix`` starts their
    names); every one is dropped when the session ends."""
    reason = database_unreachable(POSTGRES_URL)
    if reason:
        _service_missing(f"PostgreSQL at {reason}", "the PostgreSQL half of the suite")
    with ExitStack() as made:
        yield lambda prefix: made.enter_context(throwaway_database(POSTGRES_URL, prefix=prefix))


@pytest.fixture(scope="session")
def postgres_database(scratch_postgres: Callable[[str], str]) -> str:
    """A fresh database for this test session, dropped at the end."""
    return scratch_postgres("sc_test")


@pytest.fixture(scope="session")
def redis_database() -> Callable[[int], str]:
    """The URL of Redis database ``db`` (``STAGECRAFT_TEST_REDIS_URL``), emptied for the caller, who
    owns that number; fails under CI and skips elsewhere when Redis is away."""
    import redis

    def make(db: int) -> str:
        parts = urlsplit(REDIS_URL)
        url = urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=2)
            client.flushdb()
            client.close()
        except redis.RedisError as exc:
            _service_missing(f"Redis at {url} is unreachable: {str(exc).splitlines()[0]}",
                             "the Celery half of the suite")
        return url

    return make


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the platform tables, copied for each test (migrations run once)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine_for(f"sqlite:///{path}")
    init_database(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an initialised database, once per dialect."""
    if request.param == "sqlite":
        target = tmp_path / "stagecraft.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine_for(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def workspace() -> str:
    """A workspace name no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The ``stagecraft`` command line on a SQLite database of this test's own."""
    monkeypatch.setenv("STAGECRAFT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return CliRunner()


def write_blueprint(tmp_path: Path, text: str) -> str:
    """Write ``text`` as ``tmp_path/blueprint.yaml``; its path, for a command line."""
    path = tmp_path / "blueprint.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)
