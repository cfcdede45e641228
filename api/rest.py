"""REST beside GraphQL: the pieces the form and webhook endpoints share, and ``install_rest(app)``.

Both endpoints are called by machines we do not control (a client's website,
a web shop), so every failure is a typed :class:`RestError` answered as
``{"error": {"code", "message", "hint"}}`` with a fitting status — never a 500
with a traceback.  Bodies are read under a size limit *while streaming*, so a
huge upload is refused before it is held in memory.
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException
from starlette.requests import Request as StarletteRequest
from starlette.types import Message

from workflow import Runtime, WorkflowError

#: Largest body a form or webhook may send; a website form needs a few kilobytes at most.
MAX_BODY_BYTES = 64 * 1024
#: Deepest nesting of objects and lists a JSON body may have; real payloads stay far below it.
MAX_JSON_DEPTH = 32
#: Most digits a JSON integer may have: a 128-bit id fits, a number built to waste CPU does not.
MAX_INT_DIGITS = 40


class RestError(WorkflowError):
    """An HTTP answer other than success; ``status`` is the HTTP status it is sent with."""

    code = "API.E300"

    def __init__(self, status: int, code: str, message: str, *, hint: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message, code=code, hint=hint)
        self.status = status
        self.headers = headers or {}


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str = ""


class ErrorBody(BaseModel):
    """Every refusal except a form's per-field errors."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for ``statuses``, all with the :class:`ErrorBody` shape."""
    described = {400: "The body is not what the endpoint accepts", 401: "Missing, wrong or stale signature",
                 404: "No such workspace, form or webhook", 413: f"Body over {MAX_BODY_BYTES} bytes",
                 415: "Unsupported content type", 429: "Too many submissions; see Retry-After",
                 503: "The endpoint is not configured on this server"}
    return {s: {"model": ErrorBody, "description": described[s]} for s in statuses}


async def read_limited_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, or 413 as soon as it passes ``limit`` bytes (declared or actually sent)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(limit: int) -> RestError:
    return RestError(413, "API.E313", f"the body is larger than {limit} bytes",
                     hint="send only the fields the endpoint needs")


def media_type(request: Request) -> str:
    """The request's content type without parameters, lower case ("" when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass
class RateLimiter:
    """At most ``limit`` hits per key in each fixed window of ``window`` seconds, in memory.

    Per process on purpose: it stops a script hammering one form from one
    address, which is what a public form needs; a fleet-wide quota belongs in
    the proxy in front.  Keys are partly chosen by the caller (the workspace and
    form names in the URL), so the memory is an LRU of at most ``max_keys``
    entries: expired keys at its old end are dropped first, then the least
    recently hit key, whatever its state.  Each hit is O(1) — no scan of the
    table runs on the event loop.
    """

    limit: int = 30
    window: float = 60.0
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 10_000
    _hits: OrderedDict[tuple[str, ...], tuple[float, int]] = field(default_factory=OrderedDict)

    def hit(self, *key: str) -> float | None:
        """Count one hit; None when allowed, else the seconds until the key may try again."""
        now = self.clock()
        entry = self._hits.get(key)
        if entry is None:
            self._make_room(now)
            start, count = now, 0
        else:
            self._hits.move_to_end(key)
            start, count = entry
            if now - start >= self.window:
                start, count = now, 0
        if count >= self.limit:
            return start + self.window - now
        self._hits[key] = (start, count + 1)
        return None

    def _make_room(self, now: float) -> None:
        """Drop expired keys from the old end, then the oldest ones until a new key fits.

        Each key is dropped at most once per insertion, so the cost is O(1) amortised.
        """
        while self._hits:
            oldest = next(iter(self._hits))
            if now - self._hits[oldest][0] < self.window and len(self._hits) < self.max_keys:
                return
            del self._hits[oldest]


def client_key(host: str) -> str:
    """The rate-limit key of a client address: IPv4 as is, IPv6 by its /64 network.

    Why /64: one IPv6 subscriber usually holds a whole /64, so keying single
    addresses would let one machine rotate through 2**64 keys.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


# --- JSON bodies -------------------------------------------------------------------------------


