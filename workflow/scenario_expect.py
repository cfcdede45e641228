"""What a scenario's ``expect`` step asserts, the pure check of it, and the parser's shared pieces.

The check is a pure function of an :class:`Expect` and plain :class:`Facts` (lists of dicts the
simulator reads from its tables), so it is tested without a database and the simulator stays a
thin collector.  Each mismatch is one line an admin reads in the terminal, with enough of what was
found to see why (``expected 2 messages, found 1 (sent: email to ann@… "Order 1 accepted")``).
Values compare with light coercion: YAML gives ``120`` where the store gives ``Decimal("120.00")``,
and ``"2026-03-02"`` where it gives a ``date``.

:class:`Findings` (problems with their places) lives here rather than in ``scenario.py`` so the
``expect`` parser can use it without an import cycle; ``scenario.py`` re-exports the public names.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from metamodel.blueprint.reader import did_you_mean as closest_hint
from metamodel.blueprint.yaml_positions import Located

BAD_SCENARIO = "WF_BAD_SCENARIO"
YamlPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class ScenarioProblem:
    """One finding, where it is."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col} {BAD_SCENARIO} {self.message}"


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """`` — did you mean "x"?`` for the closest choice (the blueprint checker's rule), or nothing."""
    hint = closest_hint(word, choices)
    return f" — {hint}" if hint else ""


