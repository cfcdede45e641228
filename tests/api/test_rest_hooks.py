"""POST /w/{workspace}/hooks/{name}: a correctly signed JSON body starts ``webhook NAME received``
automations; anything unsigned, mis-signed or stale is refused before it is even parsed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.rest import MAX_BODY_BYTES
from api.settings import Settings
from metamodel import apply_blueprint_path
from workflow import hook_secret_for, list_runs
from workflow.webhooks import sign

SECRET = "s3cret-for-hooks"
BLUEPRINT = """
entities:
  Order:
    fields:
      title: {type: string, required: true, max_length: 200}
automations: [hooks.craft]
"""
HOOKS = """automation "Hook"
when webhook shop received
do
  create Order with title = payload.title as order
end
"""


@pytest.fixture
def hook_workspace(engine: Engine, workspace: str, tmp_path: Path) -> str:
    folder = tmp_path / "bp"
    folder.mkdir()
    (folder / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
    (folder / "hooks.craft").write_text(HOOKS, encoding="utf-8")
    apply_blueprint_path(engine, folder, workspace)
    return workspace


def _client(engine: Engine, settings: Settings) -> TestClient:
    return TestClient(create_app(settings, engine=engine, runner=False))


@pytest.fixture
def client(engine: Engine, hook_workspace: str) -> Iterator[TestClient]:
    with _client(engine, Settings(database_url=str(engine.url), hook_secret=SECRET)) as test_client:
        yield test_client


def _signed(body: bytes, workspace: str, name: str = "shop", *, secret: str = SECRET,
            at: float | None = None, event: str = "evt-1") -> dict[str, str]:
    """Headers of a request signed with the hook's own secret, derived from the master ``secret``."""
    stamp = str(int(time.time() if at is None else at))
    key = hook_secret_for(secret, workspace, name)
    return {"content-type": "application/json", "X-Stagecraft-Id": event,
            "X-Stagecraft-Timestamp": stamp, "X-Stagecraft-Signature": sign(key, event, stamp, body)}


BODY = json.dumps({"title": "Sofa"}).encode()


def test_a_signed_hook_starts_its_automation_and_answers_202(
        client: TestClient, engine: Engine, hook_workspace: str) -> None:
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY,
                           headers=_signed(BODY, hook_workspace))

    assert response.status_code == 202, response.text
    assert response.json() == {"runs": 1}
    assert [run.name for run in list_runs(engine, hook_workspace)] == ["Hook"]


def test_a_hook_nothing_listens_to_is_accepted_with_no_runs(
        client: TestClient, engine: Engine, hook_workspace: str) -> None:
    response = client.post(f"/w/{hook_workspace}/hooks/crm", content=BODY,
                           headers=_signed(BODY, hook_workspace, "crm"))

    assert response.status_code == 202
    assert response.json() == {"runs": 0}


def test_a_hook_signed_with_another_secret_is_refused_with_401(
        client: TestClient, engine: Engine, hook_workspace: str) -> None:
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY,
                           headers=_signed(BODY, hook_workspace, secret="guessed"))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "API.E341"
    assert list_runs(engine, hook_workspace) == []


def test_a_hook_without_a_signature_is_refused_with_401(client: TestClient, hook_workspace: str) -> None:
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY,
                           headers={"content-type": "application/json"})

    assert response.status_code == 401


def test_a_hook_whose_body_was_changed_after_signing_is_refused_with_401(
        client: TestClient, hook_workspace: str) -> None:
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=b'{"title": "Bed"}',
                           headers=_signed(BODY, hook_workspace))

    assert response.status_code == 401


def test_a_stale_timestamp_is_refused_with_401(client: TestClient, hook_workspace: str) -> None:
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY,
                           headers=_signed(BODY, hook_workspace, at=time.time() - 301))

    assert response.status_code == 401


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]"], ids=["broken-json", "json-array"])
def test_a_signed_body_that_is_not_a_json_object_is_refused_with_400(
        client: TestClient, hook_workspace: str, body: bytes) -> None:
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=body,
                           headers=_signed(body, hook_workspace))

    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_an_oversize_hook_is_refused_with_413(client: TestClient, hook_workspace: str) -> None:
    body = json.dumps({"title": "x" * MAX_BODY_BYTES}).encode()
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=body,
                           headers=_signed(body, hook_workspace))

    assert response.status_code == 413


