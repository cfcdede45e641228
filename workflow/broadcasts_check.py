"""Checking a broadcast before it is saved: entity, segment, channel, address, opt-out and templates.

Why all at once and before anything is written: a broadcast reaches every record of a segment, so
a typo must be refused with its place (``where.tagz``, ``body``) while nothing has been sent.  The
templates are checked by the ``.craft`` checker itself — the broadcast's message is written as the
``send`` step it stands for and checked against the workspace's schema — so ``{contact.name}``
means exactly what it means in an automation, with the same errors and suggestions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dsl
from metamodel.craft_schema import schema_for
from metamodel.definitions import Blueprint, EntityDef, FieldDef, FieldType
from metamodel.errors import InvalidQuery, MetamodelError
from metamodel.records.coerce import NUL_REASON, has_nul
from metamodel.records.filters import UNREADABLE
from metamodel.records.store import RecordStore
from workflow.delivery import CHANNELS
from workflow.errors import WorkflowError

#: The boolean field that opts a record out of broadcasts when the broadcast names none.
DEFAULT_OPT_OUT = "unsubscribed"
_ADDRESS_TYPE = {"email": FieldType.EMAIL, "sms": FieldType.PHONE, "whatsapp": FieldType.PHONE}
#: Filter words that are not field names: never respelt from camelCase.
_OPERATORS = frozenset({"eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "isNull", "contains",
                        "icontains", "startsWith", "hasAny", "hasAll", "some", "none", "and", "or", "not",
                        "kind"})
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_PATH = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")


Hidden = frozenset[tuple[str, str]]
#: Scanned left to right as the ``.craft`` string decoder does: ``{{``/``}}`` are literal braces, any
#: other ``{…}`` a placeholder (so ``{{{contact.phone}}}`` reads contact.phone, like a send step).
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


class BroadcastForbidden(WorkflowError):
    """A broadcast naming fields hidden from the caller's role (in its segment, address or text)."""

    code = "WF_BROADCAST_FORBIDDEN"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{place}: {reason}" for place, reason in self.problems))


class BroadcastInvalid(WorkflowError):
    """A broadcast that cannot be sent; ``problems`` are (place, reason) pairs, every one found."""

    code = "WF_BAD_BROADCAST"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        text = "; ".join(f"{place}: {reason}" for place, reason in self.problems)
        super().__init__(text, hint="fix the places named and send it again")


@dataclass(frozen=True, slots=True)
class BroadcastSpec:
    """What to send to whom: ``where`` is the segment (the entity list's filter, field names in
    snake_case or camelCase), ``to`` the address path (default: the entity's email or phone field),
    ``opt_out`` one more boolean path whose true value skips the record (``unsubscribed`` always does:
    see :func:`opt_out_paths`)."""

    entity: str
    channel: str
    body: str
    subject: str | None = None
    where: Mapping[str, Any] | None = None
    to: str | None = None
    opt_out: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedBroadcast:
    """A spec with its defaults decided: what is stored."""

    entity: str
    channel: str
    body: str
    subject: str | None
    where: dict[str, Any] | None
    to: str
    opt_out: str | None


def craft_string(text: str) -> str:
    """``text`` as a ``.craft`` string literal: braces stay placeholders, quotes and breaks are escaped."""
    flat = text.replace("\r\n", "\n").replace("\r", "\n")
    escaped = flat.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def snake_where(where: Any) -> Any:
    """A filter with camelCase field names (as GraphQL clients write them) respelt in snake_case."""
    if isinstance(where, Mapping):
        return {(key if key in _OPERATORS else _CAMEL.sub(r"_\1", key).lower()): snake_where(value)
                for key, value in where.items()}
    if isinstance(where, list):
        return [snake_where(item) for item in where]
    return where


