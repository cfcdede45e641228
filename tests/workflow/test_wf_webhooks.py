"""Outgoing webhook calls against a real local HTTP receiver: headers, signature, retries, replies."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from workflow.errors import WebhookFailed
from workflow.ssrf import AllowList
from workflow.webhooks import (
    MAX_REPLY_BYTES,
    WebhookReply,
    WebhookRequest,
    call_webhook,
    sign,
    verify_signature,
)

if TYPE_CHECKING:
    from conftest import Receiver, StartReceiver

LOOPBACK = AllowList.from_text("127.0.0.0/8")
NOW = 1_700_000_000.0


class Sleeps(list[float]):
    """An injected sleep that records how long it was asked to wait, and does not wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _call(receiver: Receiver, *, body: dict[str, object] | None = None, method: str = "POST",
          secret: str | None = None, key: str = "effect-1", sleeps: Sleeps | None = None,
          **kwargs: object) -> WebhookReply:
    request = WebhookRequest(url=receiver.url + "/hook?x=1", method=method, body=body, idempotency_key=key)
    return call_webhook(request, secret=secret, allow=LOOPBACK, now=lambda: NOW,
                        sleep=sleeps if sleeps is not None else Sleeps(),
                        rng=random.Random(7), **kwargs)  # type: ignore[arg-type]


def _failure(receiver: Receiver, **kwargs: object) -> WebhookFailed:
    with pytest.raises(WebhookFailed) as failure:
        _call(receiver, **kwargs)  # type: ignore[arg-type]
    return failure.value


def test_a_post_sends_the_body_as_json_with_the_stagecraft_headers(receiver: Receiver) -> None:
    reply = _call(receiver, body={"deal": 42, "name": "Ann"}, key="run-7:step-3")
    assert reply == WebhookReply(200, "")
    sent = receiver.requests[0]
    assert (sent.method, sent.path) == ("POST", "/hook?x=1")
    assert json.loads(sent.body) == {"deal": 42, "name": "Ann"}
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["User-Agent"] == "Stagecraft-Webhook/1"
    assert sent.headers["Idempotency-Key"] == sent.headers["X-Stagecraft-Id"] == "run-7:step-3"
    assert sent.headers["X-Stagecraft-Timestamp"] == str(int(NOW))


def test_no_body_sends_an_empty_body(receiver: Receiver) -> None:
    _call(receiver, method="GET")
    assert (receiver.requests[0].method, receiver.requests[0].body) == ("GET", b"")


def test_the_name_travels_in_the_host_header_while_the_checked_ip_is_connected(
        start_receiver: StartReceiver) -> None:
    receiver = start_receiver("127.0.0.1")
    port = receiver.url.rsplit(":", 1)[1]
    receiver.url = f"http://localhost:{port}"
    _call(receiver)
    assert receiver.requests[0].headers["Host"] == f"localhost:{port}"


def test_the_receiver_can_recompute_the_signature(receiver: Receiver) -> None:
    _call(receiver, body={"a": 1}, secret="s3cret")
    sent = receiver.requests[0]
    prefix = f"{sent.headers['X-Stagecraft-Id']}.{sent.headers['X-Stagecraft-Timestamp']}."
    signed = prefix.encode() + sent.body
    expected = hmac.new(b"s3cret", signed, hashlib.sha256).hexdigest()
    assert sent.headers["X-Stagecraft-Signature"] == f"sha256={expected}"


def test_without_a_secret_no_signature_is_sent(receiver: Receiver) -> None:
    _call(receiver, body={"a": 1})
    assert "X-Stagecraft-Signature" not in receiver.requests[0].headers


def test_verify_signature_accepts_a_fresh_untouched_call() -> None:
    signature = sign("s3cret", "id-1", "1700000000", b'{"a":1}')
    assert verify_signature("s3cret", "id-1", "1700000000", b'{"a":1}', signature, now=lambda: NOW + 60)


@pytest.mark.parametrize(("secret", "id", "body"), [
    ("s3cret", "id-1", b'{"a":2}'), ("wrong", "id-1", b'{"a":1}'), ("s3cret", "id-2", b'{"a":1}')])
def test_verify_signature_rejects_a_changed_body_id_or_wrong_secret(secret: str, id: str,
                                                                    body: bytes) -> None:
    signature = sign("s3cret", "id-1", "1700000000", b'{"a":1}')
    assert not verify_signature(secret, id, "1700000000", body, signature, now=lambda: NOW)


