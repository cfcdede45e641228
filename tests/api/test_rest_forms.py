"""POST /w/{workspace}/forms/{name}: a public web form creates its mapped record and starts
``form NAME submitted`` automations; bad input is refused per field, with nothing saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.rest import MAX_BODY_BYTES, RateLimiter, client_key
from api.settings import Settings
from metamodel import apply_blueprint_path, load_workspace_meta
from metamodel.records.store import RecordStore
from workflow import list_runs

SPEC_LANGUAGE = Path(__file__).resolve().parents[2] / "examples" / "spec-language"
WANDA = {"full_name": "Wanda", "phone": "+10000000009"}


@pytest.fixture
def client(engine: Engine, workspace: str) -> Iterator[TestClient]:
    """The app on the spec-language example; runs are written but not run (no in-process runner)."""
    apply_blueprint_path(engine, SPEC_LANGUAGE, workspace)
    app = create_app(Settings(database_url=str(engine.url)), engine=engine, runner=False)
    with TestClient(app) as test_client:
        yield test_client


def _contacts(engine: Engine, workspace: str) -> list[str]:
    store = RecordStore(engine, load_workspace_meta(engine, workspace))
    return [str(r["name"]) for r in store.list("Contact").records]


def _started(engine: Engine, workspace: str) -> list[str]:
    return [run.name for run in list_runs(engine, workspace)]


def test_a_json_submission_creates_the_mapped_record_and_starts_the_form_automation(
        client: TestClient, engine: Engine, workspace: str) -> None:
    response = client.post(f"/w/{workspace}/forms/website", json=WANDA)

    assert response.status_code == 201, response.text
    assert response.json()["id"].isdigit()
    assert _contacts(engine, workspace) == ["Wanda"]
    assert _started(engine, workspace) == ["Website form"]


def test_a_form_encoded_submission_works_like_json(
        client: TestClient, engine: Engine, workspace: str) -> None:
    response = client.post(f"/w/{workspace}/forms/website", data=WANDA)

    assert response.status_code == 201, response.text
    assert _contacts(engine, workspace) == ["Wanda"]
    assert _started(engine, workspace) == ["Website form"]


def test_a_multipart_submission_works_like_json(client: TestClient, engine: Engine, workspace: str) -> None:
    response = client.post(f"/w/{workspace}/forms/website", files={k: (None, v) for k, v in WANDA.items()})

    assert response.status_code == 201, response.text
    assert _contacts(engine, workspace) == ["Wanda"]


def test_bad_input_is_refused_per_form_key_and_nothing_is_saved(
        client: TestClient, engine: Engine, workspace: str) -> None:
    response = client.post(f"/w/{workspace}/forms/website", json={"phone": "not a phone"})

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) == {"full_name", "phone"}  # the form's keys, not the Contact's field names
    assert all(isinstance(reason, str) and reason for reason in errors.values())
    assert _contacts(engine, workspace) == []
    assert _started(engine, workspace) == []


def test_an_oversize_body_is_refused_with_413(client: TestClient, engine: Engine, workspace: str) -> None:
    response = client.post(f"/w/{workspace}/forms/website",
                           json={**WANDA, "note": "x" * MAX_BODY_BYTES})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "API.E313"
    assert _contacts(engine, workspace) == []


@pytest.mark.parametrize("path", ["/w/{ws}/forms/nosuchform", "/w/nosuchworkspace/forms/website"],
                         ids=["unknown-form", "unknown-workspace"])
def test_unknown_forms_and_workspaces_get_the_same_404(client: TestClient, workspace: str, path: str) -> None:
    response = client.post(path.format(ws=workspace), json=WANDA)

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "there is no such form"


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b"[1, 2]", "application/json", 400),
    (b"{not json", "application/json", 400),
    (b'{"full_name": {"first": "W"}}', "application/json", 400),
    (b"\xff\xfe", "application/x-www-form-urlencoded", 400),
    (b"full_name=Wanda", "text/plain", 415),
], ids=["json-array", "broken-json", "nested-value", "not-utf8", "plain-text"])
def test_bodies_that_are_not_a_form_get_a_clear_4xx(
        client: TestClient, workspace: str, body: bytes, content_type: str, status: int) -> None:
    response = client.post(f"/w/{workspace}/forms/website", content=body,
                           headers={"content-type": content_type})

    assert response.status_code == status
    assert response.json()["error"]["message"]


def test_too_many_submissions_from_one_address_get_429_with_retry_after(
        client: TestClient, workspace: str) -> None:
    client.app.state.form_limiter = RateLimiter(limit=2, window=60)  # type: ignore[attr-defined]
    answers = [client.post(f"/w/{workspace}/forms/website", json=WANDA) for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert 1 <= int(answers[2].headers["retry-after"]) <= 60


def test_the_rate_limit_opens_again_after_its_window() -> None:
    now = [0.0]
    limiter = RateLimiter(limit=1, window=60, clock=lambda: now[0])

    assert limiter.hit("1.2.3.4", "ws", "website") is None
    assert limiter.hit("1.2.3.4", "ws", "website") == 60
    now[0] = 60.0
    assert limiter.hit("1.2.3.4", "ws", "website") is None


def test_the_rate_limiter_forgets_expired_keys_to_stay_bounded() -> None:
    now = [0.0]
    limiter = RateLimiter(limit=1, window=60, clock=lambda: now[0], max_keys=2)
    limiter.hit("a")
    limiter.hit("b")
    now[0] = 61.0
    limiter.hit("c")

    assert limiter._hits.keys() == {("c",)}


# --- hostile bodies (security review, issue 5): a clear 4xx, never a 500, nothing saved ----------

_HOSTILE_JSON = {
    "deep-nesting": b'{"full_name": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
    "moderate-nesting": b'{"full_name": ' + b"[" * 100 + b"]" * 100 + b"}",
    "5000-digit-number": b'{"full_name": "Wanda", "phone": ' + b"9" * 5_000 + b"}",
    "nan": b'{"full_name": "Wanda", "phone": NaN}',
    "infinity": b'{"full_name": "Wanda", "phone": -Infinity}',
    "overflowing-float": b'{"full_name": "Wanda", "phone": 1e999}',
    "lone-surrogate": b'{"full_name": "W\\ud800", "phone": "+10000000009"}',
    "nul": b'{"full_name": "W\\u0000", "phone": "+10000000009"}',
    "surrogate-key": b'{"\\udfff": "Wanda"}',
}


@pytest.mark.parametrize("body", list(_HOSTILE_JSON.values()), ids=list(_HOSTILE_JSON))
def test_hostile_json_bodies_get_a_clear_400_and_nothing_is_saved(
        client: TestClient, engine: Engine, workspace: str, body: bytes) -> None:
    response = client.post(f"/w/{workspace}/forms/website", content=body,
                           headers={"content-type": "application/json"})

    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]
    assert _contacts(engine, workspace) == []


def test_a_refused_character_names_the_key_escaped(client: TestClient, workspace: str) -> None:
    response = client.post(f"/w/{workspace}/forms/website", content=b'{"na\\u0000me": "W\\ud800"}',
                           headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "API.E306"
    assert 'the value of "na\\x00me"' in response.json()["error"]["message"]


@pytest.mark.parametrize("body", [b"full_name=W%00&phone=%2B10000000009", b"full_name=W%ED%A0%80",
                                  b"full%00name=Wanda"],
                         ids=["nul-value", "encoded-surrogate", "nul-key"])
def test_form_encoded_values_with_nul_or_surrogates_get_400(
        client: TestClient, engine: Engine, workspace: str, body: bytes) -> None:
    response = client.post(f"/w/{workspace}/forms/website", content=body,
                           headers={"content-type": "application/x-www-form-urlencoded"})

    assert response.status_code == 400, response.text
    assert _contacts(engine, workspace) == []


def test_multipart_values_with_nul_get_400(client: TestClient, engine: Engine, workspace: str) -> None:
    response = client.post(f"/w/{workspace}/forms/website",
                           files={"full_name": (None, "W\x00"), "phone": (None, "+10000000009")})

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "API.E306"
    assert _contacts(engine, workspace) == []


def test_a_long_but_sane_number_is_judged_per_field_not_refused_whole(
        client: TestClient, engine: Engine, workspace: str) -> None:
    response = client.post(f"/w/{workspace}/forms/website",
                           content=b'{"full_name": "Wanda", "phone": ' + b"9" * 40 + b"}",
                           headers={"content-type": "application/json"})

    assert response.status_code in (201, 422), response.text


def test_the_rate_limiter_never_holds_more_than_max_keys_even_when_none_expired() -> None:
    limiter = RateLimiter(limit=1, window=60, clock=lambda: 0.0, max_keys=100)
    for n in range(10_000):  # invented workspace names in the URL
        limiter.hit("1.2.3.4", f"ws{n}", "website")

    assert len(limiter._hits) == 100


def test_the_rate_limiter_evicts_the_least_recently_hit_key() -> None:
    limiter = RateLimiter(limit=5, window=60, clock=lambda: 0.0, max_keys=2)
    limiter.hit("a")
    limiter.hit("b")
    limiter.hit("a")
    limiter.hit("c")

    assert list(limiter._hits) == [("a",), ("c",)]


def test_the_rate_limit_is_per_address_workspace_and_form() -> None:
    limiter = RateLimiter(limit=1, window=60, clock=lambda: 0.0)
    limiter.hit("1.2.3.4", "ws", "website")

    assert limiter.hit("1.2.3.4", "ws", "website") is not None
    assert limiter.hit("1.2.3.4", "ws", "newsletter") is None
    assert limiter.hit("1.2.3.5", "ws", "website") is None


@pytest.mark.parametrize(("host", "key"), [
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("::ffff:10.0.0.1", "10.0.0.1"),
    ("10.0.0.1", "10.0.0.1"),
    ("testclient", "testclient"),
], ids=["ipv6", "ipv6-same-64", "ipv4-mapped", "ipv4", "not-an-address"])
def test_clients_are_keyed_by_ipv4_address_or_ipv6_slash_64(host: str, key: str) -> None:
    assert client_key(host) == key
