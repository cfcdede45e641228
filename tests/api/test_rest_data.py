"""POST /w/{ws}/imports/{entity} and GET /w/{ws}/exports/{entity}: token, role actions, hidden fields
and ``records: own`` as GraphQL applies them; refusals with their status and code, never a 500."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

import api.rest_data as rest_data
from api.app import create_app
from api.settings import Settings
from metamodel import apply_blueprint, load_workspace_meta
from metamodel.blueprint import parse_blueprint
from metamodel.records import RecordStore
from metamodel.tokens import create_token

CRM = """
entities:
  Contact:
    fields:
      name: {type: string, required: true}
      email: {type: email, unique: true}
      phone: {type: phone}
      score: {type: integer}
      vault: {type: reference, to: Secret}
  Secret:
    fields:
      code: {type: string}
roles:
  manager: {entities: {Contact: [read, create, update]}, records: own}
  analyst: {entities: {Contact: [read]}, hide_fields: {Contact: [phone, email]}}
  clerk: {entities: {Contact: [read, create]}, hide_fields: {Contact: [phone]}}
users:
  - {email: anna@acme.test, name: Anna, role: manager}
  - {email: oleg@acme.test, name: Oleg, role: manager}
"""
ANNA, OLEG = "anna@acme.test", "oleg@acme.test"


@dataclass
class Api:
    client: TestClient
    engine: Engine
    workspace: str

    def token(self, role: str, user: str | None = None) -> dict[str, str]:
        text, _ = create_token(self.engine, self.workspace, role, user)
        return {"Authorization": f"Bearer {text}"}

    def upload(self, content: str | bytes, *, name: str = "people.csv", role: str = "admin",
               user: str | None = None, entity: str = "Contact", **params: Any) -> Response:
        data = content.encode("utf-8") if isinstance(content, str) else content
        return self.client.post(f"/w/{self.workspace}/imports/{entity}", files={"file": (name, data)},
                                params=params, headers=self.token(role, user))

    def export(self, *, role: str = "admin", user: str | None = None, entity: str = "Contact",
               **params: Any) -> Response:
        return self.client.get(f"/w/{self.workspace}/exports/{entity}", params=params,
                               headers=self.token(role, user))

    @property
    def store(self) -> RecordStore:
        return RecordStore(self.engine, load_workspace_meta(self.engine, self.workspace))

    def names(self) -> list[str]:
        return sorted(r["name"] for r in self.store.list("Contact", first=100).records)


@pytest.fixture
def api(engine: Engine, workspace: str) -> Iterator[Api]:
    apply_blueprint(engine, parse_blueprint(CRM), workspace)
    app = create_app(Settings(database_url=str(engine.url)), engine=engine, runner=False)
    with TestClient(app) as client:
        yield Api(client, engine, workspace)


def _rows(response: Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def _code(response: Response) -> str:
    return str(response.json()["error"]["code"])


# --- import ---------------------------------------------------------------------------------------------

def test_an_upload_imports_the_rows_and_answers_the_summary(api: Api) -> None:
    response = api.upload("name,score\nAnn,1\nBob,x\n")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["failed"]) == (1, 1)
    assert body["errors"] == [{"row": 3, "column": "score", "reason": "must be a whole number"}]
    assert api.names() == ["Ann"]


def test_an_upload_without_a_token_is_refused_with_401(api: Api) -> None:
    response = api.client.post(f"/w/{api.workspace}/imports/Contact", files={"file": ("a.csv", b"name\nA\n")})

    assert response.status_code == 401
    assert api.names() == []


def test_a_role_without_create_may_not_import(api: Api) -> None:
    response = api.upload("name\nAnn\n", role="analyst")

    assert (response.status_code, _code(response)) == (403, "FORBIDDEN")
    assert api.names() == []


def test_a_role_without_update_may_not_upsert(api: Api) -> None:
    response = api.upload("name,email\nAnn,a@x.test\n", role="clerk", key="email")

    assert (response.status_code, _code(response)) == (403, "FORBIDDEN")


def test_a_column_of_a_hidden_field_is_refused(api: Api) -> None:
    response = api.upload("name,phone\nAnn,+10000000001\n", role="clerk")

    assert (response.status_code, _code(response)) == (403, "MM.E609")
    assert api.names() == []


def test_a_lookup_in_an_entity_the_role_may_not_read_is_refused(api: Api) -> None:
    api.store.create("Secret", {"code": "x1"})

    refused = api.upload("name,vault.code\nAnn,x1\n", role="clerk")
    allowed = api.upload("name,vault.code\nAnn,x1\n")

    assert (refused.status_code, _code(refused)) == (403, "MM.E609")
    assert (allowed.status_code, allowed.json()["created"]) == (200, 1)


def test_an_upsert_of_an_own_role_never_reaches_records_of_others(api: Api) -> None:
    api.upload("name,email\nOleg's,shared@x.test\n", role="manager", user=OLEG)

    response = api.upload("name,email\nAnna's,shared@x.test\n", role="manager", user=ANNA, key="email")

    body = response.json()
    assert (body["updated"], body["failed"]) == (0, 1)
    assert body["errors"][0]["column"] == "email"
    assert api.names() == ["Oleg's"]


def test_imported_records_belong_to_the_token_user(api: Api) -> None:
    api.upload("name\nMine\n", role="manager", user=ANNA)

    rows = _rows(api.export(role="manager", user=ANNA))
    assert [r["name"] for r in rows] == ["Mine"]


def test_unknown_columns_are_refused_with_422_and_the_code(api: Api) -> None:
    response = api.upload("name,colour\nAnn,red\n")

    assert (response.status_code, _code(response)) == (422, "MM.E604")
    assert response.json()["error"]["message"]


def test_unknown_columns_can_be_ignored_by_a_parameter(api: Api) -> None:
    response = api.upload("name,colour\nAnn,red\n", ignoreUnknown="true")

    assert response.json()["created"] == 1
    assert response.json()["skippedColumns"] == [{"column": "colour", "reason": "not a field of Contact"}]


def test_a_mapping_parameter_maps_columns(api: Api) -> None:
    response = api.upload("Kunde\nAnn\n", map=["Kunde=name"])

    assert response.json()["created"] == 1


def test_a_dry_run_writes_nothing(api: Api) -> None:
    response = api.upload("name\nAnn\n", dryRun="true")

    assert (response.json()["created"], response.json()["dryRun"]) == (1, True)
    assert api.names() == []


def test_an_xlsx_upload_is_imported(api: Api) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["name", "score"])
    book.active.append(["Ann", 3])
    out = io.BytesIO()
    book.save(out)

    response = api.upload(out.getvalue(), name="people.xlsx")

    assert response.json()["created"] == 1, response.text


@pytest.mark.parametrize(("kwargs", "status", "code"), [
    ({"files": {"other": ("a.csv", b"name\nA\n")}}, 400, "API.E361"),
    ({"data": {"name": "A"}}, 415, "API.E315"),
    ({"files": {"file": ("a.txt", b"name\nA\n")}}, 422, "MM.E602"),
    ({"files": {"file": ("a.csv", b"")}}, 422, "MM.E603"),
])
def test_uploads_that_cannot_be_read_are_refused(api: Api, kwargs: dict[str, Any], status: int,
                                                 code: str) -> None:
    response = api.client.post(f"/w/{api.workspace}/imports/Contact", headers=api.token("admin"), **kwargs)

    assert (response.status_code, _code(response)) == (status, code)


def test_an_oversize_upload_is_refused_with_413(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rest_data, "MAX_IMPORT_BYTES", 100)

    response = api.upload("name\n" + "Ann\n" * 100)

    assert response.status_code == 413
    assert api.names() == []


def test_an_unknown_entity_is_404(api: Api) -> None:
    response = api.upload("name\nAnn\n", entity="Nobody")

    assert (response.status_code, _code(response)) == (404, "API.E362")


def test_a_bad_map_parameter_is_400(api: Api) -> None:
    response = api.upload("name\nAnn\n", map=["name"])

    assert (response.status_code, _code(response)) == (400, "API.E360")


# --- export ---------------------------------------------------------------------------------------------

def test_an_export_answers_a_csv_of_the_filtered_sorted_records(api: Api) -> None:
    api.upload("name,score\nAnn,1\nBob,5\nCid,9\n")

    response = api.export(where='{"score": {"gte": 2}}', orderBy="score:desc")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="Contact.csv"' in response.headers["content-disposition"]
    assert [r["name"] for r in _rows(response)] == ["Cid", "Bob"]
    assert response.headers["x-record-count"] == "2"


def test_an_export_leaves_hidden_fields_out(api: Api) -> None:
    api.upload("name,email,phone\nAnn,a@x.test,+10000000001\n")

    rows = _rows(api.export(role="analyst"))

    assert rows[0]["name"] == "Ann"
    assert "email" not in rows[0] and "phone" not in rows[0]


def test_an_export_of_an_own_role_has_only_its_records(api: Api) -> None:
    api.upload("name\nAnna's\n", role="manager", user=ANNA)
    api.upload("name\nOleg's\n", role="manager", user=OLEG)

    rows = _rows(api.export(role="manager", user=OLEG))

    assert [r["name"] for r in rows] == ["Oleg's"]


def test_a_filter_on_a_hidden_field_is_forbidden(api: Api) -> None:
    response = api.export(role="analyst", where='{"email": {"eq": "a@x.test"}}')

    assert (response.status_code, _code(response)) == (403, "FORBIDDEN")


def test_a_role_without_read_may_not_export(api: Api) -> None:
    response = api.export(role="analyst", entity="Secret")

    assert (response.status_code, _code(response)) == (403, "FORBIDDEN")


@pytest.mark.parametrize("where", ["{nope", '{"colour": {"eq": 1}}'])
def test_a_bad_filter_is_400(api: Api, where: str) -> None:
    response = api.export(where=where)

    assert response.status_code == 400


def test_an_export_without_a_token_is_401(api: Api) -> None:
    assert api.client.get(f"/w/{api.workspace}/exports/Contact").status_code == 401


def test_an_xlsx_export_is_a_workbook(api: Api) -> None:
    api.upload("name,score\nAnn,4\n")

    response = api.export(format="xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in sheet[1]][:2] == ["id", "name"]
    assert sheet["B2"].value == "Ann"


def test_an_export_imports_back_by_id_unchanged(api: Api) -> None:
    api.upload("name,email,score\nAnn,a@x.test,1\nBob,b@x.test,2\n")
    exported = api.export().content

    response = api.upload(exported, name="contacts.csv", key="id")

    assert (response.json()["unchanged"], response.json()["failed"]) == (2, 0), response.text


def test_the_endpoints_are_documented_in_openapi(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]

    upload = paths["/w/{workspace}/imports/{entity}"]["post"]
    download = paths["/w/{workspace}/exports/{entity}"]["get"]
    assert {"200", "401", "403", "413", "422"} <= set(upload["responses"])
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"200", "400", "401", "403"} <= set(download["responses"])
