"""YAML with positions: plain Python values plus where every key and value sits.

PyYAML's constructor forgets positions and silently keeps the last of two
duplicate keys; a consultant needs ``file:line:col`` for every finding and must
learn about a duplicate rather than lose half of a definition.  So we compose
the node graph ourselves and build the values and a position map in one walk.
Mapping keys are always strings taken from the source text (``on:`` stays
``"on"``, not ``True``), and the raw text of every scalar is kept so callers can
undo YAML 1.1 surprises (``options: [yes, no]`` means two strings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from metamodel.errors import Place, Problem

Path = tuple[str | int, ...]
Mark = tuple[int, int]

YAML_SYNTAX = "MM.E101"
DUPLICATE_KEY = "MM.E102"
NOT_A_STRING_KEY = "MM.E104"

_MERGE_TAG = "tag:yaml.org,2002:merge"
# Aliases can expand exponentially ("billion laughs"); a blueprint never needs this many nodes.
MAX_NODES = 1_000_000


def render_path(path: Path) -> str:
    """``("users", 0, "email")`` → ``users[0].email``: the path a human reads."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(slots=True)
class Located:
    """A loaded document: ``data`` plus key/value positions and raw scalar texts by path."""

    data: Any
    file: str
    keys: dict[Path, Mark] = field(default_factory=dict)
    values: dict[Path, Mark] = field(default_factory=dict)
    texts: dict[Path, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def _place(self, table: dict[Path, Mark], path: Path) -> Place:
        probe = path
        while probe and probe not in table:
            probe = probe[:-1]
        line, col = table.get(probe, (1, 1))
        return Place(self.file, line, col, render_path(path))

    def key_place(self, path: Path) -> Place:
        """Where the key of ``path`` is (the item start for list items); nearest ancestor if absent."""
        return self._place(self.keys, path)

    def value_place(self, path: Path) -> Place:
        """Where the value of ``path`` starts; falls back to its key, then to an ancestor."""
        if path in self.values:
            return self._place(self.values, path)
        return self.key_place(path)

    def text(self, path: Path) -> str | None:
        """The source text of the scalar at ``path`` (None for mappings, lists and absent paths)."""
        return self.texts.get(path)


def _mark(node: Node) -> Mark:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """One walk over the node graph; aliases are followed, each anchor built once per path."""

    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.scalars = SafeConstructor()
        self.open: set[int] = set()
        self.count = 0

    def build(self, node: Node, path: Path) -> Any:
        self.doc.values[path] = _mark(node)
        self.count += 1
        if id(node) in self.open or self.count > MAX_NODES:
            line, col = _mark(node)
            self.doc.problems.append(Problem(YAML_SYNTAX, "an alias refers to itself or expands too far",
                                             Place(self.doc.file, line, col, render_path(path))))
            return None
        self.open.add(id(node))
        try:
            return self._build(node, path)
        finally:
            self.open.discard(id(node))

    def _build(self, node: Node, path: Path) -> Any:
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            for index, item in enumerate(node.value):
                self.doc.keys[(*path, index)] = _mark(item)
                items.append(self.build(item, (*path, index)))
            return items
        assert isinstance(node, ScalarNode)
        self.doc.texts[path] = str(node.value)
        return self.scalars.construct_object(node, deep=True)

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(value_node.value if isinstance(value_node, SequenceNode) else [value_node])
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in result:
                self._duplicate(key, key_node, path)
                continue
            self.doc.keys[(*path, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*path, key))
        for source in merged:
            if isinstance(source, MappingNode):
                for key, value in self._mapping(source, path).items():
                    result.setdefault(key, value)
        return result

    def _key(self, key_node: Node, path: Path) -> str | None:
        if isinstance(key_node, ScalarNode):
            return str(key_node.value)
        line, col = _mark(key_node)
        self.doc.problems.append(Problem(
            NOT_A_STRING_KEY, "a key must be a plain name, not a list or a mapping",
            Place(self.doc.file, line, col, render_path(path))))
        return None

    def _duplicate(self, key: str, key_node: Node, path: Path) -> None:
        line, col = _mark(key_node)
        first_line, _ = self.doc.keys[(*path, key)]
        self.doc.problems.append(Problem(
            DUPLICATE_KEY, f'"{key}" appears twice in the same mapping (first on line {first_line})',
            Place(self.doc.file, line, col, render_path((*path, key))),
            hint="remove or rename one of them"))


# libyaml composes ~4x faster; its error messages are terser, so a failed parse
# is repeated with the pure-Python parser to report the same place everywhere.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> Node | None:
    try:
        node: Node | None = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    return node


def load_located(text: str, file: str) -> Located:
    """Parse one YAML document; syntax errors and duplicate keys land in ``problems``."""
    doc = Located(data=None, file=file)
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        doc.problems.append(Problem(YAML_SYNTAX, f"YAML syntax error: {reason}", Place(file, line, col),
                                    hint="check indentation, colons and quotes around this place"))
        return doc
    except yaml.YAMLError as exc:
        doc.problems.append(Problem(YAML_SYNTAX, f"YAML error: {exc}", Place(file, 1, 1)))
        return doc
    if node is not None:
        doc.data = _Builder(doc).build(node, ())
    return doc
