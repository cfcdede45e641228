"""Outgoing webhooks: one signed, idempotent HTTP call to an address the SSRF guard accepted.

Why the call connects to the IP from :func:`workflow.ssrf.check_url` and never
to the name: resolving once and connecting to that very address defeats DNS
rebinding (a second lookup could answer 127.0.0.1).  The name still travels in
the Host header and, for https, as the TLS SNI name, so virtual hosts and
certificate checks work as usual.  Proxies from the environment are ignored
for the same reason: a proxy would resolve the name again.

Why redirects are never followed: a redirect is a second request to a URL the
guard never saw (``302 Location: http://127.0.0.1/…``).  A moved receiver must
be reconfigured, not chased.

The body: ``None`` sends an empty body, whatever the method; a dict is sent as
compact JSON, whatever the method (a GET with ``with {…}`` sends it, as the
blueprint asked).  The signature always covers exactly the bytes sent.

Retries: connection failures, timeouts, 5xx and 429 are retried with
exponential backoff and full jitter (base 0.5 s, cap 30 s, Retry-After honoured
up to the cap); the receiver sees the same ``Idempotency-Key`` every time, so it
can drop duplicates.  After the last attempt the error stays retryable, so the
engine retries the step later.  Other 4xx answers fail at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from workflow.errors import WebhookFailed
from workflow.ssrf import AllowList, ResolvedTarget, check_url

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
MAX_REPLY_BYTES = 1024 * 1024
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
USER_AGENT = "Stagecraft-Webhook/1"
_EXCERPT = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookRequest:
    """What a ``call webhook`` step asks for; ``idempotency_key`` is the step's effect key."""

    url: str
    method: str = "POST"
    body: dict[str, Any] | None = None
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """The receiver's 2xx answer: ``body`` is parsed JSON when the reply says JSON, else text."""

    status: int
    body: Any