def check_broadcast(store: RecordStore, spec: BroadcastSpec,
                    hidden: Hidden = frozenset()) -> CheckedBroadcast:
    """The spec with its defaults, or :class:`BroadcastInvalid` naming every problem;
    :class:`BroadcastForbidden` when it reads a field in ``hidden`` (entity, field) pairs or steps
    into an entity the role may not read (an (entity, ``"*"``) pair)."""
    problems: list[tuple[str, str]] = []
    entity = store.meta.blueprint.find_entity(spec.entity)
    if entity is None:
        names = [e.name for e in store.meta.blueprint.entities]
        hint = _suggest(spec.entity, names)
        raise BroadcastInvalid([("entity", f'there is no entity "{spec.entity}"{hint}')])
    nul = _nul_problems(spec)
    if nul:  # before any statement carries the text: PostgreSQL fails on NUL, it does not compare it
        raise BroadcastInvalid(nul)
    _refuse_hidden(store, entity.name, spec, hidden)
    if spec.channel not in CHANNELS:
        problems.append(("channel", f'unknown channel "{spec.channel}" (use email, sms or whatsapp)'))
    if not spec.body.strip():
        problems.append(("body", "the message is empty"))
    problems += _subject_problems(spec)
    to = spec.to.strip() if spec.to else _default_address(entity, spec.channel)
    if to is None and spec.channel in CHANNELS:
        problems.append(("to", f"{entity.name} has no {_ADDRESS_TYPE[spec.channel].value} field to send "
                               f"{spec.channel} to; name the field that holds the address"))
    elif to is not None and not _PATH.fullmatch(to):
        problems.append(("to", f'"{to}" is not a field path (write e.g. email or contact.email)'))
        to = None
    if to is not None and spec.channel in CHANNELS:
        problems += _address_problems(store.meta.blueprint, entity, to, spec.channel)
    opt_out = _opt_out(store.meta.blueprint, entity, spec.opt_out, problems)
    where = snake_where(dict(spec.where)) if spec.where else None
    problems += _where_problems(store, entity.name, where)
    if to is not None and spec.channel in CHANNELS:
        problems += _template_problems(store, entity.name, spec, to)
    if problems or to is None:
        raise BroadcastInvalid(problems)
    subject = spec.subject if spec.channel == "email" else None
    return CheckedBroadcast(entity.name, spec.channel, spec.body, subject, where, to, opt_out)


def _nul_problems(spec: BroadcastSpec) -> list[tuple[str, str]]:
    """Every part holding U+0000, which PostgreSQL cannot store: refused as record writes refuse it."""
    parts = {"subject": spec.subject, "body": spec.body, "where": spec.where, "to": spec.to,
             "optOut": spec.opt_out}
    return [(place, NUL_REASON) for place, value in parts.items() if has_nul(value)]