@pytest.mark.parametrize("age", [301, -301])
def test_verify_signature_rejects_a_timestamp_outside_the_tolerance(age: float) -> None:
    signature = sign("s3cret", "id-1", "1700000000", b"")
    assert not verify_signature("s3cret", "id-1", "1700000000", b"", signature, now=lambda: NOW + age)


def test_verify_signature_rejects_a_timestamp_that_is_not_a_number() -> None:
    signature = sign("s3cret", "id-1", "soon", b"")
    assert not verify_signature("s3cret", "id-1", "soon", b"", signature, now=lambda: NOW)


def test_server_errors_are_retried_with_the_same_key_until_success(receiver: Receiver) -> None:
    receiver.queue(503, times=2)
    sleeps = Sleeps()
    assert _call(receiver, key="k-1", sleeps=sleeps) == WebhookReply(200, "")
    assert receiver.by_key == {"k-1": 3}
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_retry_after_is_honoured_up_to_the_cap(receiver: Receiver) -> None:
    receiver.queue(429, headers={"Retry-After": "7"})
    receiver.queue(503, headers={"Retry-After": "3600"})
    sleeps = Sleeps()
    _call(receiver, sleeps=sleeps)
    assert sleeps == [7.0, 30.0]


def test_a_client_error_fails_at_once_and_is_not_retryable(receiver: Receiver) -> None:
    receiver.always(400, body=b"missing field deal")
    failure = _failure(receiver)
    assert failure.retryable is False
    assert len(receiver.requests) == 1
    assert all(part in failure.message for part in ("127.0.0.1", "400", "missing field deal"))


def test_persistent_server_errors_end_retryable_after_the_last_attempt(receiver: Receiver) -> None:
    receiver.always(500)
    failure = _failure(receiver, attempts=3)
    assert failure.retryable is True
    assert len(receiver.requests) == 3
    assert "500" in failure.message and "3 attempts" in failure.message


def test_a_slow_receiver_times_out_is_retried_and_ends_retryable(receiver: Receiver) -> None:
    receiver.always(delay=0.5)
    failure = _failure(receiver, timeout=0.2, attempts=2)
    assert failure.retryable is True
    assert "did not answer within 0.2 s" in failure.message
    assert len(receiver.requests) == 2


def test_a_refused_connection_is_retried_and_ends_retryable(start_receiver: StartReceiver) -> None:
    closed = start_receiver("127.0.0.3")
    closed.url = "http://127.0.0.3:9"  # the discard port: nothing listens there
    sleeps = Sleeps()
    failure = _failure(closed, sleeps=sleeps)
    assert failure.retryable is True
    assert "cannot connect" in failure.message
    assert len(sleeps) == 2


def test_a_json_reply_is_parsed(receiver: Receiver) -> None:
    receiver.always(201, body=b'{"id": 9, "ok": true}', headers={"Content-Type": "application/json"})
    assert _call(receiver) == WebhookReply(201, {"id": 9, "ok": True})


def test_a_text_reply_stays_text(receiver: Receiver) -> None:
    receiver.always(body="thanks ✓".encode(), headers={"Content-Type": "text/plain; charset=utf-8"})
    assert _call(receiver) == WebhookReply(200, "thanks ✓")


def test_a_reply_over_one_megabyte_is_refused(receiver: Receiver) -> None:
    receiver.always(body=b"x" * (MAX_REPLY_BYTES + 1))
    failure = _failure(receiver)
    assert failure.retryable is False
    assert "more than" in failure.message


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "OPTIONS"])
def test_an_unsupported_method_is_refused(receiver: Receiver, method: str) -> None:
    failure = _failure(receiver, method=method)
    assert failure.retryable is False
    assert method in failure.message
    assert receiver.requests == []


@pytest.fixture(scope="module")
def localhost_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name localhost, made by the openssl command line."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True, timeout=30)
    return cert, key


def test_https_sends_the_host_name_as_sni_and_checks_the_certificate_against_it(
        start_receiver: StartReceiver, localhost_tls: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = localhost_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    receiver = start_receiver("127.0.0.1", tls=server_side)
    receiver.url = "https://localhost:" + receiver.url.rsplit(":", 1)[1]
    assert _call(receiver) == WebhookReply(200, "")
    assert receiver.sni == ["localhost"]
