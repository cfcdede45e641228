"""Typed reading of a located YAML document, collecting problems instead of raising.

The builder asks for "the text at entities.Deal.fields.amount.to" and gets a
value or ``None``; every wrong shape becomes one positioned problem and the
build goes on, so one run reports everything that is wrong.  The reader also
remembers which definition came from which path, so later checks can point at a
sub-key (``to:``, ``default:``) of the definition they are looking at.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from metamodel.blueprint import codes
from metamodel.blueprint.yaml_positions import Located, Path, render_path
from metamodel.errors import Place, Problem

T = TypeVar("T")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint naming the closest choice, or an empty string when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"?' if close else ""


class Reader:
    """Reads values out of ``doc`` by path; shape errors land in ``problems``."""

    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.problems: list[Problem] = list(doc.problems)
        self.paths: dict[int, Path] = {}

    # -- places and problems -------------------------------------------------------------------
    def key_place(self, path: Path) -> Place:
        return self.doc.key_place(path)

    def value_place(self, path: Path) -> Place:
        return self.doc.value_place(path)

    def add(self, code: str, message: str, place: Place, hint: str = "") -> None:
        self.problems.append(Problem(code, message, place, hint))

    def remember(self, obj: T, path: Path) -> T:
        """Record that definition ``obj`` was built from ``path``."""
        self.paths[id(obj)] = path
        return obj

    def path_of(self, obj: object) -> Path:
        return self.paths.get(id(obj), ())

    def at(self, obj: object, *sub: str | int) -> Place:
        """Where the value of sub-key ``sub`` of definition ``obj`` is (its own key when absent)."""
        return self.value_place((*self.path_of(obj), *sub))

    def key_at(self, obj: object, *sub: str | int) -> Place:
        """Where the key of definition ``obj`` (or of its sub-key ``sub``) is."""
        return self.key_place((*self.path_of(obj), *sub))

    # -- containers ----------------------------------------------------------------------------
    def mapping(self, path: Path, value: Any, what: str, hint: str = "") -> dict[str, Any] | None:
        """``value`` as a mapping; null counts as empty, anything else is a problem (None)."""
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        self.add(codes.WRONG_VALUE_TYPE, f"{what} must be a mapping of key: value", self.value_place(path),
                 hint)
        return None

    def listing(self, path: Path, value: Any, what: str) -> list[Any] | None:
        """``value`` as a list; null counts as empty, anything else is a problem (None)."""
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self.add(codes.WRONG_VALUE_TYPE, f"{what} must be a list", self.value_place(path))
        return None

    def known_keys(self, path: Path, data: dict[str, Any], allowed: Iterable[str], what: str) -> None:
        """One problem per key that is not in ``allowed``, with the closest known key as a hint."""
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                self.add(codes.UNKNOWN_KEY, f'unknown key "{key}" in {what}', self.key_place((*path, key)),
                         did_you_mean(key, allowed) or f"known keys: {', '.join(allowed)}")

    def require(self, path: Path, data: dict[str, Any], key: str, what: str) -> bool:
        if data.get(key) is not None:
            return True
        self.add(codes.MISSING_KEY, f'{what} needs "{key}:"', self.key_place(path))
        return False

    # -- scalars -------------------------------------------------------------------------------
    def text(self, path: Path, data: dict[str, Any], key: str) -> str | None:
        """A scalar as the text written (so ``no`` stays "no"); None when absent or null."""
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, dict | list):
            self.add(codes.WRONG_VALUE_TYPE, f'"{key}" must be a single value, not a list or mapping',
                     self.value_place((*path, key)))
            return None
        raw = self.doc.text((*path, key))
        return raw if raw is not None else str(value)

    def flag(self, path: Path, data: dict[str, Any], key: str) -> bool:
        value = data.get(key)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        self.add(codes.WRONG_VALUE_TYPE, f'"{key}" must be true or false', self.value_place((*path, key)))
        return False

    def whole(self, path: Path, data: dict[str, Any], key: str) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self.add(codes.WRONG_VALUE_TYPE, f'"{key}" must be a whole number', self.value_place((*path, key)))
        return None

    def number(self, path: Path, data: dict[str, Any], key: str) -> Decimal | None:
        """A number as an exact Decimal read from its source text (0.1 stays 0.1)."""
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                number = Decimal(self.doc.text((*path, key)) or str(value))
            except InvalidOperation:
                number = Decimal(str(value))
            if number.is_finite():
                return number
        self.add(codes.WRONG_VALUE_TYPE, f'"{key}" must be a number', self.value_place((*path, key)))
        return None

    def texts(self, path: Path, data: dict[str, Any], key: str) -> tuple[str, ...] | None:
        """A list of scalars as their written texts; None when absent or malformed."""
        items = self.listing((*path, key), data.get(key), f'"{key}"') if key in data else None
        if items is None:
            return None
        result: list[str] = []
        for index, item in enumerate(items):
            item_path = (*path, key, index)
            if item is None or isinstance(item, dict | list):
                self.add(codes.WRONG_VALUE_TYPE, f'each item of "{key}" must be a single value',
                         self.value_place(item_path))
                continue
            result.append(self.doc.text(item_path) or str(item))
        return tuple(result)


def where(path: Path) -> str:
    """A readable rendering of ``path`` for messages."""
    return render_path(path)