def test_a_hook_to_an_unknown_workspace_is_404(client: TestClient) -> None:
    response = client.post("/w/nosuchworkspace/hooks/shop", content=BODY,
                           headers=_signed(BODY, "nosuchworkspace"))

    assert response.status_code == 404


def test_the_secret_key_verifies_hooks_when_no_hook_secret_is_set(
        engine: Engine, hook_workspace: str) -> None:
    with _client(engine, Settings(database_url=str(engine.url), secret_key=SECRET)) as fallback:
        response = fallback.post(f"/w/{hook_workspace}/hooks/shop", content=BODY,
                                 headers=_signed(BODY, hook_workspace))

    assert response.status_code == 202


def test_hooks_answer_503_naming_the_setting_when_no_secret_is_configured(
        engine: Engine, hook_workspace: str) -> None:
    with _client(engine, Settings(database_url=str(engine.url))) as unconfigured:
        response = unconfigured.post(f"/w/{hook_workspace}/hooks/shop", content=BODY,
                                     headers=_signed(BODY, hook_workspace))

    assert response.status_code == 503
    assert response.json()["error"]["message"] == "inbound webhooks need STAGECRAFT_HOOK_SECRET"


def test_a_replayed_event_id_starts_nothing_again(client: TestClient, engine: Engine,
                                                  hook_workspace: str) -> None:
    headers = _signed(BODY, hook_workspace, event="evt-replayed")
    first = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY, headers=headers)
    again = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY, headers=headers)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {"runs": 0, "duplicate": True}
    assert len(list_runs(engine, hook_workspace)) == 1


def test_a_request_signed_for_another_hook_is_refused(client: TestClient, hook_workspace: str) -> None:
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY,
                           headers=_signed(BODY, hook_workspace, "crm"))

    assert response.status_code == 401


def test_a_request_signed_for_another_workspace_is_refused(client: TestClient, hook_workspace: str) -> None:
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY, headers=_signed(BODY, "other"))

    assert response.status_code == 401


def test_an_outgoing_webhook_signature_does_not_open_an_inbound_hook(client: TestClient,
                                                                    hook_workspace: str) -> None:
    stamp = str(int(time.time()))
    signature = sign(SECRET, "evt-out", stamp, BODY)  # signed with the master secret itself
    headers = {"content-type": "application/json", "X-Stagecraft-Id": "evt-out",
               "X-Stagecraft-Timestamp": stamp, "X-Stagecraft-Signature": signature}
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY, headers=headers)

    assert response.status_code == 401


@pytest.mark.parametrize("stamp", ["1" + "0" * 400, "1_700_000_000", " 1700000000", "-5"])
def test_a_timestamp_that_is_not_plain_seconds_is_refused_not_a_crash(
        client: TestClient, hook_workspace: str, stamp: str) -> None:
    headers = {**_signed(BODY, hook_workspace), "X-Stagecraft-Timestamp": stamp}
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY, headers=headers)

    assert response.status_code == 401


def test_a_request_without_an_event_id_is_refused(client: TestClient, hook_workspace: str) -> None:
    headers = {**_signed(BODY, hook_workspace), "X-Stagecraft-Id": ""}
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=BODY, headers=headers)

    assert response.status_code == 401


@pytest.mark.parametrize("body", [b'{"a": NaN}', b'{"a": ' + b"9" * 5000 + b"}", b'{"a": "\\ud800"}',
                                  b'{"a": ' + b"[" * 3000 + b"]" * 3000 + b"}"])
def test_a_signed_body_json_cannot_store_is_a_400_not_a_crash(client: TestClient, hook_workspace: str,
                                                              body: bytes) -> None:
    response = client.post(f"/w/{hook_workspace}/hooks/shop", content=body,
                           headers=_signed(body, hook_workspace, event=f"evt-{len(body)}"))

    assert response.status_code == 400, response.text
