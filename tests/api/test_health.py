"""GET /healthz: ok with a reachable database, else 503 "unreachable" with the reason in the log only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings


def _get_health(database_url: str) -> tuple[int, dict[str, str]]:
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        response = client.get("/healthz")
    return response.status_code, response.json()


def test_healthz_reports_ok_with_a_reachable_database(tmp_path: Path) -> None:
    status, body = _get_health(f"sqlite:///{tmp_path / 'db' / 'stagecraft.db'}")

    assert status == 200
    assert body == {"status": "ok", "database": "ok"}


def _unopenable_sqlite_url(tmp_path: Path) -> str:
    # A directory where the database file should be: SQLite cannot open it, even as root.
    (tmp_path / "stagecraft.db").mkdir()
    return f"sqlite:///{tmp_path / 'stagecraft.db'}"


def _closed_port_postgresql_url(_tmp_path: Path) -> str:
    return "postgresql+psycopg://nobody@127.0.0.1:1/nothing"


@pytest.mark.parametrize("make_url", [_unopenable_sqlite_url, _closed_port_postgresql_url],
                         ids=["sqlite-unopenable", "postgresql-closed-port"])
def test_healthz_is_degraded_and_unreachable_when_the_database_is_down(
    tmp_path: Path, make_url: Callable[[Path], str],
) -> None:
    status, body = _get_health(make_url(tmp_path))

    assert status == 503
    assert body == {"status": "degraded", "database": "unreachable"}


def test_healthz_logs_the_drivers_reason_instead_of_answering_it(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="api.app"):
        status, body = _get_health("postgresql+psycopg://secret_role@127.0.0.1:1/nothing")

    assert status == 503
    assert "secret_role" not in str(body) and "127.0.0.1" not in str(body)
    assert any("127.0.0.1" in record.getMessage() for record in caplog.records)
