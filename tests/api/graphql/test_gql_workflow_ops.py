"""Workflow mutations of the generated API: runAutomation, completeTask, decideApproval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import strawberry
from sqlalchemy.engine import Engine

from api.auth import Principal
from api.graphql import GraphQLContext, build_schema
from metamodel import load_workspace_meta
from metamodel.migrate import apply_blueprint_path
from metamodel.records import RecordStore
from metamodel.storage import system_tables
from workflow import Runtime, drain, list_tasks, start_process

BLUEPRINT = """
entities:
  Deal:
    fields:
      title: {type: string, required: true}
      amount: {type: money, currency: EUR}
      secret: {type: integer}
    pipelines:
      sales:
        stages:
          - {code: new, name: New}
          - {code: won, name: Won, kind: won}
          - {code: lost, name: Lost, kind: lost}
  Lead:
    fields:
      name: {type: string, required: true}
roles:
  leadman: {entities: {Lead: [read]}}
  viewer: {entities: {Deal: [read]}, hide_fields: {Deal: [secret]}}
  seller: {entities: {Deal: [read, update]}}
users:
  - {email: anna@acme.test, name: Anna, role: seller}
  - {email: oleg@acme.test, name: Oleg, role: seller}
automations: [rules.craft]
"""

RULES = """
automation "Chase" when manual for Deal
do
  create task "Call about {title}" for owner due in 1 day
end

process "Close" for Deal
  approval "Confirm {title}" by owner options won, lost as outcome
  if outcome == "won" then
    move to stage won
  else
    move to stage lost
  end
