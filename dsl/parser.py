"""Text to :mod:`dsl.ast`: the only module that imports lark.

Why it is shaped this way:

* LALR with lark's contextual lexer: linear time, no ambiguity, and keywords that only count where the
  grammar can take them (so ``stage`` or ``owner`` stay usable as field names).
* Error recovery by chunks: a file is cut before every line that starts with ``automation`` or
  ``process`` (nothing else can start a line with those words, and strings never span lines), and
  each chunk is parsed on its own.  A syntax error therefore skips to the next top-level keyword and
  every broken automation of a file is reported in one run.
* Limits before work: the size of the text and the nesting of brackets are checked before lark sees
  the text, and the depth of the tree before it is converted, so hostile input ends in ``E_TOO_LARGE``
  or ``E_TOO_DEEP`` — never a ``RecursionError``, a hang, or any exception but :class:`CraftErrors`.
"""

from __future__ import annotations

import itertools
import re
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, Tree, UnexpectedInput
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedToken, VisitError

from dsl import ast as a
from dsl._build import AstBuilder
from dsl.errors import CraftError, CraftErrors
from dsl.syntax_examples import SYNTAX_EXAMPLES

#: Largest source accepted, in characters (a 2,000-line file is about 80,000).
MAX_SOURCE_CHARS = 256_000
#: Deepest bracket nesting, and deepest parse tree (operators chain as deep as brackets nest).
MAX_NESTING = 50
MAX_TREE_DEPTH = 120
#: A file reporting more problems than this stops early (the rest are most likely follow-ups).
MAX_ERRORS = 100

_TOP_LEVEL = re.compile(r"^[ \t]*(?:automation|process)(?![A-Za-z0-9_])", re.MULTILINE)
#: Strings (closed or not), comments and brackets: enough to find nesting depth and comments exactly.
_BRACKETS = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[()\[\]{}]')


class _LarkBuilder(AstBuilder, Transformer[Token, Any]):
    """The lark face of :class:`AstBuilder`: every rule ``r`` is handled by ``self.r(meta, children)``."""

    def _call_userfunc(self, tree: Tree[Token], new_children: list[Any] | None = None) -> Any:
        children = new_children if new_children is not None else tree.children
        try:
            return getattr(self, str(tree.data))(tree.meta, children)
        except Exception as exc:
            raise VisitError(str(tree.data), tree, exc) from exc  # type: ignore[no-untyped-call]


