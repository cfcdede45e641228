"""Row shapers generated as Python source, as graphql-jit generates JavaScript.

Why generate code: a page of a thousand records of fourteen fields is fourteen thousand values, and
a generic loop pays a function call, a dict lookup and a branch for each.  A generated function is
one dict display per row whose values are inline expressions (``row[3]`` for a text column, a
class check and ``str`` for a decimal), so the common value costs a few bytecodes and only the
unusual one calls the exact converter.  The source holds no data: response keys (GraphQL names,
written with ``repr``), column positions and the names of objects passed in a namespace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any

from api.graphql.compiled.plan import Convert

Row = Sequence[Any]
Shape = Callable[[Row], dict[str, Any]]
INT_RANGE = "-2147483648 <= {v} <= 2147483647"


@dataclass(frozen=True, slots=True)
class Fast:
    """The common case of a converter: values of ``cls`` become ``make(value)`` (None: themselves)."""

    cls: type
    make: Convert | None = None
    int_range: bool = False


@dataclass(frozen=True, slots=True)
class Const:
    value: Any


@dataclass(frozen=True, slots=True)
class Call:
    """A value computed from the whole row (users, stages, pipelines)."""

    get: Callable[[Row], Any]


@dataclass(frozen=True, slots=True)
class Read:
    """A column value through its converter, with the converter's fast path inlined."""

    position: int
    convert: Convert
    fast: Fast | None


@dataclass(frozen=True, slots=True)
class Follow:
    """A reference: the id in ``position`` looked up in ``found``, shaped by ``shape``."""

    position: int
    found: Mapping[Any, Row]
    shape: Shape


@dataclass(frozen=True, slots=True)
class Gather:
    """A ``many`` list: the members ``lists`` holds for the id in ``position`` that ``found`` has."""

    position: int
    lists: Mapping[Any, Sequence[Any]]
    found: Mapping[Any, Row]
    shape: Shape


Code = Const | Call | Read | Follow | Gather

#: Compiled sources: a source depends on the document and the role's hidden fields only, so the
#: same few recur; what differs per request (loaded rows, child shapers) is in the namespace.
_COMPILED: dict[str, CodeType] = {}


def _code(source: str) -> CodeType:
    found = _COMPILED.get(source)
    if found is None:
        if len(_COMPILED) > 2048:
            _COMPILED.clear()
        found = _COMPILED[source] = compile(source, "<compiled shaper>", "exec")
    return found


def _expression(n: int, code: Code, names: dict[str, Any]) -> str:
    if isinstance(code, Const):
        names[f"k{n}"] = code.value
        return f"k{n}"
    if isinstance(code, Call):
        names[f"g{n}"] = code.get
        return f"g{n}(row)"
    if isinstance(code, Gather):
        names[f"l{n}"], names[f"F{n}"], names[f"s{n}"] = code.lists.get, code.found, code.shape
        return f"[s{n}(F{n}[i]) for i in l{n}(row[{code.position}], ()) if i in F{n}]"
    if isinstance(code, Follow):
        names[f"f{n}"], names[f"s{n}"] = code.found.get, code.shape
        return f"(s{n}(t{n}) if (t{n} := f{n}(row[{code.position}])) is not None else None)"
    names[f"c{n}"] = code.convert
    if code.fast is None:
        return f"c{n}(row[{code.position}])"
    names[f"K{n}"] = code.fast.cls
    test = f"(v{n} := row[{code.position}]).__class__ is K{n}"
    if code.fast.int_range:
        test += " and " + INT_RANGE.format(v=f"v{n}")
    value = f"v{n}"
    if code.fast.make is not None:
        names[f"m{n}"] = code.fast.make
        value = f"m{n}(v{n})"
    return f"({value} if {test} else c{n}(v{n}))"


def compile_shaper(entries: Sequence[tuple[str, Code]]) -> Shape:
    """``row → {key: value, …}`` for ``entries`` (response key, how its value is made)."""
    names: dict[str, Any] = {}
    items = ", ".join(f"{key!r}: {_expression(n, code, names)}" for n, (key, code) in enumerate(entries))
    source = f"def shape(row):\n    return {{{items}}}\n"
    exec(_code(source), names)  # the source holds names and positions only, never data
    shape: Shape = names["shape"]
    return shape


def compile_edges(parts: Sequence[tuple[str, str, Any]]) -> Callable[[Sequence[Row], Callable[[int], str]],
                                                                     list[dict[str, Any]]]:
    """``(rows, cursor_at) → [edge, …]``: parts are (key, "node" | "cursor" | "__typename", shaper or
    type name)."""
    names: dict[str, Any] = {}
    items = []
    for n, (key, what, payload) in enumerate(parts):
        names[f"p{n}"] = payload
        value = {"node": f"p{n}(row)", "cursor": "cursor_at(i)"}.get(what, f"p{n}")
        items.append(f"{key!r}: {value}")
    source = ("def edges(rows, cursor_at):\n"
              f"    return [{{{', '.join(items)}}} for i, row in enumerate(rows)]\n")
    exec(_code(source), names)
    edges: Callable[[Sequence[Row], Callable[[int], str]], list[dict[str, Any]]] = names["edges"]
    return edges