class _Retry(Exception):
    """One attempt failed in a way another attempt may not; carries the admin-readable reason."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def sign(secret: str, id: str, timestamp: str, body: bytes) -> str:
    """The ``X-Stagecraft-Signature`` value: ``sha256=`` + hex HMAC-SHA256 over ``id.timestamp.body``.

    The id and timestamp are signed with the body so a captured call cannot be
    replayed later (timestamp) or passed off as another event (id).
    """
    digest = hmac.new(secret.encode(), f"{id}.{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def verify_signature(secret: str, id: str, timestamp: str, body: bytes, signature: str, *,
                     now: Callable[[], float], tolerance: float = 300) -> bool:
    """True when ``signature`` is ours and the timestamp is within ``tolerance`` seconds of ``now()``.

    The comparison is constant-time so an attacker cannot learn the signature byte by byte.
    """
    if not id or not _TIMESTAMP.fullmatch(timestamp):  # plain digits only: no overflow, no "1_7…"
        return False
    if abs(now() - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, id, timestamp, body).encode(), signature.encode())


def hook_secret_for(master: str, workspace: str, name: str) -> str:
    """The secret one inbound hook is signed with: derived from the master secret, the workspace and
    the hook's name.

    Why derived: with one shared secret, anyone who receives a signed request — an outgoing webhook
    of another workspace, or a call meant for another hook — could replay it to any hook of any
    workspace.  A secret per (workspace, hook) confines a signature to the path it was made for,
    and never equals the secret of outgoing webhooks.
    """
    label = f"stagecraft-inbound-hook:{workspace}:{name}".encode()
    return hmac.new(master.encode(), label, hashlib.sha256).hexdigest()


def call_webhook(request: WebhookRequest, *, secret: str | None, allow: AllowList,
                 now: Callable[[], float] = time.time, timeout: float = 10.0, attempts: int = 3,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> WebhookReply:
    """Call the webhook, retrying temporary failures; raises UnsafeAddress or WebhookFailed."""
    method = request.method.upper()
    if method not in METHODS:
        raise WebhookFailed(f'webhooks cannot use the HTTP method "{request.method}"', retryable=False,
                            hint="use GET, POST, PUT, PATCH or DELETE")
    target = check_url(request.url, allow=allow)
    body = b"" if request.body is None else json.dumps(request.body, separators=(",", ":")).encode()
    jitter = rng or random.Random()
    reason, retry_after = "", None
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls()) as client:
        for attempt in range(max(1, attempts)):
            if attempt:
                sleep(_backoff(attempt - 1, retry_after, jitter))
            try:
                return _attempt(client, target, method, body, request.idempotency_key, secret, now)
            except _Retry as failure:
                reason, retry_after = failure.reason, failure.retry_after
    raise WebhookFailed(f"{reason} (gave up after {max(1, attempts)} attempts)", retryable=True,
                        hint="the step will be retried later")


def _tls() -> ssl.SSLContext | bool:
    """Certificates are checked against the default roots, or SSL_CERT_FILE when the operator set one.

    httpx would read SSL_CERT_FILE only with ``trust_env``, which would also honour proxy variables.
    """
    cafile = os.environ.get("SSL_CERT_FILE")
    return ssl.create_default_context(cafile=cafile) if cafile else True


def _backoff(retry: int, retry_after: float | None, rng: random.Random) -> float:
    """Full jitter (uniform in [0, min(cap, base·2^n)]) spreads retries; Retry-After wins, up to the cap."""
    if retry_after is not None:
        return min(BACKOFF_CAP, max(0.0, retry_after))
    return rng.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** retry))


def _headers(target: ResolvedTarget, key: str, body: bytes, secret: str | None,
             now: Callable[[], float]) -> dict[str, str]:
    timestamp = str(int(now()))
    headers = {"Host": target.host_header, "Content-Type": "application/json", "User-Agent": USER_AGENT,
               "Idempotency-Key": key, "X-Stagecraft-Id": key, "X-Stagecraft-Timestamp": timestamp}
    if secret:
        headers["X-Stagecraft-Signature"] = sign(secret, key, timestamp, body)
    return headers


def _attempt(client: httpx.Client, target: ResolvedTarget, method: str, body: bytes, key: str,
             secret: str | None, now: Callable[[], float]) -> WebhookReply:
    """One request to the checked IP; returns the reply, raises _Retry or a final WebhookFailed."""
    headers = _headers(target, key, body, secret, now)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    where = target.origin
    try:
        with client.stream(method, target.connect_url, content=body, headers=headers,
                           extensions=extensions) as response:
            _judge_status(where, response, now)
            return _read_reply(where, response)
    except httpx.TimeoutException as exc:
        raise _Retry(f"the webhook receiver {where} did not answer within {client.timeout.read:g} s") from exc
    except httpx.ConnectError as exc:
        raise _Retry(f"cannot connect to the webhook receiver {where} ({target.ip}): {exc}") from exc
    except httpx.TransportError as exc:
        raise _Retry(f"the connection to the webhook receiver {where} broke: {exc}") from exc


def _judge_status(where: str, response: httpx.Response, now: Callable[[], float]) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    said = f"{status} {response.reason_phrase}".strip()
    if 300 <= status < 400:
        location = response.headers.get("Location", "nowhere")
        raise WebhookFailed(f"the webhook receiver {where} answered with a redirect ({said}) to {location}; "
                            "redirects are not followed", retryable=False,
                            hint="configure the final URL of the receiver")
    excerpt = _excerpt(response)
    what = f"the webhook receiver {where} answered {said}" + (f": {excerpt}" if excerpt else "")
    if status >= 500 or status == 429:
        raise _Retry(what, _retry_after(response.headers.get("Retry-After"), now))
    raise WebhookFailed(what, retryable=False,
                        hint="the receiver refused this call; retrying the same call will not help")


def _excerpt(response: httpx.Response) -> str:
    """The start of an error reply, for the admin; a broken stream just means no excerpt."""
    try:
        raw = next(response.iter_bytes(_EXCERPT), b"")
    except httpx.HTTPError:
        return ""
    return " ".join(raw[:_EXCERPT].decode("utf-8", "replace").split())


def _retry_after(value: str | None, now: Callable[[], float]) -> float | None:
    """Retry-After in seconds (delta form or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return parsedate_to_datetime(value).timestamp() - now()
    except (TypeError, ValueError):
        return None


def _read_reply(where: str, response: httpx.Response) -> WebhookReply:
    """Read at most 1 MB (decoded, so a compressed bomb is caught too), then parse JSON when it says JSON."""
    too_big = WebhookFailed(f"the webhook receiver {where} answered with more than {MAX_REPLY_BYTES} bytes",
                            retryable=False, hint="make the receiver answer with a short reply")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
        raise too_big
    raw = bytearray()
    for chunk in response.iter_bytes():
        raw += chunk
        if len(raw) > MAX_REPLY_BYTES:
            raise too_big
    text = raw.decode(response.encoding or "utf-8", "replace")
    if "json" in response.headers.get("Content-Type", "").lower():
        if not text.strip():
            return WebhookReply(response.status_code, None)
        try:
            return WebhookReply(response.status_code, json.loads(text))
        except ValueError:
            pass  # a receiver that says JSON but sends something else: keep its words as text
    return WebhookReply(response.status_code, text)
