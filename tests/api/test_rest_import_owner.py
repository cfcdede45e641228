"""An import by a ``records: own`` role: what it creates (or updates by key) stays its own.

The ``owner`` column may name only the caller; any other owner is a row error,
also on ``key=id`` updates, while a role that sees every record may still set it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.settings import Settings
from metamodel import apply_blueprint, load_workspace_meta
from metamodel.blueprint import parse_blueprint
from metamodel.records import Actor, RecordStore
from metamodel.storage.system_tables import users
from metamodel.tokens import create_token

CRM = """
entities:
  Contact:
    fields:
      name: {type: string, required: true}
      buddy: {type: reference, to: Contact}
roles:
  manager: {entities: {Contact: [read, create, update]}, records: own}
users:
  - {email: anna@acme.test, name: Anna, role: manager}
  - {email: oleg@acme.test, name: Oleg, role: manager}
"""
ANNA, OLEG = "anna@acme.test", "oleg@acme.test"
REASON = "your role may only own its records"


@dataclass
class Api:
    client: TestClient
    engine: Engine
    workspace: str

    def upload(self, content: str, *, role: str = "manager", user: str | None = ANNA,
               **params: Any) -> dict[str, Any]:
        token, _ = create_token(self.engine, self.workspace, role, user)
        response = self.client.post(f"/w/{self.workspace}/imports/Contact", params=params,
                                    files={"file": ("people.csv", content.encode())},
                                    headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    @property
    def store(self) -> RecordStore:
        return RecordStore(self.engine, load_workspace_meta(self.engine, self.workspace))

    def user_id(self, email: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(users.c.id).where(
                users.c.workspace == self.workspace, users.c.email == email)).scalar_one())

    def owners(self) -> dict[str, int | None]:
        return {r["name"]: r["owner"] for r in self.store.list("Contact", first=100).records}


@pytest.fixture
def api(engine: Engine, workspace: str) -> Iterator[Api]:
    apply_blueprint(engine, parse_blueprint(CRM), workspace)
    app = create_app(Settings(database_url=str(engine.url)), engine=engine, runner=False)
    with TestClient(app) as client:
        yield Api(client, engine, workspace)


def test_an_own_role_may_not_import_records_owned_by_someone_else(api: Api) -> None:
    body = api.upload(f"name,owner\nTheirs,{OLEG}\n")

    assert (body["created"], body["failed"]) == (0, 1)
    assert body["errors"] == [{"row": 2, "column": "owner", "reason": REASON}]
    assert api.owners() == {}


def test_an_own_role_may_not_name_another_owner_by_id(api: Api) -> None:
    body = api.upload(f"name,owner\nTheirs,{api.user_id(OLEG)}\n")

    assert body["errors"] == [{"row": 2, "column": "owner", "reason": REASON}]


def test_an_own_role_may_name_itself_as_owner_in_any_case(api: Api) -> None:
    body = api.upload(f"name,owner\nMine,{ANNA.upper()}\nAlso mine,{api.user_id(ANNA)}\n")

    assert (body["created"], body["failed"]) == (2, 0)
    assert set(api.owners().values()) == {api.user_id(ANNA)}


def test_a_blank_owner_cell_of_an_own_role_is_the_caller(api: Api) -> None:
    body = api.upload("name,owner\nMine,\n")

    assert body["created"] == 1
    assert api.owners() == {"Mine": api.user_id(ANNA)}


def test_an_own_role_may_not_hand_its_record_over_by_id(api: Api) -> None:
    record = api.store.create("Contact", {"name": "Mine"}, actor=Actor(api.user_id(ANNA), ANNA))

    body = api.upload(f"id,name,owner\n{record['id']},Mine,{OLEG}\n", key="id")

    assert (body["updated"], body["failed"]) == (0, 1)
    assert body["errors"][0]["reason"] == REASON
    assert api.owners() == {"Mine": api.user_id(ANNA)}


def test_a_blank_owner_on_an_update_by_an_own_role_keeps_it_the_callers(api: Api) -> None:
    record = api.store.create("Contact", {"name": "Mine"}, actor=Actor(api.user_id(ANNA), ANNA))

    body = api.upload(f"id,name,owner\n{record['id']},Renamed,\n", key="id")

    assert (body["updated"], body["failed"]) == (1, 0)
    assert api.owners() == {"Renamed": api.user_id(ANNA)}


def test_a_role_that_sees_every_record_may_import_any_owner(api: Api) -> None:
    body = api.upload(f"name,owner\nTheirs,{OLEG}\n", role="admin", user=None)

    assert body["created"] == 1
    assert api.owners() == {"Theirs": api.user_id(OLEG)}


def test_an_own_role_looks_up_only_its_own_records(api: Api) -> None:
    api.store.create("Contact", {"name": "Olga"}, actor=Actor(api.user_id(OLEG), OLEG))
    api.store.create("Contact", {"name": "Ann"}, actor=Actor(api.user_id(ANNA), ANNA))

    body = api.upload("name,buddy.name\nMine,Ann\nProbe,Olga\n")

    assert (body["created"], body["failed"]) == (1, 1)
    assert body["errors"] == [{"row": 3, "column": "buddy.name", "reason": 'no Contact with name "Olga"'}]
