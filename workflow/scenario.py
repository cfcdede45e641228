"""Simulation scenarios (spec/cli.md): YAML in, typed frozen steps out, or every problem with its place.

A consultant writes the scenario by hand and runs it often, so the parser reports *all* problems at
once, each as ``file:line:col WF_BAD_SCENARIO message`` with a did-you-mean where one helps, before
the simulator touches a database.  Parsing is strict (an unknown key is an error, not ignored):
a misspelt ``expect`` key that silently asserted nothing would make a broken automation look green.

Aliases: a string value in ``create``/``update`` values (and ``expect: {record: …}``) that names a
record bound earlier with ``as:`` becomes an :class:`Alias`; the runner resolves it to the record's
id where the field is a reference.  Every step names an alias bound by an earlier step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Not exported by metamodel/__init__.py (yet): the project's one YAML loader that keeps positions.
from metamodel.blueprint.yaml_positions import load_located
from workflow.broadcasts_scenario import BROADCAST_KEYS, Broadcast, read_broadcast
from workflow.errors import WorkflowError
from workflow.scenario_expect import (
    BAD_SCENARIO,
    Alias,
    Expect,
    Facts,
    Findings,
    MessageExpect,
    NotificationExpect,
    ScenarioProblem,
    TaskExpect,
    YamlPath,
    check_expectation,
    did_you_mean,
    parse_expect,
)

__all__ = [
    "Advance", "Alias", "Broadcast", "CompleteTask", "Create", "Decide", "Delete", "Expect", "ExpectStep",
    "Facts", "MessageExpect", "Move", "NotificationExpect", "Run", "Scenario", "ScenarioInvalid",
    "ScenarioProblem", "Step", "Submit", "TaskExpect", "Update", "Webhook", "check_expectation",
    "load_scenario", "parse_duration", "parse_scenario",
]

DEFAULT_WORKSPACE = "sim"


class ScenarioInvalid(WorkflowError):
    """A scenario that cannot run; ``problems`` lists every finding in file order."""

    code = BAD_SCENARIO

    def __init__(self, problems: list[ScenarioProblem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (p.line, p.col)))
        count = len(self.problems)
        super().__init__(f"the scenario has {count} problem{'' if count == 1 else 's'}",
                         hint="fix the places listed and run it again")

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


# ---- steps: ``line`` is where the step starts (for the runner's errors), not part of equality ----
@dataclass(frozen=True, slots=True, kw_only=True)
class Create:
    entity: str
    values: dict[str, Any] = field(default_factory=dict)
    alias: str | None = None
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Update:
    alias: str
    values: dict[str, Any]
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Move:
    alias: str
    stage: str
    pipeline: str | None = None
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Delete:
    alias: str
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Advance:
    delta: timedelta
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Submit:
    form: str
    values: dict[str, Any] = field(default_factory=dict)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Webhook:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """``run: "automation name"`` with ``on: alias``: a manual trigger."""

    automation: str
    alias: str
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteTask:
    """Complete the first open task whose title contains ``title`` (case-insensitive)."""

    title: str
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Decide:
    """Decide the first open approval whose title contains ``title``, choosing ``option``."""

    title: str
    option: str
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectStep:
    expect: Expect
    line: int = field(default=0, compare=False)


Step: TypeAlias = (Create | Update | Move | Delete | Advance | Submit | Webhook | Run | CompleteTask
                   | Decide | Broadcast | ExpectStep)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A whole scenario; ``start`` is aware UTC, ``time_zone`` None means the workspace's zone."""

    start: datetime
    steps: tuple[Step, ...] = ()
    workspace: str = DEFAULT_WORKSPACE
    time_zone: str | None = None
    file: str = "<scenario>"