@cache
def _lark() -> Lark:
    grammar = resources.files("dsl.grammar").joinpath("craft.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=True, start=["start", "expression"])


def parse(text: str, file: str = "<input>") -> a.Program:
    """Parse a whole ``.craft`` file; raise :class:`CraftErrors` with every syntax error found."""
    program, errors = parse_partial(text, file)
    if errors:
        raise CraftErrors(errors)
    return program


def parse_partial(text: str, file: str = "<input>") -> tuple[a.Program, list[CraftError]]:
    """The automations and processes that parse, and the syntax errors of the others.

    For ``stagecraft check``: the good parts of a file can still be checked, so one run shows every problem.
    """
    too_large = _too_large(text, file)
    if too_large is not None:
        return a.Program(file, (), too_large.span), [too_large]
    items: list[a.Automation | a.Process] = []
    errors: list[CraftError] = []
    for line_offset, chunk in _chunks(text):
        result = _parse_chunk(chunk, "start", file, line_offset, errors)
        if result is not None:
            items.extend(result)
        if len(errors) >= MAX_ERRORS:
            break
    if len(errors) >= MAX_ERRORS:
        errors = [*errors[:MAX_ERRORS], CraftError(
            "E_TOO_MANY_ERRORS", f"stopped after {MAX_ERRORS} errors", errors[MAX_ERRORS - 1].span)]
    lines = text.count("\n") + 1
    span = a.Span(file, 1, 1, lines, len(text) - text.rfind("\n"))
    return a.Program(file, tuple(items), span, _comments(text, file)), errors


def _comments(text: str, file: str) -> tuple[a.Comment, ...]:
    """Every ``#`` comment outside strings (strings never span lines, so a scan by regex is exact)."""
    found = []
    line, line_start, scanned = 1, 0, 0
    for match in _BRACKETS.finditer(text):
        if not match.group().startswith("#"):
            continue
        start = match.start()
        newlines = text.count("\n", scanned, start)  # counted once per stretch: linear in the text
        if newlines:
            line += newlines
            line_start = text.rfind("\n", scanned, start) + 1
        scanned = start
        col = start - line_start + 1
        span = a.Span(file, line, col, line, col + len(match.group()))
        trailing = bool(text[line_start:start].strip())
        found.append(a.Comment(match.group().rstrip(), trailing, span))
    return tuple(found)


def parse_expression(text: str, file: str = "<expression>") -> a.Expr:
    """Parse one expression (formula fields, validation rules); raise :class:`CraftErrors` otherwise."""
    too_large = _too_large(text, file)
    if too_large is not None:
        raise CraftErrors([too_large])
    errors: list[CraftError] = []
    result = _parse_chunk(text, "expression", file, 0, errors)
    if errors or result is None:
        raise CraftErrors(errors)
    return result  # type: ignore[no-any-return]


def _too_large(text: str, file: str) -> CraftError | None:
    if len(text) <= MAX_SOURCE_CHARS:
        return None
    return CraftError("E_TOO_LARGE", f"the text has {len(text):,} characters, more than {MAX_SOURCE_CHARS:,}",
                      a.Span(file, 1, 1, 1, 1), "split it into several files")


def _chunks(text: str) -> list[tuple[int, str]]:
    """``(lines before it, text)`` for the prelude and each top-level ``automation``/``process``."""
    starts = [m.start() for m in _TOP_LEVEL.finditer(text)]
    bounds = [0, *[s for s in starts if s > 0], len(text)]
    chunks = []
    line = 0
    for begin, end in itertools.pairwise(bounds):
        chunks.append((line, text[begin:end]))
        line += text.count("\n", begin, end)
    return chunks


def _parse_chunk(chunk: str, start: str, file: str, line_offset: int, errors: list[CraftError]) -> Any:
    """Parse one chunk, appending its errors; return the converted result, or None after an error."""
    deep = _too_deep_brackets(chunk)
    if deep is not None:
        errors.append(_error_at("E_TOO_DEEP", f"brackets nest deeper than {MAX_NESTING} levels",
                                file, line_offset, chunk, deep, "split the expression into simpler ones"))
        return None
    try:
        tree = _lark().parse(chunk, start=start)
    except UnexpectedInput as exc:
        errors.append(_syntax_error(exc, file, line_offset, start))
        return None
    except LarkError as exc:  # pragma: no cover - lark's other errors would be grammar bugs
        errors.append(CraftError("E_SYNTAX", str(exc), a.Span(file, line_offset + 1, 1, line_offset + 1, 1)))
        return None
    return _convert(tree, file, line_offset, errors)


def _convert(tree: Tree[Token], file: str, line_offset: int, errors: list[CraftError]) -> Any:
    too_deep = _too_deep_tree(tree)
    if too_deep is not None:
        line, col = too_deep
        span = a.Span(file, line + line_offset, col, line + line_offset, col)
        errors.append(CraftError("E_TOO_DEEP", f"the expression nests deeper than {MAX_TREE_DEPTH} levels",
                                 span, "split it into simpler expressions"))
        return None
    builder = _LarkBuilder(file, line_offset)
    try:
        result = builder.transform(tree)
    except VisitError as exc:  # pragma: no cover - a builder bug must still surface as a coded error
        errors.append(CraftError("E_SYNTAX", f"cannot read this construct: {exc.orig_exc}",
                                 a.Span(file, line_offset + 1, 1, line_offset + 1, 1)))
        return None
    errors.extend(builder.errors)
    return None if builder.errors else result


def _too_deep_brackets(text: str) -> int | None:
    """The offset of the first bracket nesting deeper than :data:`MAX_NESTING` (strings, comments skipped)."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        char = match.group()
        if char in "([{":
            depth += 1
            if depth > MAX_NESTING:
                return match.start()
        elif char in ")]}":
            depth = max(0, depth - 1)
    return None


def _too_deep_tree(tree: Tree[Token]) -> tuple[int, int] | None:
    """Where the tree first gets deeper than :data:`MAX_TREE_DEPTH`, found without recursion."""
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            meta = node.meta
            return (getattr(meta, "line", 1), getattr(meta, "column", 1))
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return None


def _error_at(code: str, message: str, file: str, line_offset: int, chunk: str, index: int,
              hint: str | None = None) -> CraftError:
    line = chunk.count("\n", 0, index) + 1
    col = index - (chunk.rfind("\n", 0, index) + 1) + 1
    return CraftError(code, message, a.Span(file, line + line_offset, col, line + line_offset, col + 1), hint)


def _syntax_error(exc: UnexpectedInput, file: str, line_offset: int, start: str) -> CraftError:
    """Turn lark's exception into a coded error with what was expected, friendliest message first."""
    line, col = exc.line + line_offset, exc.column
    if isinstance(exc, UnexpectedCharacters):
        span = a.Span(file, line, col, line, col + 1)
        if exc.char == '"':
            return CraftError("E_UNTERMINATED_STRING", "this string is not closed on its line", span,
                              'add the closing " (strings cannot span lines)')
        hint = 'strings use double quotes: "…"' if exc.char == "'" else _describe_expected(exc.allowed)
        return CraftError("E_UNEXPECTED_CHARACTER", f"unexpected character {exc.char!r}", span, hint)
    if not isinstance(exc, UnexpectedToken):  # pragma: no cover - LALR raises only the two above
        return CraftError("E_SYNTAX", str(exc), a.Span(file, line, col, line, col))
    token = exc.token
    if token.type == "$END":
        end_line = (token.end_line or 1) + line_offset
        span = a.Span(file, end_line, token.end_column or 1, end_line, token.end_column or 1)
        what = "the expression" if start == "expression" else "the text"
        message = (f'{what} ends inside a block: an "end" is missing' if "END" in exc.accepts
                   else f"{what} ends too early")
        return CraftError("E_UNEXPECTED_END", message, span, _describe_expected(exc.accepts))
    span = a.Span(file, line, col, (token.end_line or exc.line) + line_offset, token.end_column or col)
    friendly = _friendly_message(frozenset(exc.accepts), token.type) or _general_rule(exc.accepts, token)
    if friendly is not None:
        return CraftError("E_SYNTAX", friendly, span, f"found {_describe_token(token.type, str(token))}")
    return CraftError("E_UNEXPECTED_TOKEN", f"unexpected {_describe_token(token.type, str(token))}", span,
                      _describe_expected(exc.accepts))


@cache
def _friendly_index() -> dict[tuple[frozenset[str], str | None], str]:
    """What each malformed example of :data:`SYNTAX_EXAMPLES` fails on -> its message.

    The key is the set of tokens the parser would accept at the error (lark's ``accepts``, which
    follows the pending reductions and so knows the context) and the token found; an error matches
    an example when it expects exactly the same things.
    """
    index: dict[tuple[frozenset[str], str | None], str] = {}
    for example in SYNTAX_EXAMPLES:
        if example.code != "E_SYNTAX":
            continue
        try:
            _lark().parse(example.snippet, start="start")
        except UnexpectedToken as exc:
            accepts = frozenset(exc.accepts)
            index.setdefault((accepts, exc.token.type), example.message)
            index.setdefault((accepts, None), example.message)
    return index


def _friendly_message(accepts: frozenset[str], token_type: str) -> str | None:
    index = _friendly_index()
    return index.get((accepts, token_type)) or index.get((accepts, None))


def _general_rule(accepts: set[str], token: Token) -> str | None:
    """Mistakes recognised in any context, beyond the examples: ``=`` where ``==`` would fit."""
    display = _terminal_display()
    if str(token) == "=" and any(display.get(name) == '"=="' for name in accepts):
        return 'use "==" to compare ("=" only assigns)'
    return None


@cache
def _terminal_display() -> dict[str, str]:
    """Each terminal's name -> how a message shows it (keywords quoted, the rest described)."""
    names = {"NAME": "a name", "STRING": "a string", "NUMBER": "a number", "TIME": "a time such as 09:00",
             "ELSE_IF": '"else if"', "$END": "the end of the text"}
    shown = {}
    for term in _lark().terminals:
        pattern = term.pattern
        shown[term.name] = names.get(term.name) or (
            f'"{pattern.value}"' if pattern.type == "str" else term.name.lower())
    return {**names, **shown}


def _describe_token(token_type: str, value: str) -> str:
    if token_type in ("NAME", "NUMBER", "STRING", "TIME"):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"{token_type.lower()} {shown}"
    return _terminal_display().get(token_type, repr(value))


def _describe_expected(expected: set[str] | frozenset[str]) -> str:
    """``expected "do" or "where"`` — the hint of an unexpected-token error; long lists are cut."""
    display = _terminal_display()
    shown = sorted(display.get(name, name.lower()) for name in expected)
    if not shown:
        return "nothing more was expected here"
    if len(shown) > 12:
        shown = [*shown[:12], "…"]
    return "expected " + (shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1])
