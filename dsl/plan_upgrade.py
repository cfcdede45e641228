"""The JSON side of plans: format versions, upgraders that bring stored plans forward, the codec.

Why this exists: a plan is stored (as JSON) when a blueprint is applied, and running instances keep
the plan they started with (DESIGN.md decision 4) — an instance waiting 90 days must still load after
Stagecraft is upgraded twice.  So every change to the plan's JSON shape bumps :data:`PLAN_FORMAT` and
registers one upgrader from the previous format.  Upgraders work on plain dicts, not on the plan
classes, because the classes only know the newest shape.

Rules for an upgrader (a running instance holds a ``pc`` into its plan's instruction list):

* it must keep every instruction at its index — never insert, drop or reorder instructions;
* it must keep names, bindings and ``effect_key`` values, which idempotency keys are built from;
* it returns the data of the next format; :meth:`Upgraders.upgrade` sets ``format`` itself.

The codec (:func:`encode`, :func:`decode`) is generic over frozen dataclasses so that adding an op
to :mod:`dsl.plan` needs no JSON code; :func:`decode` checks every value against its annotation, so
a damaged plan fails on load with its path (``plan.automations[0].code[3].target``), not mid-run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import types
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from dsl.ast import Span
from dsl.errors import CraftError, CraftErrors

#: The plan format this version writes.  Bump it (and register an upgrader) on any change of shape.
PLAN_FORMAT = 1

#: Where plan errors are placed: a stored plan has no source line of its own.
PLAN_SPAN = Span("<plan>", 0, 0, 0, 0)

Upgrader = Callable[[dict[str, Any]], dict[str, Any]]


def plan_error(code: str, message: str, hint: str | None = None) -> CraftErrors:
    """The exception for a stored plan that cannot be read (``E_PLAN_FORMAT``, ``E_PLAN_CORRUPT``)."""
    return CraftErrors([CraftError(code, message, PLAN_SPAN, hint)])


class Upgraders:
    """A registry: format ``n`` -> the function that turns format-``n`` data into format ``n + 1``.

    Registration fails at import time (a second upgrader for one format, or one from the current
    format), not when the first old plan is loaded months later.
    """

    def __init__(self, current: int = PLAN_FORMAT) -> None:
        self.current = current
        self._steps: dict[int, Upgrader] = {}

    def register(self, from_format: int) -> Callable[[Upgrader], Upgrader]:
        """Decorator: ``@UPGRADERS.register(1)`` on a function turning format 1 into format 2."""
        if from_format >= self.current:
            raise ValueError(f"format {from_format} is not older than the current format {self.current}")
        if from_format in self._steps:
            raise ValueError(f"an upgrader from format {from_format} is already registered")

        def add(upgrader: Upgrader) -> Upgrader:
            self._steps[from_format] = upgrader
            return upgrader

        return add

    def upgrade(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` brought to the current format: ``data`` itself when it is current, else a copy.

        Raises ``E_PLAN_FORMAT`` for a format that is missing, newer than this version reads, or
        older than any upgrader reaches.
        """
        version = data.get("format")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise plan_error("E_PLAN_FORMAT", f"a plan needs a whole-number format, not {version!r}")
        if version > self.current:
            raise plan_error("E_PLAN_FORMAT", f"plan format {version} is newer than this Stagecraft reads "
                             f"(format {self.current})", "upgrade Stagecraft to run this plan")
        while version < self.current:
            step = self._steps.get(version)
            if step is None:
                raise plan_error("E_PLAN_FORMAT", f"plan format {version} is too old: no upgrader from it",
                                 "re-apply the blueprint to compile it again")
            data = step(copy.deepcopy(data))
            version += 1
            data["format"] = version
        return data


#: The upgraders of this version.  Format 1 is the first, so there are none yet.
UPGRADERS = Upgraders()


# ------------------------------------------------------------------------------------------ codec
def canonical_json(data: dict[str, Any]) -> str:
    """The one text of ``data`` that digests are taken of: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(body: dict[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a plan without its ``digest`` key."""
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def encode(value: Any) -> Any:
    """Dataclasses to dicts (with ``"op"`` first for classes that have an ``op`` class attribute)."""
    if is_dataclass(value) and not isinstance(value, type):
        op = getattr(type(value), "op", None)
        tag = {"op": op} if op is not None else {}
        return {**tag, **{f.name: encode(getattr(value, f.name)) for f in fields(value)}}
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    return value


def decode(kind: Any, value: Any, where: str, tagged: Mapping[type, Mapping[str, type]]) -> Any:
    """Parsed JSON ``value`` as the annotated type ``kind``, checked all the way down.

    ``tagged``: base class -> ``op`` value -> subclass, for fields that hold one of several classes.
    """
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [k for k in get_args(kind) if k is not type(None)]  # plans only use "X | None"
        optional = len(options) < len(get_args(kind))
        return None if value is None and optional else decode(options[0], value, where, tagged)
    if origin is tuple:
        if not isinstance(value, list):
            raise _shape(where, "a list", value)
        return tuple(decode(get_args(kind)[0], item, f"{where}[{i}]", tagged) for i, item in enumerate(value))
    if origin is Literal:
        if value not in get_args(kind):
            raise _shape(where, " or ".join(map(repr, get_args(kind))), value)
        return value
    if kind in tagged:
        op = value.get("op") if isinstance(value, dict) else None
        if not isinstance(op, str) or op not in tagged[kind]:
            raise _shape(f"{where}.op", "a known op", op)
        return _decode_object(tagged[kind][op], {k: v for k, v in value.items() if k != "op"}, where, tagged)
    if isinstance(kind, type) and is_dataclass(kind):
        return _decode_object(kind, value, where, tagged)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _shape(where, kind.__name__, value)
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _decode_object(cls: type, value: Any, where: str, tagged: Mapping[type, Mapping[str, type]]) -> Any:
    hints = _hints(cls)
    if not isinstance(value, dict) or set(value) != set(hints):
        keys = sorted(value) if isinstance(value, dict) else value
        raise _shape(where, f"an object with keys {sorted(hints)}", keys)
    return cls(**{name: decode(kind, value[name], f"{where}.{name}", tagged) for name, kind in hints.items()})


def _shape(where: str, wanted: str, found: Any) -> CraftErrors:
    return plan_error("E_PLAN_CORRUPT", f"{where} must be {wanted}, not {found!r}"[:300])