def load_scenario(path: str | Path) -> Scenario:
    """Read and parse a scenario file; an unreadable file is a :class:`ScenarioInvalid` too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioInvalid([ScenarioProblem(str(path), 1, 1, f"cannot read the file: {exc}")]) from exc
    return parse_scenario(text, str(path))


def parse_scenario(text: str, file: str = "<scenario>") -> Scenario:
    """The scenario in ``text``, or :class:`ScenarioInvalid` carrying every problem found."""
    doc = load_located(text, file)
    if doc.problems:
        raise ScenarioInvalid([ScenarioProblem(file, p.place.line or 1, p.place.col or 1, p.message)
                               for p in doc.problems])
    found = Findings(doc)
    data = doc.data if isinstance(doc.data, dict) else {}
    if not isinstance(doc.data, dict):
        found.at_value((), "a scenario is a mapping with start and steps (see spec/cli.md)")
    found.unknown_keys(data, (), _TOP_KEYS, "the scenario")
    workspace = found.text(data, (), "workspace", required=False) or DEFAULT_WORKSPACE
    start, zone = _start(found, data), _zone(found, data)
    steps = _steps(found, data.get("steps"))
    if found.problems or start is None:
        raise ScenarioInvalid(found.problems)
    return Scenario(start=start, steps=steps, workspace=workspace, time_zone=zone, file=file)


_TOP_KEYS = ("workspace", "start", "time_zone", "steps")


def _start(found: Findings, data: dict[str, Any]) -> datetime | None:
    if "start" not in data:
        found.at_value((), 'a scenario needs "start", e.g. start: "2026-03-02T09:00:00Z"')
        return None
    text = found.text(data, (), "start")
    try:
        return parse_start(text) if text is not None else None
    except ValueError as exc:
        found.at_value(("start",), str(exc))
        return None


def _zone(found: Findings, data: dict[str, Any]) -> str | None:
    name = found.text(data, (), "time_zone", required=False)
    try:
        if name is not None:
            ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        found.at_value(("time_zone",), f'unknown time zone "{name}"; use an IANA name like "Europe/Berlin"')
        return None
    return name


def parse_start(text: str) -> datetime:
    """An ISO date-time with ``Z`` or an offset, as aware UTC; ValueError says what is wrong."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(f'"{text}" is not an ISO date-time; write e.g. "2026-03-02T09:00:00Z"') from exc
    if moment.tzinfo is None:
        raise ValueError(f'"{text}" has no time zone; end it with Z or an offset such as +01:00')
    return moment.astimezone(UTC)


# ---- steps -------------------------------------------------------------------------------------
_EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "create": ("as", "values"), "update": ("values",), "move": ("to", "pipeline"), "delete": (),
    "advance": (), "submit": ("values",), "webhook": ("payload",), "run": ("on",), "complete_task": (),
    "decide": ("option",), "broadcast": BROADCAST_KEYS, "expect": (),
}


class _StepReader:
    """Reads one step; knows the aliases bound so far (``as:`` of earlier ``create`` steps)."""

    def __init__(self, found: Findings) -> None:
        self.found = found
        self.aliases: dict[str, int] = {}

    def read(self, item: Any, path: YamlPath) -> Step | None:
        if not isinstance(item, dict) or not item:
            self.found.at_value(path, "a step is a mapping such as {advance: 1 day}")
            return None
        kind = self._kind(item, path)
        if kind is None:
            return None
        self._extra_keys(kind, item, path)
        step = _READERS[kind](self, item, path)
        line = self.found.doc.key_place(path).line
        return None if step is None else replace(step, line=line)

    def _kind(self, item: dict[str, Any], path: YamlPath) -> str | None:
        kinds = [key for key in item if key in _EXTRA_KEYS]
        if len(kinds) > 1:
            self.found.at_key((*path, kinds[1]), f'a step names exactly one kind; this one has "{kinds[0]}" '
                                                 f'and "{kinds[1]}" (split it into two steps)')
            return None
        if kinds:
            return kinds[0]
        extras = {key for keys in _EXTRA_KEYS.values() for key in keys}
        unknown = [key for key in item if key not in extras]
        for key in unknown:
            self.found.at_key((*path, key), f'unknown step kind "{key}"{did_you_mean(key, _EXTRA_KEYS)} '
                                            f"(kinds: {', '.join(_EXTRA_KEYS)})")
        if not unknown:
            self.found.at_key(path, f"a step needs one of: {', '.join(_EXTRA_KEYS)}")
        return None

    def _extra_keys(self, kind: str, item: dict[str, Any], path: YamlPath) -> None:
        allowed = _EXTRA_KEYS[kind]
        for key in item:
            if key == kind or key in allowed:
                continue
            if kind == "update" and key == "as":
                message = 'an update takes no "as": the record already has its alias'
            else:
                takes = f"it takes {', '.join(allowed)}" if allowed else "it takes nothing else"
                message = f'"{kind}" takes no "{key}"{did_you_mean(key, allowed)} ({takes})'
            self.found.at_key((*path, key), message)

    def alias(self, item: dict[str, Any], path: YamlPath, key: str) -> str:
        name = self.found.text(item, path, key) or ""
        if name and name not in self.aliases:
            known = ", ".join(sorted(self.aliases)) or "none yet"
            self.found.at_value((*path, key), f'no record is called "{name}" yet'
                                              f"{did_you_mean(name, self.aliases)} (known: {known})")
        return name

    def values(self, item: dict[str, Any], path: YamlPath, key: str, *, aliases: bool) -> dict[str, Any]:
        if key not in item:
            return {}
        found = self.found.mapping(item[key], (*path, key), "{name: Ann}") or {}
        if not aliases:
            return found
        return {k: Alias(v) if isinstance(v, str) and v in self.aliases else v for k, v in found.items()}


