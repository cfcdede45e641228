"""``stagecraft simulate``: a blueprint against a scenario, on a virtual clock and a throwaway database.

DESIGN.md decision 8: a consultant tests "3 days later" in a second.  The scenario is parsed first
(every problem at its place, before anything runs), the blueprint is applied to the scenario's
workspace in a temporary SQLite file that is removed afterwards, and each step goes through
:class:`workflow.Simulation` — the same functions the API and the engine use, so a green scenario
says something about production.  Timeline entries are handed to ``emit`` as they happen, so a long
scenario shows progress and a failing step still leaves the story that led to it on the screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from metamodel import apply_blueprint_path
from metamodel.errors import MetamodelError
from workflow import Simulation, WorkflowError, run_manual, start_process
from workflow.scenario import (
    Advance,
    Broadcast,
    CompleteTask,
    Create,
    Decide,
    Delete,
    ExpectStep,
    Facts,
    Move,
    Run,
    Scenario,
    ScenarioInvalid,
    ScenarioProblem,
    Step,
    Submit,
    Update,
    Webhook,
    check_expectation,
    load_scenario,
)

Event = dict[str, Any]
Emit = Callable[[Event], None]
USER_FIELDS = ("owner", "created_by")
BAD_WORKSPACE_NAME = "MM.E003"


class ScenarioStepFailed(WorkflowError):
    """A step could not be carried out (an unknown alias, a refused value…); ``place`` is file:line."""

    code = "WF_STEP_FAILED"

    def __init__(self, place: str, cause: Exception) -> None:
        code = getattr(cause, "code", type(cause).__name__)
        message = getattr(cause, "message", None) or str(cause)
        super().__init__(f"{place} {code} {message}", code=self.code)
        self.detail = f"{code} {message}"
        self.place = place
        self.cause = cause

    def __str__(self) -> str:
        return self.message


@dataclass
class SimulationResult:
    """What a finished scenario leaves: how many expects ran, and every mismatch with its place."""

    expects: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def simulate(blueprint: Path, scenario_file: Path, emit: Emit) -> SimulationResult:
    """Run ``scenario_file`` against ``blueprint``; raises ScenarioInvalid, a MetamodelError (a bad
    blueprint) or :class:`ScenarioStepFailed` — each already worded with its place."""
    scenario = load_scenario(scenario_file)
    with throwaway_engine() as engine:
        try:
            apply_blueprint_path(engine, blueprint, scenario.workspace)
        except MetamodelError as exc:
            if exc.code == BAD_WORKSPACE_NAME:  # the name is the scenario's: say so there
                raise ScenarioInvalid([_workspace_problem(scenario, exc.message)]) from None
            raise
        sim = Simulation(engine, scenario.workspace, scenario.start)
        return ScenarioRunner(sim, scenario, emit).run()


def _workspace_problem(scenario: Scenario, message: str) -> ScenarioProblem:
    """The refused workspace name, placed at the scenario's ``workspace:`` line."""
    try:
        lines = Path(scenario.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("workspace:"):
            value = line[len("workspace:"):]
            return ScenarioProblem(scenario.file, number, len(line) - len(value.lstrip()) + 1, message)
    return ScenarioProblem(scenario.file, 1, 1, message)


@contextmanager
def throwaway_engine() -> Iterator[Engine]:
    """An initialised SQLite database in a temporary directory, removed with everything in it."""
    from metamodel.db import throwaway_engine as engine_on_temporary_database

    with engine_on_temporary_database() as engine:
        yield engine


class ScenarioRunner:
    """Carries out a scenario's steps on a :class:`Simulation`, emitting the timeline as it grows."""

    def __init__(self, sim: Simulation, scenario: Scenario, emit: Emit) -> None:
        self.sim = sim
        self.scenario = scenario
        self.emit = emit
        self.result = SimulationResult()
        self._shown = 0

    def run(self) -> SimulationResult:
        for step in self.scenario.steps:
            place = f"{self.scenario.file}:{step.line}"
            try:
                self.do(step, place)
            except (MetamodelError, WorkflowError) as exc:
                failure = ScenarioStepFailed(place, exc)
                self.flush()
                self.emit({"at": self._now(), "kind": "error", "place": place, "error": failure.detail})
                raise failure from exc
            self.flush()
        return self.result

    def do(self, step: Step, place: str) -> None:
        """One step; ``expect`` compares what happened so far."""
        sim = self.sim
        if isinstance(step, Create):
            sim.create(step.entity, step.values, step.alias)
        elif isinstance(step, Update):
            sim.update(step.alias, step.values)
        elif isinstance(step, Move):
            sim.move(step.alias, step.stage, step.pipeline)
        elif isinstance(step, Delete):
            sim.delete(step.alias)
        elif isinstance(step, Advance):
            sim.advance(step.delta)
        elif isinstance(step, Submit):
            sim.submit(step.form, step.values)
        elif isinstance(step, Webhook):
            sim.webhook(step.name, step.payload)
        elif isinstance(step, Run):
            self.run_by_hand(step)
        elif isinstance(step, CompleteTask):
            sim.complete_task(step.title)
        elif isinstance(step, Decide):
            sim.complete_task(step.title, step.option)
        elif isinstance(step, Broadcast):
            step.run(sim)
        elif isinstance(step, ExpectStep):
            self.check(step, place)

    def run_by_hand(self, step: Run) -> None:
        """``run: NAME`` + ``on: alias``: a ``manual for E`` automation, or else the process of that name
        (spec: "a process starts from ``start process`` or by hand on a record")."""
        entity, record_id = self.sim.aliases.get(step.alias, ("", 0))
        if not entity:
            self.sim.run(step.automation, step.alias)  # raises the simulator's "no record is called…"
            return
        try:
            run_manual(self.sim.runtime, self.sim.workspace, step.automation, entity, record_id)
            kind = "manual run"
        except WorkflowError as exc:
            if exc.code != "WF_UNKNOWN_AUTOMATION":
                raise
            try:
                start_process(self.sim.runtime, self.sim.workspace, step.automation, entity, record_id)
            except WorkflowError:
                raise exc from None
            kind = "process started"
        self.sim.timeline.append({"at": self._now(), "kind": kind, "name": step.automation,
                                  "entity": entity, "record_id": record_id, "alias": step.alias})
        self.sim.settle()

    def check(self, step: ExpectStep, place: str) -> None:
        self.flush()
        mismatches = check_expectation(step.expect, facts_of(self.sim))
        self.result.expects += 1
        self.result.failures.extend(f"{place} {line}" for line in mismatches)
        self.emit({"at": self._now(), "kind": "expect", "place": place, "ok": not mismatches,
                   **({"mismatches": mismatches} if mismatches else {})})

    def flush(self) -> None:
        """Emit, in time order, the timeline entries the simulator added since the last flush."""
        timeline = self.sim.timeline
        fresh = timeline[self._shown:]
        self._shown = len(timeline)
        emails = self.sim.emails() if fresh else {}
        for entry in fresh:
            self.emit(plain(with_emails(entry, emails)))

    def _now(self) -> str:
        return self.sim.clock.now().isoformat()


def with_emails(entry: Mapping[str, Any], emails: Mapping[int, str]) -> dict[str, Any]:
    """A timeline entry that names people by email too, not only by user id."""
    found = dict(entry)
    for key, named in (("user_id", "user"), ("assignee", "assignee")):
        if isinstance(entry.get(key), int):
            found[named] = emails.get(entry[key], entry[key])
    return found


def facts_of(sim: Simulation) -> Facts:
    """What the simulator's tables hold, in the plain shape ``check_expectation`` reads."""
    emails = sim.emails()
    instances = sim.instances()
    records = {alias: _record_fact(sim.get(alias), emails) for alias in sim.aliases}
    errors = [f'run {i["id"]} "{i["name"]}": {i["error"]}' for i in instances if i["status"] == "failed"]
    errors += [f'incident: {e.get("reason") or e.get("error") or e}' for e in sim.timeline
               if e.get("kind") == "incident"]
    return Facts(
        messages=[{"channel": m["channel"], "to": m["recipient"], "subject": m["subject"], "body": m["body"]}
                  for m in sim.messages()],
        tasks=[{"title": t["title"], "assignee": emails.get(t["assignee_id"]), "status": t["status"],
                "due_at": t["due_at"]}
               for t in sim.tasks()],
        notifications=[{"to": emails.get(n["user_id"]), "text": n["text"]} for n in sim.notifications()],
        records=records, instances=instances, errors=errors,
        ids={alias: record_id for alias, (_, record_id) in sim.aliases.items()})


def _record_fact(record: Mapping[str, Any], emails: Mapping[int, str]) -> dict[str, Any]:
    """A record as an ``expect`` reads it: people by email (``owner: sam@spec.test``)."""
    fact = dict(record)
    for name in USER_FIELDS:
        if fact.get(name) is not None:
            fact[name] = emails.get(fact[name], fact[name])
    return fact


def plain(value: Any) -> Any:
    """``value`` with only JSON types: moments as ISO text, decimals as numbers or text."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, str):
        return str(value)
    return value


# ---- the timeline as lines a person reads ----------------------------------------------------
_QUIET = ("at", "kind", "run", "name", "type")
_TEMPLATES: dict[str, str] = {
    "record created": "{entity} {alias} created (#{record_id})",
    "record updated": "{alias} updated: {values}",
    "record deleted": "{alias} deleted",
    "changed": "changed {entity} #{record_id}: {values}",
    "stage changed": "{alias} moved to stage {stage}",
    "time advanced": "clock moved on by {by}",
    "started": "{type} started on {entity} #{record_id}",
    "message": "{channel} to {to}: {subject}",
    "task": 'task "{title}" for {assignee} due {due_at}',
    "notification": 'notified {user}: "{text}"',
    "waiting": "waiting until {until}",
    "moved": "moved {entity} #{record_id} to stage {stage}",
    "created": "created {entity} #{record_id}",
    "failed": "FAILED: {error}",
    "error": "step at {place} failed: {error}",
}


def timeline_line(event: Mapping[str, Any]) -> str:
    """One readable line: virtual time, what happened, which run, and the details."""
    at = str(event.get("at", ""))[:19].replace("T", " ")
    kind = str(event.get("kind", ""))
    if kind == "expect":
        verdict = "ok" if event.get("ok") else "FAILED"
        return f"{at}  {'expect':<15} {event.get('place')} {verdict}"
    run = f'[run {event["run"]} "{event.get("name")}"] ' if event.get("run") is not None else ""
    return f"{at}  {kind:<15} {run}{_describe(kind, event)}".rstrip()


def _describe(kind: str, event: Mapping[str, Any]) -> str:
    template = _TEMPLATES.get(kind)
    values = {k: "—" if v is None else _short(v) for k, v in event.items()}
    if kind == "waiting" and event.get("until") is None:
        template = "waiting for task #{task_id}" if event.get("task_id") is not None else None
    if template is not None:
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            pass
    return " ".join(f"{k}={_short(v)}" for k, v in event.items() if k not in _QUIET and v is not None)


_SPACE = re.compile(r"\s+")


def _short(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    text = _SPACE.sub(" ", str(plain(value)))
    return text if len(text) <= 80 else text[:79] + "…"
