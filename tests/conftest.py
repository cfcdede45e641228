"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

Under ``CI=true`` an unreachable PostgreSQL fails the run; elsewhere its half
of the suite is skipped with the reason printed.  Each test session gets its
own PostgreSQL database so concurrent runs never see each other's tables.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from metamodel.db import create_engine_for, init_database

POSTGRES_URL = os.environ.get(
    "STAGECRAFT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_unreachable_reason() -> str | None:
    try:
        engine = create_engine_for(POSTGRES_URL, pool_pre_ping=False)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for this test session, dropped at the end."""
    reason = _postgres_unreachable_reason()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the PostgreSQL half of the suite must run)")
        print(f"\nskipping PostgreSQL tests: {reason}")
        pytest.skip(reason)
    name = f"sc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine_for(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    init_database(create_engine_for(url))
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


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
