"""Canonical text of expressions, strings and durations (the part of ``fmt`` that works inside one line).

Why precedence-driven parentheses: the printer writes only the brackets the grammar needs, so
``(a + b) * c`` keeps its brackets and ``a + (b * c)`` loses them, and re-parsing the output always
gives the same tree.
"""

from __future__ import annotations

import re
from decimal import Decimal

from dsl import ast as a

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}
_BRACES = {"{": "{{", "}": "}}"}

# Binding strength, loosest first; atoms bind tightest.
_OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _UNARY, _ATOM = range(1, 9)
_BINARY_LEVEL = {"or": _OR, "and": _AND, "+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "%": _PRODUCT}


def number(value: int | float) -> str:
    """Plain decimal notation (the grammar has no exponents); floats keep a point so they stay floats."""
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


def duration(value: a.Duration) -> str:
    unit = value.unit[:-1] if value.amount == 1 else value.unit
    return f"{number(value.amount)} {unit}"


def plain(value: a.StringLit | str) -> str:
    """A string whose braces mean nothing (names, groups, time zones)."""
    raw = value.value if isinstance(value, a.StringLit) else value
    return '"' + "".join(_ESCAPES.get(c, c) for c in raw) + '"'


def text(value: a.Text) -> str:
    """A string where ``{path}`` interpolates, so literal braces are doubled."""
    parts = value.parts if isinstance(value, a.Template) else (value.value,)
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append("".join(_ESCAPES.get(c) or _BRACES.get(c, c) for c in part))
        elif isinstance(part, a.Clock):
            out.append("{" + part.kind + "}")
        else:
            out.append("{" + part.dotted + "}")
    return '"' + "".join(out) + '"'


def word_or_string(value: str) -> str:
    """A map key or an approval option: bare when it is a name, quoted otherwise."""
    return value if _IDENT.fullmatch(value) else plain(value)


def _level(node: a.Expr) -> int:
    if isinstance(node, a.Binary):
        return _BINARY_LEVEL.get(node.op, _COMPARE)
    if isinstance(node, a.IsEmpty):
        return _COMPARE
    if isinstance(node, a.Unary):
        return _NOT if node.op == "not" else _UNARY
    return _ATOM


def _wrapped(node: a.Expr, minimum: int) -> str:
    """``node`` as text, in brackets when it binds looser than ``minimum``."""
    shown = expr(node)
    return f"({shown})" if _level(node) < minimum else shown


def expr(node: a.Expr) -> str:
    """The canonical text of an expression."""
    if isinstance(node, a.Binary):
        return _binary(node)
    if isinstance(node, a.Unary):
        if node.op == "not":
            return "not " + _wrapped(node.operand, _NOT)
        return "-" + _wrapped(node.operand, _UNARY)
    if isinstance(node, a.IsEmpty):
        return _wrapped(node.operand, _SUM) + (" is not empty" if node.negated else " is empty")
    return _atom(node)


def _binary(node: a.Binary) -> str:
    level = _level(node)
    if level == _COMPARE:  # comparisons do not chain: both sides must bind tighter
        left, right = _wrapped(node.left, _SUM), _wrapped(node.right, _SUM)
    else:  # left-associative: the right side must bind strictly tighter
        left, right = _wrapped(node.left, level), _wrapped(node.right, level + 1)
    return f"{left} {node.op} {right}"


def _atom(node: a.Expr) -> str:
    if isinstance(node, a.Number):
        return number(node.value)
    if isinstance(node, a.Duration):
        return duration(node)
    if isinstance(node, a.StringLit | a.Template):
        return text(node)
    if isinstance(node, a.Bool):
        return "true" if node.value else "false"
    if isinstance(node, a.Null):
        return "null"
    if isinstance(node, a.Clock):
        return node.kind
    if isinstance(node, a.Path):
        return node.dotted
    if isinstance(node, a.Call):
        return f"{node.name.name}({', '.join(expr(arg) for arg in node.args)})"
    if isinstance(node, a.ListLit):
        return f"[{', '.join(expr(item) for item in node.items)}]"
    raise TypeError(f"not an expression: {node!r}")  # pragma: no cover - the AST is closed
