"""Fixtures of the workflow tests: real local HTTP receivers and a canary listener.

Test modules cannot import from here at run time (tests/ folders are not
packages and every conftest is named ``conftest``), so fixtures are driven
through methods and imported for type hints only, under ``TYPE_CHECKING``.

``receiver`` / ``start_receiver``: a real HTTP server in a thread that records
every request and counts them by ``Idempotency-Key`` (so "delivered at most
once" is checked at the receiving end), answering from a script of replies.

``start_smtp`` / ``smtp_server``: a real SMTP server (aiosmtpd) on a free port
that keeps every mail it accepted and refuses the recipients it is told to.

``canary``: a bare TCP listener on 127.0.0.1 and ::1 that only counts accepted
connections; the SSRF tests assert it counted none.
"""

from __future__ import annotations

import email
import email.policy
import select
import socket
import ssl
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session


@dataclass(frozen=True)
class Reply:
    """One scripted answer; ``delay`` seconds pass before it is sent (to provoke client timeouts)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What a receiver got, and what it answers: queued replies first, then ``default``."""

    url: str = ""
    sni: list[str | None] = field(default_factory=list)  # TLS server names the clients sent
    requests: list[Received] = field(default_factory=list)
    by_key: Counter[str] = field(default_factory=Counter)
    queued: deque[Reply] = field(default_factory=deque)
    default: Reply = field(default_factory=Reply)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def queue(self, status: int = 200, *, body: bytes = b"", headers: dict[str, str] | None = None,
              delay: float = 0.0, times: int = 1) -> None:
        """Answer the next ``times`` requests so (after those already queued)."""
        self.queued.extend([Reply(status, body, headers or {}, delay)] * times)

    def always(self, status: int = 200, *, body: bytes = b"", headers: dict[str, str] | None = None,
               delay: float = 0.0) -> None:
        """Answer so once the queue is empty."""
        self.default = Reply(status, body, headers or {}, delay)

    def redirect(self, location: str, status: int = 302) -> None:
        self.always(status, headers={"Location": location})

    def _record(self, received: Received) -> Reply:
        with self.lock:
            self.requests.append(received)
            self.by_key[received.headers.get("Idempotency-Key", "")] += 1
            return self.queued.popleft() if self.queued else self.default


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:  # the sender died mid-request (crash test): no delivery, as in HTTP
                self.close_connection = True
                return
            reply = receiver._record(Received(self.command, self.path, dict(self.headers.items()), body))
            time.sleep(reply.delay)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: pytest output is for failures."""

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up (timeouts, refused replies) are what some tests provoke; anything else shows."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


StartReceiver = Callable[..., Receiver]


@pytest.fixture
def start_receiver() -> Iterator[StartReceiver]:
    """Starts receivers (``host`` default 127.0.0.1; any of 127/8 works on Linux); stops them after.

    With ``tls`` (a server-side context) the receiver speaks https and records the SNI names it got.
    """
    servers: list[_Server] = []

    def start(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Receiver:
        receiver = Receiver()
        server = _Server((host, 0), _handler_for(receiver))
        servers.append(server)
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: receiver.sni.append(name)
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        receiver.url = f"{scheme}://{host}:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return receiver

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(start_receiver: StartReceiver) -> Receiver:
    return start_receiver()


@dataclass
class Canary:
    """Counts TCP connections accepted on ``port`` of 127.0.0.1 (and ::1 when IPv6 is there)."""

    port: int = 0
    accepted: int = 0

    def wait_for(self, count: int, timeout: float = 2.0) -> int:
        """The count once it reached ``count`` or ``timeout`` passed (accepting runs in a thread)."""
        deadline = time.monotonic() + timeout
        while self.accepted < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.accepted


def _listeners() -> list[socket.socket]:
    v4 = socket.create_server(("127.0.0.1", 0))
    port = v4.getsockname()[1]
    try:
        return [v4, socket.create_server(("::1", port), family=socket.AF_INET6)]
    except OSError:
        return [v4]


@pytest.fixture
def canary() -> Iterator[Canary]:
    listeners = _listeners()
    found = Canary(port=listeners[0].getsockname()[1])
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            ready, _, _ = select.select(listeners, [], [], 0.05)
            for listener in ready:
                conn, _ = listener.accept()
                found.accepted += 1
                conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join()
    for listener in listeners:
        listener.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SmtpServer:
    """What a real SMTP server accepted; ``refuse`` maps a recipient to the reply it gets."""

    url: str = ""
    refuse: dict[str, str] = field(default_factory=dict)
    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTPServer, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def mails(self) -> list[EmailMessage]:
        parsed = [email.message_from_bytes(bytes(e.original_content or b""), policy=email.policy.default)
                  for e in self.envelopes]
        return [mail for mail in parsed if isinstance(mail, EmailMessage)]


StartSmtp = Callable[..., SmtpServer]


@pytest.fixture
def start_smtp() -> Iterator[StartSmtp]:
    """Starts SMTP servers on free ports (aiosmtpd keyword arguments pass through); stops them all after."""
    controllers: list[Controller] = []

    def start(scheme: str = "smtp", userinfo: str = "", query: str = "", **kwargs: Any) -> SmtpServer:
        port = _free_port()
        server = SmtpServer(url=f"{scheme}://{userinfo}127.0.0.1:{port}{query}")
        controllers.append(Controller(server, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True,
                                      **kwargs))
        controllers[-1].start()
        return server

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(start_smtp: StartSmtp) -> SmtpServer:
    return start_smtp()
