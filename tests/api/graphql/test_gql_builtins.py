"""Built-in queries of the generated API: tasks, processInstances and a record's history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from test_gql_workflow_ops import Wf, make_wf

from metamodel.records import Actor, RecordStore
from workflow import drain, start_process

TASKS = "{{ tasks({args}) {{ title status kind assigneeEmail entity recordId options }} }}"


@pytest.fixture
def wf(engine: Engine, workspace: str, tmp_path: Path) -> Wf:
    return make_wf(engine, workspace, tmp_path)


def _chase(wf: Wf, owner: str = "anna@acme.test") -> int:
    deal = wf.deal(owner)
    wf.data(f'mutation {{ runAutomation(name: "Chase", recordId: "{deal}") {{ id }} }}')
    drain(wf.runtime)
    return deal


def _titles(wf: Wf, args: str = "first: 50", **kwargs: Any) -> list[str]:
    return [t["title"] for t in wf.data(TASKS.format(args=args), **kwargs)["tasks"]]


def test_tasks_lists_the_tasks_with_their_assignee_and_record(wf: Wf) -> None:
    deal = _chase(wf)
    [task] = wf.data(TASKS.format(args="first: 50"))["tasks"]
    assert task == {"title": "Call about Sofa", "status": "open", "kind": "task",
                    "assigneeEmail": "anna@acme.test", "entity": "Deal", "recordId": str(deal), "options": []}


def test_tasks_filter_by_status(wf: Wf) -> None:
    _chase(wf)
    task = wf.data("{ tasks { id } }")["tasks"][0]["id"]
    wf.data(f'mutation {{ completeTask(id: "{task}") {{ id }} }}')
    _chase(wf)
    assert [t["status"] for t in wf.data(TASKS.format(args='where: {status: "done"}'))["tasks"]] == ["done"]


def test_tasks_filter_by_assignee_email(wf: Wf) -> None:
    _chase(wf, "anna@acme.test")
    _chase(wf, "oleg@acme.test")
    found = wf.data(TASKS.format(args='where: {assigneeEmail: "oleg@acme.test"}'))["tasks"]
    assert [t["assigneeEmail"] for t in found] == ["oleg@acme.test"]


def test_tasks_first_bounds_the_list(wf: Wf) -> None:
    for _ in range(3):
        _chase(wf)
    assert len(_titles(wf, "first: 2")) == 2


def test_tasks_about_an_entity_the_role_may_not_read_are_not_shown(wf: Wf) -> None:
    _chase(wf)
    assert _titles(wf, role="leadman") == []


def test_an_unknown_task_status_keeps_its_workflow_code(wf: Wf) -> None:
    assert wf.codes(TASKS.format(args='where: {status: "nope"}')) == ["WF_BAD_STATUS"]


def test_tasks_cost_one_statement_however_many_there_are(wf: Wf) -> None:
    for _ in range(5):
        _chase(wf)
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(wf.engine, "before_cursor_execute", count)
    try:
        assert len(_titles(wf)) == 5
    finally:
        sa.event.remove(wf.engine, "before_cursor_execute", count)
    assert len([s for s in seen if "sc_tasks" in s]) == 1


PROCESSES = ("{{ processInstances({args}) "
             "{{ kind name record entity recordId status position wakeAt error }} }}")


def test_process_instances_show_where_a_process_stands(wf: Wf) -> None:
    deal = wf.deal()
    start_process(wf.runtime, wf.workspace, "Close", "Deal", deal)
    drain(wf.runtime)
    [instance] = wf.data(PROCESSES.format(args="first: 50"))["processInstances"]
    assert {k: instance[k] for k in ("kind", "name", "record", "entity", "recordId", "status", "error")} == {
        "kind": "process", "name": "Close", "record": f"Deal #{deal}", "entity": "Deal",
        "recordId": str(deal), "status": "waiting", "error": None}
    assert instance["position"] >= 0


def test_process_instances_filter_by_status(wf: Wf) -> None:
    start_process(wf.runtime, wf.workspace, "Close", "Deal", wf.deal())
    drain(wf.runtime)
    assert wf.data(PROCESSES.format(args='status: "done"'))["processInstances"] == []
    assert len(wf.data(PROCESSES.format(args='status: "waiting"'))["processInstances"]) == 1


def test_process_instances_of_an_entity_the_role_may_not_read_are_not_shown(wf: Wf) -> None:
    start_process(wf.runtime, wf.workspace, "Close", "Deal", wf.deal())
    drain(wf.runtime)
    assert wf.data(PROCESSES.format(args="first: 50"), role="leadman")["processInstances"] == []


def test_an_unknown_run_status_keeps_its_workflow_code(wf: Wf) -> None:
    assert wf.codes(PROCESSES.format(args='status: "nope"')) == ["WF_BAD_STATUS"]


HISTORY = '{{ history(entity: "Deal", recordId: "{id}") {{ who field old new at }} }}'


def _changed_deal(wf: Wf) -> int:
    store = RecordStore(wf.engine, wf.meta)
    deal = wf.deal()
    store.update("Deal", deal, {"title": "Chair", "secret": 7}, actor=Actor(None, "anna@acme.test"))
    return deal


def test_history_says_who_changed_which_field_from_what_to_what(wf: Wf) -> None:
    entries = wf.data(HISTORY.format(id=_changed_deal(wf)))["history"]
    title = next(e for e in entries if e["field"] == "title" and e["new"] == "Chair")
    assert (title["who"], title["old"], title["new"]) == ("anna@acme.test", "Sofa", "Chair")
    assert title["at"]


def test_history_leaves_out_fields_hidden_from_the_role(wf: Wf) -> None:
    deal = _changed_deal(wf)
    assert "secret" in {e["field"] for e in wf.data(HISTORY.format(id=deal))["history"]}
    fields = {e["field"] for e in wf.data(HISTORY.format(id=deal), role="viewer")["history"]}
    assert "secret" not in fields and "title" in fields


def test_history_needs_read_on_the_entity(wf: Wf) -> None:
    assert wf.codes(HISTORY.format(id=_changed_deal(wf)), role="leadman") == ["FORBIDDEN"]


def test_history_of_a_missing_record_is_not_found(wf: Wf) -> None:
    assert wf.codes(HISTORY.format(id=999999)) == ["NOT_FOUND"]