def _suggest(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f' — did you mean "{close[0]}"?' if close else ""


def _subject_problems(spec: BroadcastSpec) -> list[tuple[str, str]]:
    has_subject = bool(spec.subject and spec.subject.strip())
    if spec.channel == "email" and not has_subject:
        return [("subject", "an email needs a subject")]
    if spec.channel in ("sms", "whatsapp") and has_subject:
        return [("subject", f"{spec.channel} messages have no subject; put everything in the body")]
    return []


def _default_address(entity: EntityDef, channel: str) -> str | None:
    wanted = _ADDRESS_TYPE.get(channel)
    return next((f.name for f in entity.fields if f.type is wanted), None)


def _opt_out(blueprint: Blueprint, entity: EntityDef, named: str | None,
             problems: list[tuple[str, str]]) -> str | None:
    """The opt-out path stored: the one named (a boolean, on the record or through its references,
    e.g. ``customer.unsubscribed``) or the entity's own ``unsubscribed``; see :func:`opt_out_paths`."""
    if named is None:
        found = entity.find_field(DEFAULT_OPT_OUT)
        return DEFAULT_OPT_OUT if found is not None and found.type is FieldType.BOOLEAN else None
    named = named.strip()
    if not _PATH.fullmatch(named):
        problems.append(("optOut", f'"{named}" is not a field path (write e.g. customer.unsubscribed)'))
        return None
    owner, field = resolve_path(blueprint, entity, named)
    if owner is None:
        problems.append(("optOut", f'"{named}" does not lead to a field: each name before the last must '
                                   f'be a reference'))
    elif field is None:
        last = named.rsplit(".", 1)[-1]
        names = [f.name for f in owner.fields]
        problems.append(("optOut", f'{owner.name} has no field "{last}"{_suggest(last, names)}'))
    elif field.type is not FieldType.BOOLEAN:
        problems.append(("optOut", f"{owner.name}.{field.name} is {field.type.value}; the opt-out field "
                                   f"must be a boolean"))
    return named


def opt_out_paths(blueprint: Blueprint, entity: str, to: str, named: str | None) -> list[str]:
    """Every boolean path whose true value skips a record: the one named, plus ``unsubscribed`` on
    the record itself and on the record holding the address (``customer.unsubscribed`` for
    ``to: customer.email``), whenever those exist.

    Why always the defaults too: naming a field must never quietly re-admit people who
    unsubscribed, and a broadcast to orders reaches the customers, who opted out on themselves.
    """
    found = blueprint.find_entity(entity)
    paths = [named] if named else []
    if found is None:
        return paths
    prefixes = [""]
    if "." in to:
        prefixes.append(to.rsplit(".", 1)[0] + ".")
    for prefix in prefixes:
        _, field = resolve_path(blueprint, found, prefix + DEFAULT_OPT_OUT)
        if field is not None and field.type is FieldType.BOOLEAN:
            paths.append(prefix + DEFAULT_OPT_OUT)
    return list(dict.fromkeys(paths))


def resolve_path(blueprint: Blueprint, entity: EntityDef,
                 path: str) -> tuple[EntityDef | None, FieldDef | None]:
    """(the entity the path's last name belongs to, that field or None when it has no such field);
    (None, None) when a name before the last is not a reference."""
    owner: EntityDef | None = entity
    *steps, last = path.split(".")
    for name in steps:
        field = owner.find_field(name) if owner is not None else None
        if field is None or field.type is not FieldType.REFERENCE or field.to is None:
            return None, None
        owner = blueprint.find_entity(field.to)
    if owner is None:
        return None, None
    return owner, owner.find_field(last)


def _address_problems(blueprint: Blueprint, entity: EntityDef, to: str,
                      channel: str) -> list[tuple[str, str]]:
    """An address field of the channel's type: an email field for email, a phone field for sms and
    whatsapp — anything else would fail at every recipient once queued.  A path that does not
    resolve is left to the template check, which names it with a suggestion."""
    owner, field = resolve_path(blueprint, entity, to)
    wanted = _ADDRESS_TYPE[channel]
    if owner is None or field is None or field.type is wanted:
        return []
    return [("to", f"{owner.name}.{field.name} is {field.type.value}; {channel} is sent to "
                   f"{'an' if wanted is FieldType.EMAIL else 'a'} {wanted.value} field")]


def _where_problems(store: RecordStore, entity: str, where: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Compile the segment by counting it: the store names the offending key (``where.tagz``)."""
    if where is None:
        return []
    try:
        store.count(entity, where)
    except InvalidQuery as exc:
        place = exc.place.path or "where"
        return [(place, exc.message.removeprefix(f"{place}: "))]
    except MetamodelError as exc:
        return [("where", exc.message)]
    return []


def _template_problems(store: RecordStore, entity: str, spec: BroadcastSpec,
                       to: str) -> list[tuple[str, str]]:
    """Check the message as the ``send`` step it stands for; each error is placed on its part."""
    head = 'automation "broadcast"\nwhen ' + entity + " created\ndo\n"
    parts: list[tuple[str, str]] = []
    line = f"  send {spec.channel} to "
    parts.append(("to", line))
    line += to
    if spec.channel == "email":
        subject_at = len(line) + len(" subject ")
        line += " subject " + craft_string(spec.subject or "")
        parts.append(("subject", " " * subject_at))
        line += " body "
    else:
        line += " text "
    parts.append(("body", " " * len(line)))
    line += craft_string(spec.body)
    try:
        program = dsl.parse(head + line + "\nend\n", "<broadcast>")
        errors = dsl.check_program(program, schema_for(store.meta.blueprint))
    except dsl.CraftErrors as exc:
        errors = exc.errors
    return [(_part_at(parts, err.span.col - 1), _worded(err)) for err in errors]


def _part_at(parts: list[tuple[str, str]], col: int) -> str:
    """The part of the synthesised step line a column falls in (the last one starting before it)."""
    found = parts[0][0]
    for name, prefix in parts:
        if col >= len(prefix):
            found = name
    return found


def _worded(err: dsl.CraftError) -> str:
    return f"{err.code} {err.message}" + (f" — {err.hint}" if err.hint else "")


def _refuse_hidden(store: RecordStore, entity: str, spec: BroadcastSpec, hidden: Hidden) -> None:
    """Refuse a broadcast that would read, or send, what the role may not see."""
    found: list[tuple[str, str]] = []
    paths = [("to", spec.to or _default_address(store.meta.blueprint.get_entity(entity), spec.channel) or ""),
             ("optOut", spec.opt_out or "")]
    texts = (("subject", spec.subject or ""), ("body", spec.body))
    paths += [(place, match.group(1)) for place, text in texts for match in _PLACEHOLDER.finditer(text)
              if match.group(1) is not None]
    for place, path in paths:
        reason = _hidden_on(store, entity, [part.strip() for part in path.split(".") if part.strip()], hidden)
        if reason:
            found.append((place, reason))
    if spec.where:
        try:
            store.count(entity, snake_where(dict(spec.where)), hidden=hidden)
        except InvalidQuery as exc:
            if exc.code == "FORBIDDEN":
                place = exc.place.path or "where"
                found.append((place, exc.message.removeprefix(f"{place}: ")))
        except MetamodelError:
            pass  # not a visibility problem: the checks that follow name it
    if found:
        raise BroadcastForbidden(found)


def _hidden_on(store: RecordStore, entity: str, segments: list[str], hidden: Hidden) -> str | None:
    """Why a path may not be read: the first hidden field it names or unreadable entity it enters.

    The broadcast's own entity is not checked here: its permission (update) is the caller's.
    """
    owner: str | None = entity
    for index, name in enumerate(segments):
        if owner is None:
            return None
        if index and (owner, UNREADABLE) in hidden:
            return f"{owner} records are not readable by your role"
        if (owner, name) in hidden:
            return f"{owner}.{name} is not visible to you"
        found = store.meta.blueprint.find_entity(owner)
        field = found.find_field(name) if found is not None else None
        owner = field.to if field is not None and field.type is FieldType.REFERENCE else None
    return None
