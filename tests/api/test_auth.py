"""``api.auth.principal_for``: a Bearer token opens its own workspace and nothing else; every refusal
is a 401 UNAUTHENTICATED with a Bearer challenge, and another workspace's token is answered exactly
like an unknown one — on SQLite and PostgreSQL, through a tiny app of the test's own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.auth import AUTH_EXCEPTION_HANDLERS, CurrentPrincipal
from metamodel import apply_blueprint
from metamodel.blueprint import parse_blueprint
from metamodel.tokens import create_token, revoke_token

CRM = """
entities:
  Deal:
    fields:
      title: {type: string, required: true}
roles:
  manager: {entities: {Deal: [read]}}
users:
  - {email: anna@acme.test, name: Anna, role: manager}
"""

UNKNOWN = "sc_0123456789abcdef_" + "a" * 43


def _app(engine: Engine, handlers: bool = True) -> FastAPI:
    app = FastAPI(exception_handlers=dict(AUTH_EXCEPTION_HANDLERS) if handlers else None)
    app.state.engine = engine
    app.state.loop_thread = None

    @app.get("/w/{workspace}/whoami")
    async def whoami(workspace: str, principal: CurrentPrincipal) -> dict[str, Any]:
        app.state.loop_thread = threading.current_thread()
        return {"workspace": principal.workspace, "role": principal.role, "email": principal.email}

    return app


@pytest.fixture
def crm(engine: Engine, workspace: str) -> str:
    apply_blueprint(engine, parse_blueprint(CRM), workspace)
    return workspace


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(_app(engine)) as test_client:
        yield test_client


def _get(client: TestClient, workspace: str, authorization: str | None) -> Any:
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.get(f"/w/{workspace}/whoami", headers=headers)


def _assert_unauthenticated(response: Any) -> str:
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    return str(error["message"])


def test_a_valid_token_opens_its_workspace_as_its_role_and_user(
        engine: Engine, crm: str, client: TestClient) -> None:
    token, _ = create_token(engine, crm, "manager", "anna@acme.test")
    response = _get(client, crm, f"Bearer {token}")
    assert response.status_code == 200
    assert response.json() == {"workspace": crm, "role": "manager", "email": "anna@acme.test"}


def test_the_scheme_is_read_in_any_case(engine: Engine, crm: str, client: TestClient) -> None:
    token, _ = create_token(engine, crm, "admin")
    assert _get(client, crm, f"bearer {token}").status_code == 200


def test_a_request_without_a_token_is_unauthenticated(crm: str, client: TestClient) -> None:
    assert "Authorization: Bearer" in _assert_unauthenticated(_get(client, crm, None))


def test_another_scheme_than_bearer_is_unauthenticated(engine: Engine, crm: str, client: TestClient) -> None:
    token, _ = create_token(engine, crm, "admin")
    _assert_unauthenticated(_get(client, crm, f"Basic {token}"))
    _assert_unauthenticated(_get(client, crm, "Bearer"))


@pytest.mark.parametrize("bad", ["garbage", "sc_", UNKNOWN + "x", "sc_0123_" + "a" * 43])
def test_a_malformed_token_is_unauthenticated(crm: str, client: TestClient, bad: str) -> None:
    _assert_unauthenticated(_get(client, crm, f"Bearer {bad}"))


def test_an_unknown_token_is_unauthenticated(crm: str, client: TestClient) -> None:
    assert _assert_unauthenticated(_get(client, crm, f"Bearer {UNKNOWN}")) == \
        f'this token does not open workspace "{crm}"'


def test_a_revoked_token_is_refused_at_once(engine: Engine, crm: str, client: TestClient) -> None:
    token, info = create_token(engine, crm, "admin")
    assert _get(client, crm, f"Bearer {token}").status_code == 200
    revoke_token(engine, crm, info.token_id)
    _assert_unauthenticated(_get(client, crm, f"Bearer {token}"))


def test_a_token_of_another_workspace_is_answered_like_an_unknown_token(
        engine: Engine, crm: str, client: TestClient) -> None:
    other = f"t{uuid.uuid4().hex[:12]}"
    apply_blueprint(engine, parse_blueprint(CRM), other)
    token, _ = create_token(engine, other, "admin")
    foreign, unknown = _get(client, crm, f"Bearer {token}"), _get(client, crm, f"Bearer {UNKNOWN}")
    assert (foreign.status_code, foreign.json(), foreign.headers["www-authenticate"]) == \
        (unknown.status_code, unknown.json(), unknown.headers["www-authenticate"])


def test_a_workspace_that_does_not_exist_is_answered_like_one_that_does(
        engine: Engine, crm: str, client: TestClient) -> None:
    token, _ = create_token(engine, crm, "admin")
    missing, existing = f"t{uuid.uuid4().hex[:12]}", f"t{uuid.uuid4().hex[:12]}"
    apply_blueprint(engine, parse_blueprint(CRM), existing)
    first, second = _get(client, missing, f"Bearer {token}"), _get(client, existing, f"Bearer {token}")
    assert _assert_unauthenticated(first).replace(missing, "W") == \
        _assert_unauthenticated(second).replace(existing, "W")


def test_the_token_lookup_runs_off_the_event_loop(engine: Engine, crm: str, client: TestClient) -> None:
    token, _ = create_token(engine, crm, "admin")
    lookups: list[threading.Thread] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *_: lookups.append(threading.current_thread()))
    assert _get(client, crm, f"Bearer {token}").status_code == 200
    assert lookups and client.app.state.loop_thread not in lookups  # type: ignore[attr-defined]


def test_without_the_handler_a_refusal_is_still_a_401_with_a_challenge(engine: Engine, crm: str) -> None:
    with TestClient(_app(engine, handlers=False)) as plain:
        response = _get(plain, crm, f"Bearer {UNKNOWN}")
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