def parse_json_object(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """The JSON object ``body`` holds, or a 400 :class:`RestError` saying what is wrong with it.

    The one parser for bodies sent by machines we do not control (forms, inbound
    webhooks).  Besides syntax it refuses what ``json.loads`` accepts or crashes on
    but nothing downstream can handle: nesting deeper than ``max_depth`` (deep
    nesting overflows the recursion limit), integers over ``MAX_INT_DIGITS``
    digits (Python refuses to convert very long ones), ``NaN``/``Infinity``
    (not JSON, and not storable), and text — keys or values — holding NUL or a
    lone surrogate (``"\\ud800"``; neither can be encoded for the database).
    Codes: API.E300 not UTF-8, API.E301 not acceptable JSON, API.E302 not an
    object, API.E306 a forbidden character (naming the key, escaped).  Let the
    error propagate: :func:`install_rest` answers it as ``{"error": …}``.  Call it
    after :func:`read_limited_body`, which bounds the work it does.
    """
    try:
        data = json.loads(_utf8(body), parse_constant=_refuse_constant, parse_int=_bounded_int,
                          parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        _bad_json(f"the body is not valid JSON: {exc.msg} at character {exc.pos}")
    except RecursionError:
        _bad_json(f"the body nests objects or lists deeper than {max_depth} levels")
    if not isinstance(data, dict):
        raise RestError(400, "API.E302", "the body must be a JSON object",
                        hint='send one JSON object such as {"key": "value"}')
    _check_tree(data, max_depth)
    return data


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise RestError(400, "API.E300", "the body is not UTF-8 text",
                        hint="encode the body as UTF-8") from None


def _bad_json(message: str) -> NoReturn:
    raise RestError(400, "API.E301", message, hint='send one JSON object such as {"key": "value"}')


def _refuse_constant(name: str) -> NoReturn:
    _bad_json(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        _bad_json(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        _bad_json(f"the number {text[:20]}… is out of range" if len(text) > 20 else
                  f"the number {text} is out of range")
    return value


def _check_tree(data: dict[str, Any], max_depth: int) -> None:
    """Walk the parsed body iteratively: depth, and NUL/lone surrogates in keys and texts."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list) and depth > max_depth:
            _bad_json(f"the body nests objects or lists deeper than {max_depth} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else key
                refuse_bad_text(where, key)
                stack.append((item, where, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            refuse_bad_text(path, value)


def refuse_bad_text(key: str, text: str) -> None:
    """400 when ``text`` (the value of ``key``, or the key itself) holds NUL or a lone surrogate.

    Neither can be stored (PostgreSQL refuses NUL in text, no driver can encode a
    lone surrogate), so they are refused here with the key named, escaped so
    that the answer itself can be encoded.
    """
    if "\x00" in text or not _encodable(text):
        raise RestError(400, "API.E306", f'the value of "{printable(key)}" holds a NUL or an unpaired '
                        "surrogate character", hint="send the text as valid Unicode without NUL")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str, limit: int = 80) -> str:
    """``text`` safe for an answer or a log: NUL and lone surrogates escaped, at most ``limit`` chars."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return safe if len(safe) <= limit else safe[:limit] + "…"


def rate_limited(retry_after: float) -> RestError:
    seconds = max(1, math.ceil(retry_after))
    return RestError(429, "API.E329", "too many submissions from this address; try again later",
                     hint=f"retry after {seconds} s", headers={"Retry-After": str(seconds)})


def runtime_of(request: Request) -> Runtime:
    """The app's workflow runtime (built once per app by :func:`install_rest`)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _answer_rest_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RestError)
    body = {"error": {"code": exc.code, "message": exc.message, "hint": exc.hint}}
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def install_rest(app: FastAPI, runtime: Runtime) -> None:
    """Mount the form and webhook endpoints on ``app``, sharing ``runtime`` and one rate limiter."""
    from api.rest_forms import router as forms_router
    from api.rest_hooks import router as hooks_router

    app.state.runtime = runtime
    app.state.form_limiter = RateLimiter()
    app.add_exception_handler(RestError, _answer_rest_error)
    app.include_router(forms_router)
    app.include_router(hooks_router)


async def multipart_form(request: Request, body: bytes, what: str, **limits: int) -> FormData:
    """``body`` (already read under its size limit) parsed by Starlette's multipart parser.

    Why a replayed copy of the request: the body was consumed by the size check, and the parser
    reads the ASGI stream.  The app is left out of the scope so a parse error raises here (and
    becomes a 400 naming ``what``) instead of being answered by Starlette.
    """
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {k: v for k, v in request.scope.items() if k != "app"}
    try:
        return await StarletteRequest(scope, replay).form(**limits)
    except (MultiPartException, ValueError) as exc:
        raise RestError(400, "API.E300", f"the multipart body cannot be read: {exc}",
                        hint=f"send the {what} as multipart/form-data with a boundary") from None