end
"""


class Wf:
    """A workspace with a manual automation and an approval process, and a way to run GraphQL."""

    def __init__(self, engine: Engine, workspace: str) -> None:
        self.engine, self.workspace = engine, workspace
        self.meta = load_workspace_meta(engine, workspace)
        self.schema: strawberry.Schema = build_schema(self.meta)
        self.runtime = Runtime(engine, workspace=workspace)

    def user_id(self, email: str) -> int:
        users = system_tables.users
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(users.c.id).where(
                users.c.workspace == self.workspace, users.c.email == email)).scalar_one())

    def deal(self, owner: str = "anna@acme.test") -> int:
        record = RecordStore(self.engine, self.meta).create(
            "Deal", {"title": "Sofa", "owner": self.user_id(owner)})
        return int(record["id"])

    def run(self, document: str, *, role: str = "admin", email: str | None = None) -> Any:
        principal = Principal(self.workspace, role, self.user_id(email) if email else None, email, "tok")
        context = GraphQLContext(engine=self.engine, meta=self.meta, principal=principal,
                                 runtime=self.runtime)
        return self.schema.execute_sync(document, context_value=context)

    def data(self, document: str, **kwargs: Any) -> Any:
        result = self.run(document, **kwargs)
        assert result.errors is None, [e.formatted for e in result.errors]
        return result.data

    def codes(self, document: str, **kwargs: Any) -> list[str]:
        return [(e.extensions or {}).get("code", "?") for e in self.run(document, **kwargs).errors or ()]

    def task_of(self, deal: int) -> str:
        """Run the automation on ``deal`` and return the id of the task it created."""
        self.data(f'mutation {{ runAutomation(name: "Chase", recordId: "{deal}") {{ id }} }}')
        drain(self.runtime)
        return str(list_tasks(self.engine, self.workspace, limit=1)[0].id)

    def approval_of(self, deal: int) -> str:
        start_process(self.runtime, self.workspace, "Close", "Deal", deal)
        drain(self.runtime)
        return str(list_tasks(self.engine, self.workspace, status="open", limit=1)[0].id)


def make_wf(engine: Engine, workspace: str, folder: Path) -> Wf:
    (folder / "blueprint.yaml").write_text(BLUEPRINT, encoding="utf-8")
    (folder / "rules.craft").write_text(RULES, encoding="utf-8")
    apply_blueprint_path(engine, folder, workspace)
    return Wf(engine, workspace)


@pytest.fixture
def wf(engine: Engine, workspace: str, tmp_path: Path) -> Wf:
    return make_wf(engine, workspace, tmp_path)


RUN = 'mutation {{ runAutomation(name: "{name}", recordId: "{id}") {{ id status }} }}'


def test_run_automation_starts_a_run_on_the_record(wf: Wf) -> None:
    run = wf.data(RUN.format(name="Chase", id=wf.deal()))["runAutomation"]
    assert run["status"] in ("running", "waiting") and int(run["id"]) > 0


def test_an_unknown_automation_keeps_its_workflow_code(wf: Wf) -> None:
    assert wf.codes(RUN.format(name="Nope", id=wf.deal())) == ["WF_UNKNOWN_AUTOMATION"]


def test_run_automation_on_a_missing_record_is_not_found(wf: Wf) -> None:
    assert wf.codes(RUN.format(name="Chase", id=999999)) == ["NOT_FOUND"]


def test_run_automation_needs_update_on_the_entity(wf: Wf) -> None:
    assert wf.codes(RUN.format(name="Chase", id=wf.deal()), role="viewer") == ["FORBIDDEN"]


def test_a_role_with_update_may_run_an_automation(wf: Wf) -> None:
    document = RUN.format(name="Chase", id=wf.deal())
    assert wf.data(document, role="seller", email="anna@acme.test")["runAutomation"]["id"]


def test_complete_task_closes_the_task(wf: Wf) -> None:
    task = wf.task_of(wf.deal())
    done = wf.data(f'mutation {{ completeTask(id: "{task}") {{ id status }} }}')["completeTask"]
    assert done == {"id": task, "status": "done"}


def test_the_assignee_may_complete_their_task(wf: Wf) -> None:
    task = wf.task_of(wf.deal("anna@acme.test"))
    document = f'mutation {{ completeTask(id: "{task}") {{ status }} }}'
    assert wf.data(document, role="seller", email="anna@acme.test")["completeTask"]["status"] == "done"


def test_another_user_may_not_complete_a_task(wf: Wf) -> None:
    task = wf.task_of(wf.deal("anna@acme.test"))
    document = f'mutation {{ completeTask(id: "{task}") {{ status }} }}'
    assert wf.codes(document, role="seller", email="oleg@acme.test") == ["FORBIDDEN"]


def test_a_closed_task_keeps_its_workflow_code(wf: Wf) -> None:
    task = wf.task_of(wf.deal())
    document = f'mutation {{ completeTask(id: "{task}") {{ status }} }}'
    wf.data(document)
    assert wf.codes(document) == ["WF_TASK_CLOSED"]


def test_a_task_of_another_workspace_is_not_found(wf: Wf, engine: Engine, tmp_path: Path) -> None:
    task = wf.task_of(wf.deal())
    (tmp_path / "other").mkdir()
    other = make_wf(engine, f"{wf.workspace}_b", tmp_path / "other")
    assert other.codes(f'mutation {{ completeTask(id: "{task}") {{ status }} }}') == ["NOT_FOUND"]


def test_decide_approval_records_the_outcome_and_moves_the_process(wf: Wf) -> None:
    deal = wf.deal()
    approval = wf.approval_of(deal)
    document = f'mutation {{ decideApproval(id: "{approval}", option: "won") {{ id status outcome }} }}'
    decided = wf.data(document)
    assert decided["decideApproval"] == {"id": approval, "status": "done", "outcome": "won"}
    drain(wf.runtime)
    assert RecordStore(wf.engine, wf.meta).get("Deal", deal)["stage"] == "won"


def test_an_option_the_approval_does_not_offer_keeps_its_workflow_code(wf: Wf) -> None:
    approval = wf.approval_of(wf.deal())
    document = f'mutation {{ decideApproval(id: "{approval}", option: "maybe") {{ id }} }}'
    assert wf.codes(document) == ["WF_BAD_OPTION"]
