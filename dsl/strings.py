"""String literals: escapes and ``{path}`` interpolation, decided once, at parse time.

Why here and not at run time: a template is split into literal text and *paths* when the source is
parsed, so what is inside braces can only ever be a field path (``{contact.name}``).  Anything else —
``{''.__class__}``, ``{1+1}``, ``{ x() }`` — is an ``E_BAD_INTERPOLATION`` error with its position.
``{{`` and ``}}`` stand for literal braces.  Values read from records when a template is rendered are
inserted as plain text and never parsed again, so braces inside data stay data.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dsl.ast import Clock, Ident, Path, Scope, Span, StringLit, Template, Text
from dsl.errors import CraftError

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
_PATH_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*")
_SEGMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SCOPES = ("old", "form", "payload")


def make_path(segments: list[Ident], span: Span) -> Path | Clock:
    """Turn the words of a dotted name into a path (``old.``, ``form.``, ``payload.``, ``now``, ``today``).

    The scope words only count when more words follow, so a field literally named ``form`` stays reachable.
    """
    first = segments[0].name
    if len(segments) == 1 and first in ("now", "today"):
        return Clock("now" if first == "now" else "today", span)
    if len(segments) > 1 and first in _SCOPES:
        scope: Scope = "old" if first == "old" else "form" if first == "form" else "payload"
        return Path(scope, tuple(segments[1:]), span)
    return Path("record", tuple(segments), span)


def _at(span: Span, index: int, length: int = 1) -> Span:
    """The span of ``length`` characters at ``index`` inside a single-line string token."""
    col = span.col + index
    return Span(span.file, span.line, col, span.line, col + length)


def decode_plain(raw: str, span: Span, errors: list[CraftError]) -> StringLit:
    """A string whose braces are literal (names, groups, time zones): only escapes are decoded."""
    text = decode_text(raw, span, errors, interpolate=False)
    assert isinstance(text, StringLit)
    return text


def decode_text(raw: str, span: Span, errors: list[CraftError], *, interpolate: bool = True) -> Text:
    """Decode the token ``raw`` (quotes included) into a :class:`StringLit` or :class:`Template`."""
    parts: list[str | Path | Clock] = []
    buf: list[str] = []
    i, end = 1, len(raw) - 1
    while i < end:
        char = raw[i]
        if char == "\\":
            buf.append(_escape(raw, i, span, errors))
            i += 2
        elif interpolate and char in "{}" and raw[i + 1] == char:
            buf.append(char)
            i += 2
        elif interpolate and char == "{":
            close = raw.find("}", i + 1, end)
            placeholder = _placeholder(raw, i, close, span, errors)
            if placeholder is None:
                return StringLit("", span)
            parts.extend(["".join(buf), placeholder] if buf else [placeholder])
            buf = []
            i = close + 1
        elif interpolate and char == "}":
            errors.append(CraftError("E_BAD_INTERPOLATION", "a \"}\" without a matching \"{\"", _at(span, i),
                                     'write "}}" for a literal brace'))
            return StringLit("", span)
        else:
            buf.append(char)
            i += 1
    if not parts:
        return StringLit("".join(buf), span)
    if buf:
        parts.append("".join(buf))
    return Template(tuple(parts), span)


def _escape(raw: str, i: int, span: Span, errors: list[CraftError]) -> str:
    nxt = raw[i + 1]
    if nxt in _ESCAPES:
        return _ESCAPES[nxt]
    errors.append(CraftError("E_BAD_ESCAPE", f'unknown escape "\\{nxt}" in a string', _at(span, i, 2),
                             'use \\" for a quote, \\\\ for a backslash, \\n or \\t'))
    return nxt


def _placeholder(raw: str, i: int, close: int, span: Span, errors: list[CraftError]) -> Path | Clock | None:
    """Parse the ``{…}`` at ``raw[i]``; record an error and return None unless it holds a path."""
    if close < 0:
        errors.append(CraftError("E_BAD_INTERPOLATION", 'a "{" without a matching "}"', _at(span, i),
                                 'write "{{" for a literal brace'))
        return None
    inner = raw[i + 1:close]
    match = _PATH_RE.fullmatch(inner)
    if match is None:
        errors.append(CraftError(
            "E_BAD_INTERPOLATION", f"only a field path may stand inside braces, not {{{inner}}}",
            _at(span, i, close - i + 1), 'write a path such as {contact.name}, or "{{" for a literal brace'))
        return None
    segments = []
    for seg in _SEGMENT_RE.finditer(match.group(1)):
        start = i + 1 + match.start(1) + seg.start()
        segments.append(Ident(seg.group(), _at(span, start, len(seg.group()))))
    return make_path(segments, _at(span, i, close - i + 1))


def render(text: Text, read: Callable[[Path | Clock], object]) -> str:
    """Fill a template's placeholders with ``read(path)``; ``null`` renders as nothing.

    The values are pasted in as plain text and the result is never parsed again: a record value such
    as ``"{{ config }}"`` or ``"{owner.email}"`` appears verbatim, it is not a template.
    """
    if isinstance(text, StringLit):
        return text.value
    out = []
    for part in text.parts:
        if isinstance(part, str):
            out.append(part)
        else:
            value = read(part)
            out.append("" if value is None else str(value))
    return "".join(out)
