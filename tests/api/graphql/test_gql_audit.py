"""graphql-http's GraphQL-over-HTTP audit (the npm package's ``auditServer``) against a LIVE server.

A real uvicorn serves the app on loopback, on a fresh SQLite file and a fresh PostgreSQL database,
with the spec-language blueprint applied and an admin token; ``tests/audit/audit.mjs`` runs every
server audit with that token and prints the results as JSON.  An ``error`` is a MUST of the
specification broken and fails the test; warnings and notices (SHOULD / MAY) are printed.

Node and the audit's packages (``npm ci`` in tests/audit, done by ``make test``) are needed: without
them the test skips saying why, and under ``CI=true`` it fails, so the audit cannot silently vanish.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.settings import Settings
from metamodel import apply_blueprint_path
from metamodel.db import create_engine_for
from metamodel.tokens import create_token

ROOT = Path(__file__).resolve().parents[3]
AUDIT = ROOT / "tests" / "audit"
SPEC_LANGUAGE = ROOT / "examples" / "spec-language"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _node_or_skip() -> str:
    """The node executable, once the audit's packages are installed; else skip (fail under CI)."""
    node = shutil.which("node")
    reason = None
    if node is None:
        reason = "node is not installed (the graphql-http audit needs Node.js 18+ and npm)"
    elif not (AUDIT / "node_modules" / "graphql-http").is_dir():
        reason = "tests/audit/node_modules is missing: run `make test` (or `cd tests/audit && npm ci`)"
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the audit must run)")
        print(f"\nskipping the graphql-http audit: {reason}")
        pytest.skip(reason)
    assert node is not None
    return node


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh database with the platform tables: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("audit") / "audit.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    make: Callable[[str], str] = request.getfixturevalue("scratch_postgres")
    return make("sc_audit")


@pytest.fixture(scope="module")
def live(fresh_url: str) -> Iterator[tuple[str, str]]:
    """The GraphQL URL of the spec-language workspace on a live uvicorn, and an admin token.

    One server per module and database: the tests here only read (``__typename``)."""
    engine = create_engine_for(fresh_url)
    apply_blueprint_path(engine, SPEC_LANGUAGE, "spec-language")
    token = create_token(engine, "spec-language", "admin")[0]
    app = create_app(Settings(database_url=fresh_url), engine=engine, runner=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/healthz", thread)
        yield f"http://127.0.0.1:{port}/w/spec-language/graphql", token
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def _wait_until_up(url: str, thread: threading.Thread, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and thread.is_alive():
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the server did not come up at {url}")


def run_audit(node: str, url: str, token: str) -> list[dict[str, Any]]:
    """Every audit's result: ``{id, name, status}`` plus ``reason``, ``status_code``, ``body`` if not ok."""
    done = subprocess.run([node, "audit.mjs", url, token], cwd=AUDIT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def test_the_live_endpoint_passes_every_must_of_the_graphql_over_http_audit(live: tuple[str, str]) -> None:
    node = _node_or_skip()
    results = run_audit(node, *live)
    assert len(results) > 50  # the whole audit ran, not an empty list
    for result in results:
        if result["status"] != "ok":
            print(f"{result['status']:<6} {result['id']} {result['name']}: {result['reason']}")
    errors = [r for r in results if r["status"] == "error"]
    assert errors == []


def test_the_audit_counts_a_broken_must_as_an_error(live: tuple[str, str]) -> None:
    """The check above can fail: a wrong token makes every audited request a 401, and MUSTs break."""
    node = _node_or_skip()
    url, _token = live
    results = run_audit(node, url, "sc_0000000000000000_wrong")
    assert any(r["status"] == "error" for r in results)


@pytest.mark.parametrize("extensions", ["text", 3, True, [1]])
def test_extensions_that_are_not_an_object_are_400(live: tuple[str, str], extensions: Any) -> None:
    url, token = live
    response = httpx.post(url, json={"query": "{ __typename }", "extensions": extensions},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_extensions_as_an_object_are_accepted(live: tuple[str, str]) -> None:
    url, token = live
    response = httpx.post(url, json={"query": "{ __typename }", "extensions": {"trace": True}},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.json() == {"data": {"__typename": "Query"}}