def _steps(found: Findings, value: Any) -> tuple[Step, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        found.at_value(("steps",), '"steps" must be a list of steps (each line starting with "- ")')
        return ()
    reader = _StepReader(found)
    read = (reader.read(item, ("steps", index)) for index, item in enumerate(value))
    return tuple(step for step in read if step is not None)


def _create(r: _StepReader, item: dict[str, Any], path: YamlPath) -> Step:
    values = r.values(item, path, "values", aliases=True)
    alias = r.found.text(item, path, "as", required=False)
    if alias is not None and alias in r.aliases:
        r.found.at_value((*path, "as"), f'"{alias}" already names the record of line {r.aliases[alias]}')
    elif alias is not None:
        r.aliases[alias] = r.found.doc.key_place(path).line
    return Create(entity=r.found.text(item, path, "create") or "", values=values, alias=alias)


def _update(r: _StepReader, item: dict[str, Any], path: YamlPath) -> Step:
    if "values" not in item:
        r.found.at_key(path, 'an update needs "values", e.g. values: {paid: true}')
    return Update(alias=r.alias(item, path, "update"), values=r.values(item, path, "values", aliases=True))


def _move(r: _StepReader, item: dict[str, Any], path: YamlPath) -> Step:
    return Move(alias=r.alias(item, path, "move"), stage=r.found.text(item, path, "to") or "",
                pipeline=r.found.text(item, path, "pipeline", required=False))


def _advance(r: _StepReader, item: dict[str, Any], path: YamlPath) -> Step | None:
    value = item["advance"]
    if not isinstance(value, str):
        r.found.at_value((*path, "advance"), f'"advance" needs a unit, e.g. "{value} minutes" or "2 days"')
        return None
    try:
        return Advance(delta=parse_duration(value))
    except ValueError as exc:
        r.found.at_value((*path, "advance"), str(exc))
        return None


_READERS: dict[str, Callable[[_StepReader, dict[str, Any], YamlPath], Step | None]] = {
    "create": _create, "update": _update, "move": _move, "advance": _advance,
    "delete": lambda r, item, path: Delete(alias=r.alias(item, path, "delete")),
    "submit": lambda r, item, path: Submit(form=r.found.text(item, path, "submit") or "",
                                           values=r.values(item, path, "values", aliases=False)),
    "webhook": lambda r, item, path: Webhook(name=r.found.text(item, path, "webhook") or "",
                                             payload=r.values(item, path, "payload", aliases=False)),
    "run": lambda r, item, path: Run(automation=r.found.text(item, path, "run") or "",
                                     alias=r.alias(item, path, "on")),
    "complete_task": lambda r, item, path: CompleteTask(
        title=r.found.text(item, path, "complete_task") or ""),
    "decide": lambda r, item, path: Decide(title=r.found.text(item, path, "decide") or "",
                                           option=r.found.text(item, path, "option") or ""),
    "broadcast": read_broadcast,
    "expect": lambda r, item, path: ExpectStep(
        expect=parse_expect(r.found, item["expect"], (*path, "expect"), r.aliases)),
}


# ---- durations -------------------------------------------------------------------------------------
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_UNIT_WORDS = (*_UNITS, *(unit + "s" for unit in _UNITS))
_PART = re.compile(r"(\d+)\s*([a-z]+)(?:\s*,\s*|\s+and\s+|\s+|$)")


def parse_duration(text: str) -> timedelta:
    """``"1 day 1 minute"`` / ``"3 hours, 30 minutes"`` as a timedelta; ValueError says what is wrong."""
    words, seconds, position = text.strip().lower(), 0, 0
    if not words:
        raise ValueError('the duration is empty; write e.g. "2 days" or "3 hours 30 minutes"')
    while position < len(words):
        part = _PART.match(words, position)
        if part is None:
            raise ValueError(f'"{text}" is not a duration; write numbers with units, e.g. "1 day 2 hours"')
        count, unit = int(part.group(1)), part.group(2)
        if unit not in _UNIT_WORDS:
            words_like = _UNITS if count == 1 else [word + "s" for word in _UNITS]
            raise ValueError(f'unknown time unit "{unit}"{did_you_mean(unit, words_like)} '
                             f"(units: {', '.join(_UNITS)})")
        seconds += count * _UNITS[unit.removesuffix("s")]
        position = part.end()
    return timedelta(seconds=seconds)