class Findings:
    """Problems of one document, placed at the key or the value they are about."""

    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.problems: list[ScenarioProblem] = []

    def at_key(self, path: YamlPath, message: str) -> None:
        place = self.doc.key_place(path)
        self.problems.append(ScenarioProblem(self.doc.file, place.line or 1, place.col or 1, message))

    def at_value(self, path: YamlPath, message: str) -> None:
        place = self.doc.value_place(path)
        self.problems.append(ScenarioProblem(self.doc.file, place.line or 1, place.col or 1, message))

    def unknown_keys(self, mapping: Mapping[str, Any], path: YamlPath, allowed: Collection[str],
                     what: str) -> None:
        """Report every key of ``mapping`` outside ``allowed``, with a suggestion."""
        for key in mapping:
            if key not in allowed:
                self.at_key((*path, key), f'unknown key "{key}" in {what}{did_you_mean(key, allowed)} '
                                          f"(known: {', '.join(sorted(allowed))})")

    def text(self, mapping: Mapping[str, Any], path: YamlPath, key: str, *,
             required: bool = True) -> str | None:
        """A text item; other scalars are taken as written (``to: +1000`` is text, not a number)."""
        value = mapping.get(key)
        if value is None:
            if required:
                where = (*path, key) if key in mapping else path
                self.at_value(where, f'"{key}" is required here')
            return None
        if isinstance(value, dict | list):
            self.at_value((*path, key), f'"{key}" must be a single value, not a list or a mapping')
            return None
        return value if isinstance(value, str) else (self.doc.text((*path, key)) or str(value))

    def count(self, value: Any, path: YamlPath, what: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.at_value(path, f"{what} must be a whole number (0 or more)")
            return None
        return value

    def mapping(self, value: Any, path: YamlPath, example: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.at_value(path, f'"{path[-1]}" must be a mapping such as {example}')
            return None
        return value


class Alias(str):
    """A scenario's name for a record (``contact: ann``), left for the runner to resolve to an id.

    A ``str`` subclass so that a value which only looked like an alias still reads as the text the
    consultant wrote when the field turns out not to be a reference.
    """

    __slots__ = ()

    @property
    def name(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"Alias({str(self)!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageExpect:
    """``last_message``: each given item must match (``body_contains`` is a substring)."""

    channel: str | None = None
    to: str | None = None
    subject: str | None = None
    body_contains: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskExpect:
    """``last_task``: ``title`` matches as a case-insensitive substring; ``assignee`` is an email;
    ``due`` is the moment the task is due (ISO text, compared as a moment)."""

    title: str | None = None
    assignee: str | None = None
    status: str | None = None
    due: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationExpect:
    """``last_notification``: recipient email and a substring of the text."""

    to: str | None = None
    text_contains: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Expect:
    """Everything one ``expect`` step asserts; None / empty means "not asserted"."""

    messages: int | None = None
    last_message: MessageExpect | None = None
    tasks: int | None = None
    open_tasks: int | None = None
    last_task: TaskExpect | None = None
    notifications: int | None = None
    last_notification: NotificationExpect | None = None
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    instances: Mapping[str, int] = field(default_factory=dict)
    errors: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """What happened so far, as plain data.

    messages ``{channel, to, subject, body}``; tasks ``{title, assignee (email or None), status}``;
    notifications ``{to, text}``; records ``{alias: {field: value, "stage": code}}``; instances
    ``{status}``; errors as lines; ids ``{alias: record id}`` (to compare reference fields).
    """

    messages: Sequence[Mapping[str, Any]] = ()
    tasks: Sequence[Mapping[str, Any]] = ()
    notifications: Sequence[Mapping[str, Any]] = ()
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    instances: Sequence[Mapping[str, Any]] = ()
    errors: Sequence[str] = ()
    ids: Mapping[str, int] = field(default_factory=dict)


_EXPECT_KEYS = ("messages", "last_message", "tasks", "open_tasks", "last_task", "notifications",
                "last_notification", "record", "instances", "errors")
_COUNTS = ("messages", "tasks", "open_tasks", "notifications", "errors")
_PARTS: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    "last_message": (MessageExpect, ("channel", "to", "subject", "body_contains")),
    "last_task": (TaskExpect, ("title", "assignee", "status", "due")),
    "last_notification": (NotificationExpect, ("to", "text_contains")),
}
RUN_STATUSES = ("running", "waiting", "done", "failed", "cancelled")


def parse_expect(found: Findings, value: Any, path: YamlPath, aliases: Collection[str]) -> Expect:
    """The ``expect`` mapping at ``path``; problems go to ``found`` (the result is then partial)."""
    data = found.mapping(value, path, "{messages: 1}") or {}
    found.unknown_keys(data, path, _EXPECT_KEYS, "expect")
    items: dict[str, Any] = {}
    for key in _COUNTS:
        if key in data:
            items[key] = found.count(data[key], (*path, key), f'"{key}"')
    for key, (kind, fields) in _PARTS.items():
        if key in data:
            part = found.mapping(data[key], (*path, key), f"{{{fields[0]}: ...}}")
            if part is not None:
                found.unknown_keys(part, (*path, key), fields, key)
                items[key] = kind(**{f: found.text(part, (*path, key), f, required=False) for f in fields})
    if "record" in data:
        items["records"] = _parse_records(found, data["record"], (*path, "record"), aliases)
    if "instances" in data:
        items["instances"] = _parse_instances(found, data["instances"], (*path, "instances"))
    return Expect(**items)


def _parse_records(found: Findings, value: Any, path: YamlPath,
                   aliases: Collection[str]) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for alias, fields in (found.mapping(value, path, "{o1: {paid: true}}") or {}).items():
        if alias not in aliases:
            known = ", ".join(sorted(aliases)) or "none yet"
            found.at_key((*path, alias), f'no record is called "{alias}" yet{did_you_mean(alias, aliases)} '
                                         f"(known: {known})")
        checked = found.mapping(fields, (*path, alias), "{stage: won}")
        if checked is not None:
            records[alias] = {k: Alias(v) if isinstance(v, str) and v in aliases else v
                              for k, v in checked.items()}
    return records


def _parse_instances(found: Findings, value: Any, path: YamlPath) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status, count in (found.mapping(value, path, "{failed: 0}") or {}).items():
        if status not in RUN_STATUSES:
            found.at_key((*path, status), f'unknown run status "{status}"{did_you_mean(status, RUN_STATUSES)}'
                                          f" (statuses: {', '.join(RUN_STATUSES)})")
        number = found.count(count, (*path, status), f'the number of {status} runs')
        if number is not None:
            counts[status] = number
    return counts


def check_expectation(expect: Expect, facts: Facts) -> list[str]:
    """One human line per mismatch between ``expect`` and ``facts``; empty when all hold."""
    return [*_counts(expect, facts), *_last(expect.last_message, "message", facts.messages, _message),
            *_last(expect.last_task, "task", facts.tasks, _task),
            *_last(expect.last_notification, "notification", facts.notifications, _notification),
            *_records(expect.records, facts), *_instances(expect.instances, facts.instances)]


def _counts(expect: Expect, facts: Facts) -> list[str]:
    open_tasks = [t for t in facts.tasks if t.get("status") == "open"]
    checks: list[tuple[int | None, str, Sequence[Any], str]] = [
        (expect.messages, "message", facts.messages, "sent: " + _listing(facts.messages, _message)),
        (expect.tasks, "task", facts.tasks, "tasks: " + _listing(facts.tasks, _task)),
        (expect.open_tasks, "open task", open_tasks, "open: " + _listing(open_tasks, _task)),
        (expect.notifications, "notification", facts.notifications,
         "notified: " + _listing(facts.notifications, _notification)),
        (expect.errors, "error", facts.errors, "errors: " + _listing(facts.errors, str)),
    ]
    return [f"expected {_plural(wanted, noun)}, found {len(found)} ({detail})"
            for wanted, noun, found, detail in checks if wanted is not None and wanted != len(found)]


def _last(want: Any, what: str, items: Sequence[Mapping[str, Any]],
          show: Callable[[Mapping[str, Any]], str]) -> list[str]:
    if want is None:
        return []
    if not items:
        return [f"expected a last {what}, but there is none"]
    last, lines = items[-1], []
    for name, (key, match) in _MATCH.items():
        expected = getattr(want, name, None)
        if expected is not None and not match(expected, last.get(key)):
            lines.append(f"last {what}: expected {name.replace('_', ' ')} {_show(expected)}, "
                         f"found {_show(last.get(key))} ({show(last)})")
    return lines


def _records(wanted: Mapping[str, Mapping[str, Any]], facts: Facts) -> list[str]:
    lines: list[str] = []
    for alias, fields in wanted.items():
        record = facts.records.get(alias)
        if record is None:
            lines.append(f"record {alias}: no such record in this scenario")
            continue
        for name, value in fields.items():
            if name not in record:
                lines.append(f'record {alias}: has no field "{name}"')
            elif not same_value(value, record[name], facts.ids):
                lines.append(f"record {alias}: expected {name} = {_show(value)}, found {_show(record[name])}")
    return lines


def _instances(wanted: Mapping[str, int], instances: Sequence[Mapping[str, Any]]) -> list[str]:
    lines: list[str] = []
    for status, count in wanted.items():
        found = sum(1 for i in instances if i.get("status") == status)
        if found != count:
            lines.append(f"expected {_plural(count, status + ' run')}, found {found}")
    return lines


def same_value(expected: Any, actual: Any, ids: Mapping[str, int] | None = None) -> bool:
    """Equal after light coercion: numbers by value, dates/datetimes against ISO text, aliases by id.

    An alias also matches its own text, so an alias named like a value (``draft``) still
    compares equal to a stage or text ``draft``.
    """
    if isinstance(expected, Alias) and ids and expected in ids and _canon(actual) == Decimal(ids[expected]):
        return True
    if isinstance(expected, bool) or isinstance(actual, bool):
        return _as_bool(expected) is not None and _as_bool(expected) == _as_bool(actual)
    return bool(_canon(expected) == _canon(actual))


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _canon(value: Any) -> Any:
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return _canon_text(value.strip())
    return value


def _canon_text(text: str) -> Any:
    if _NUMBER.fullmatch(text):
        return Decimal(text)
    try:
        return date.fromisoformat(text) if len(text) == 10 else _canon(datetime.fromisoformat(text))
    except ValueError:
        return text


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool) or (isinstance(value, int | Decimal) and value in (0, 1)):
        return bool(value)
    text = str(value).strip().lower()
    return text == "true" if text in ("true", "false") else None


def _same_text(want: str, found: Any) -> bool:
    return isinstance(found, str) and want.strip().lower() == found.strip().lower()


def _contains(want: str, found: Any) -> bool:
    return isinstance(found, str) and want.lower() in found.lower()


# ``last_*`` items: expectation field -> (key in the fact, how it matches)
_MATCH: dict[str, tuple[str, Callable[[str, Any], bool]]] = {
    "channel": ("channel", _same_text), "to": ("to", _same_text), "subject": ("subject", operator.eq),
    "body_contains": ("body", _contains), "title": ("title", _contains), "assignee": ("assignee", _same_text),
    "status": ("status", operator.eq), "text_contains": ("text", _contains),
    "due": ("due_at", lambda expected, actual: same_value(expected, actual)),
}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _listing(items: Sequence[Any], show: Callable[[Any], str], limit: int = 5) -> str:
    if not items:
        return "none"
    shown = [show(item) for item in items[-limit:]]
    more = f"{len(items) - limit} earlier, " if len(items) > limit else ""
    return more + "; ".join(shown)


def _message(message: Mapping[str, Any]) -> str:
    text = message.get("subject") or _clip(str(message.get("body") or ""))
    return f'{message.get("channel")} to {message.get("to")} "{text}"'


def _task(task: Mapping[str, Any]) -> str:
    who = f" for {task['assignee']}" if task.get("assignee") else ""
    return f'"{task.get("title")}"{who} {task.get("status")}'


def _notification(note: Mapping[str, Any]) -> str:
    return f'{note.get("to")}: "{_clip(str(note.get("text") or ""))}"'


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{_clip(value)}"'
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
