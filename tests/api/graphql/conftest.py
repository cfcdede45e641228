"""Fixtures of the generated-GraphQL tests: a CRM blueprint applied on SQLite and PostgreSQL.

``gql`` runs a document against ``build_schema(meta)`` as a principal of a
given role (and user), the way the endpoint does, and returns the result.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
import strawberry
from sqlalchemy.engine import Engine
from strawberry.types import ExecutionResult

from api.auth import Principal
from api.graphql import GraphQLContext, build_schema
from metamodel import apply_blueprint, load_workspace_meta
from metamodel.blueprint import parse_blueprint
from metamodel.records import Actor, RecordStore
from metamodel.storage import system_tables
from metamodel.storage.catalog import WorkspaceMeta

CRM = """
entities:
  Company:
    plural: companies
    fields:
      name: {type: string, required: true, max_length: 200}
      industry: {type: enum, options: [retail, it, other]}
  Contact:
    fields:
      name: {type: string, required: true}
      email: {type: email}
      phone: {type: phone}
      company: {type: reference, to: Company, inverse: contacts}
      tags: {type: tags}
  Deal:
    fields:
      title: {type: string, required: true, max_length: 50}
      amount: {type: money, currency: RUB}
      contact: {type: reference, to: Contact, inverse: deals}
      paid: {type: boolean, default: false}
      due_on: {type: date}
      score: {type: integer, min: 0, max: 100}
      margin: {type: formula, expr: "amount * 0.2", returns: money}
    pipelines:
      sales:
        stages:
          - {code: new, name: New}
          - {code: negotiation, name: Negotiation}
          - {code: won, name: Paid, kind: won}
          - {code: lost, name: Lost, kind: lost}
roles:
  manager: {entities: {Deal: [read, create, update], Contact: [read, create, update]}, records: own}
  analyst: {entities: {"*": [read]}, hide_fields: {Contact: [phone, email]}}
  dealer: {entities: {Deal: [read, create, update, delete]}}
  clerk: {entities: {Contact: [read, create, update]}, hide_fields: {Contact: [phone]}}
users:
  - {email: anna@acme.test, name: Anna, role: manager}
  - {email: oleg@acme.test, name: Oleg, role: manager}
"""


@dataclass
class Crm:
    """One applied workspace: its engine and metadata, a store, and a way to run GraphQL."""

    engine: Engine
    meta: WorkspaceMeta
    schema: strawberry.Schema

    @property
    def store(self) -> RecordStore:
        return RecordStore(self.engine, self.meta)

    def user_id(self, email: str) -> int:
        users = system_tables.users
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(users.c.id).where(
                users.c.workspace == self.meta.workspace, users.c.email == email)).scalar_one())

    def actor(self, email: str) -> Actor:
        return Actor(self.user_id(email), email)

    def seed_deals(self, count: int, *, actor: Actor | None = None) -> list[int]:
        """``count`` deals, each with its own contact and company; their ids."""
        store = self.store
        ids = []
        for i in range(count):
            company = store.create("Company", {"name": f"Company {i}"}, actor=actor)
            contact = store.create("Contact", {"name": f"Contact {i}", "company": company["id"]}, actor=actor)
            deal = store.create("Deal", {"title": f"Deal {i}", "amount": f"{100 * (i + 1)}.50",
                                         "contact": contact["id"]}, actor=actor)
            ids.append(deal["id"])
        return ids

    def reapply(self, old: str, new: str) -> None:
        """Apply the CRM blueprint again with ``old`` replaced by ``new`` (``meta`` stays the old one)."""
        apply_blueprint(self.engine, parse_blueprint(CRM.replace(old, new)), self.meta.workspace)

    def statements(self) -> StatementCounter:
        """A context counting the SQL statements sent while it is open."""
        return StatementCounter(self.engine)

    def run(self, document: str, *, role: str = "admin", email: str | None = None,
            variables: dict[str, Any] | None = None) -> ExecutionResult:
        user_id = self.user_id(email) if email else None
        principal = Principal(self.meta.workspace, role, user_id, email, "tok")
        context = GraphQLContext(engine=self.engine, meta=self.meta, principal=principal)
        return self.schema.execute_sync(document, variable_values=variables, context_value=context)

    def data(self, document: str, **kwargs: Any) -> Any:
        """The data of a run that must succeed."""
        result = self.run(document, **kwargs)
        assert result.errors is None, [e.formatted for e in result.errors or ()]
        return result.data

    def codes(self, document: str, **kwargs: Any) -> list[str]:
        """The ``extensions.code`` of every error of a run."""
        result = self.run(document, **kwargs)
        return [(e.extensions or {}).get("code", "?") for e in result.errors or ()]


def apply_crm(engine: Engine, workspace: str, text: str = CRM) -> WorkspaceMeta:
    apply_blueprint(engine, parse_blueprint(text), workspace)
    return load_workspace_meta(engine, workspace)


@pytest.fixture
def crm(engine: Engine, workspace: str) -> Iterator[Crm]:
    meta = apply_crm(engine, workspace)
    yield Crm(engine, meta, build_schema(meta))


class StatementCounter:
    """Counts SQL statements sent on ``engine`` while active."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0
        self.seen: list[str] = []

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        self.seen.append(statement)

    def __enter__(self) -> StatementCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)
