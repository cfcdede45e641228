"""Message delivery: email to a real SMTP server, SMS/WhatsApp to a real HTTP provider adapter."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from workflow.delivery import DeliveryConfig, OutgoingMessage, deliver, message_id
from workflow.errors import DeliveryFailed

if TYPE_CHECKING:
    from conftest import SmtpServer, StartSmtp


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection (smtplib and httpx both use create_connection) fails the test."""
    def refuse(*args: object, **kwargs: object) -> socket.socket:
        raise AssertionError("no connection may be opened")
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command line."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.fixture
def trusted_tls(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """The server side of TLS; the client trusts the certificate through SSL_CERT_FILE, as operators do."""
    cert, key = tls_files
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _only_user(user: str, password: str) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: LoginPassword) -> AuthResult:
        return AuthResult(success=(data.login, data.password) == (user.encode(), password.encode()),
                          handled=False)
    return check


def _email(to: str = "ann@example.com", subject: str | None = "Order 42 accepted",
           body: str = "We got your order, Ann.", key: str = "run-1/step-3") -> OutgoingMessage:
    return OutgoingMessage(channel="email", to=to, subject=subject, body=body, idempotency_key=key)


def _failure(message: OutgoingMessage, config: DeliveryConfig) -> DeliveryFailed:
    with pytest.raises(DeliveryFailed) as caught:
        deliver(message, config)
    assert caught.value.code == "WF_DELIVERY_FAILED"
    return caught.value


# --- email
def test_an_email_is_sent_with_its_recipient_subject_body_and_message_id(smtp_server: SmtpServer) -> None:
    status = deliver(_email(), DeliveryConfig(smtp_url=smtp_server.url, mail_from="crm@shop.example"))

    assert status == "sent"
    [envelope] = smtp_server.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("crm@shop.example", ["ann@example.com"])
    [mail] = smtp_server.mails()
    assert mail["To"] == "ann@example.com"
    assert mail["Subject"] == "Order 42 accepted"
    assert mail.get_content().strip() == "We got your order, Ann."
    assert mail["Message-ID"] == message_id("run-1/step-3")
    assert mail["X-Stagecraft-Idempotency-Key"] == "run-1/step-3"


def test_a_utf8_subject_and_body_arrive_intact(smtp_server: SmtpServer) -> None:
    message = _email(subject="Заказ №42 принят ✓", body="Спасибо, Анна! Grüße — 注文を承りました。")

    deliver(message, DeliveryConfig(smtp_url=smtp_server.url))

    [mail] = smtp_server.mails()
    assert mail["Subject"] == "Заказ №42 принят ✓"
    assert mail.get_content().strip() == "Спасибо, Анна! Grüße — 注文を承りました。"


def test_redelivering_the_same_key_sends_the_same_message_id(smtp_server: SmtpServer) -> None:
    config = DeliveryConfig(smtp_url=smtp_server.url)

    for key in ("run-7/step-1", "run-7/step-1", "run-7/step-2"):
        deliver(_email(key=key), config)

    first, again, other = smtp_server.mails()
    assert first["Message-ID"] == again["Message-ID"] == message_id("run-7/step-1") != other["Message-ID"]


@pytest.mark.parametrize(("reply", "retryable"), [("550 no such user", False), ("451 greylisted", True)])
def test_a_refused_recipient_is_final_on_5xx_and_retryable_on_4xx(
        smtp_server: SmtpServer, reply: str, retryable: bool) -> None:
    smtp_server.refuse["x@y.example"] = reply

    failure = _failure(_email(to="x@y.example"), DeliveryConfig(smtp_url=smtp_server.url))

    assert failure.retryable is retryable
    assert f'the SMTP server refused "x@y.example": {reply}' in failure.message
    assert smtp_server.envelopes == []


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_a_refused_connection_is_retryable(channel: str) -> None:
    nobody = f"127.0.0.1:{_free_port()}"
    config = DeliveryConfig(smtp_url=f"smtp://{nobody}", sms_url=f"http://{nobody}/", timeout=2)

    failure = _failure(_email() if channel == "email" else _sms(), config)

    assert failure.retryable is True
    assert "cannot reach" in failure.message


@pytest.mark.usefixtures("no_connections")
@pytest.mark.parametrize("channel", ["email", "sms", "whatsapp"])
def test_without_a_provider_url_a_message_is_recorded_and_nothing_connects(channel: str) -> None:
    message = _email() if channel == "email" else _sms(channel=channel)

    assert deliver(message, DeliveryConfig()) == "recorded"


def test_starttls_with_url_encoded_credentials_logs_in_and_sends(
        start_smtp: StartSmtp, trusted_tls: ssl.SSLContext) -> None:
    server = start_smtp(userinfo="crm%40shop:p%40ss%3Aw%2Fd@", query="?starttls=true",
                        tls_context=trusted_tls, require_starttls=True, auth_required=True,
                        authenticator=_only_user("crm@shop", "p@ss:w/d"))

    assert deliver(_email(), DeliveryConfig(smtp_url=server.url)) == "sent"
    assert len(server.envelopes) == 1


def test_a_wrong_smtp_password_is_final(start_smtp: StartSmtp, trusted_tls: ssl.SSLContext) -> None:
    server = start_smtp(userinfo="crm:wrong@", query="?starttls=true", tls_context=trusted_tls,
                        auth_required=True, authenticator=_only_user("crm", "right"))

    failure = _failure(_email(), DeliveryConfig(smtp_url=server.url))

    assert failure.retryable is False
    assert "refused the login" in failure.message


def test_smtps_sends_over_implicit_tls(start_smtp: StartSmtp, trusted_tls: ssl.SSLContext) -> None:
    server = start_smtp(scheme="smtps", ssl_context=trusted_tls)

    assert deliver(_email(), DeliveryConfig(smtp_url=server.url)) == "sent"
    assert len(server.envelopes) == 1


def test_an_untrusted_certificate_is_final(start_smtp: StartSmtp, tls_files: tuple[Path, Path]) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    server = start_smtp(scheme="smtps", ssl_context=context)

    failure = _failure(_email(), DeliveryConfig(smtp_url=server.url))

    assert failure.retryable is False
    assert "certificate" in failure.message
    assert server.envelopes == []


@pytest.mark.parametrize(("field_name", "value"), [("to", "ann@example.com\r\nBcc: all@example.com"),
                                                   ("subject", "Hello\nBcc: all@example.com")])
@pytest.mark.usefixtures("no_connections")
def test_a_line_break_in_a_header_is_refused_as_header_injection(field_name: str, value: str) -> None:
    failure = _failure(_email(**{field_name: value}), DeliveryConfig(smtp_url="smtp://127.0.0.1:25"))

    assert failure.retryable is False
    assert "header injection" in failure.message


@pytest.mark.parametrize("address", ["ann.example.com", "ann@", "@example.com", "ann smith@example.com",
                                     "Ann <ann@example.com>", "a@b@c", ""])
@pytest.mark.usefixtures("no_connections")
def test_an_invalid_email_address_is_final(address: str) -> None:
    failure = _failure(_email(to=address), DeliveryConfig(smtp_url="smtp://127.0.0.1:25"))

    assert failure.retryable is False
    assert "is not an email address" in failure.message


# --- SMS and WhatsApp through a real HTTP provider adapter
@dataclass
class Provider:
    """What the local provider adapter received, and the status it answers with."""

    url: str
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    hold: threading.Event | None = None


def _handler_for(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            provider.requests.append((self.path, dict(self.headers.items()), body))
            if provider.hold is not None:
                provider.hold.wait(5)
            self.send_response(provider.status)
            for name, value in provider.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def provider() -> Iterator[Provider]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Provider(url=f"http://127.0.0.1:{server.server_address[1]}/send")
    server.RequestHandlerClass = _handler_for(state)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield state
    if state.hold is not None:
        state.hold.set()
    server.shutdown()
    server.server_close()


def _sms(to: str = "+4930123456", channel: str = "sms", key: str = "run-2/step-1") -> OutgoingMessage:
    return OutgoingMessage(channel=channel, to=to, subject=None,  # type: ignore[arg-type]
                           body="Your order 42 is still waiting for payment.", idempotency_key=key)


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_a_phone_message_reaches_its_provider_as_json_with_the_idempotency_key(
        provider: Provider, channel: str) -> None:
    urls: dict[str, Any] = {"sms_url": "http://127.0.0.1:9/no", "whatsapp_url": "http://127.0.0.1:9/no",
                            f"{channel}_url": provider.url}

    status = deliver(_sms(channel=channel), DeliveryConfig(**urls))

    assert status == "sent"
    [(path, headers, body)] = provider.requests
    assert (path, headers["Idempotency-Key"], headers["Content-Type"]) == ("/send", "run-2/step-1",
                                                                           "application/json")
    assert json.loads(body) == {"channel": channel, "to": "+4930123456", "idempotency_key": "run-2/step-1",
                                "text": "Your order 42 is still waiting for payment."}


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (500, True), (429, True), (400, False),
                                                   (401, False), (404, False), (422, False)])
def test_a_provider_error_status_is_retryable_only_when_temporary(
        provider: Provider, status: int, retryable: bool) -> None:
    provider.status = status

    failure = _failure(_sms(), DeliveryConfig(sms_url=provider.url))

    assert failure.retryable is retryable
    assert str(status) in failure.message


def test_a_redirect_from_the_provider_is_not_followed(provider: Provider) -> None:
    provider.status, provider.headers = 307, {"Location": provider.url + "/elsewhere"}

    failure = _failure(_sms(), DeliveryConfig(sms_url=provider.url))

    assert failure.retryable is False
    assert len(provider.requests) == 1


def test_a_provider_that_does_not_answer_in_time_is_retryable(provider: Provider) -> None:
    provider.hold = threading.Event()

    failure = _failure(_sms(), DeliveryConfig(sms_url=provider.url, timeout=0.2))

    assert failure.retryable is True
    assert "did not answer" in failure.message


@pytest.mark.parametrize("number", ["030 123456", "4930123456", "+49 30 123456", "+0123456", "+49-30",
                                    "+4930123456\nX-Evil: 1", "+1234567890123456", ""])
@pytest.mark.usefixtures("no_connections")
def test_a_phone_number_not_in_plus_digits_form_is_final(number: str) -> None:
    failure = _failure(_sms(to=number), DeliveryConfig(sms_url="http://127.0.0.1:9/send"))

    assert failure.retryable is False
    assert "not a phone number" in failure.message


# --- configuration
def test_from_env_reads_every_variable() -> None:
    environ = {"STAGECRAFT_SMTP_URL": "smtp://mail.internal:2525",
               "STAGECRAFT_MAIL_FROM": "CRM <crm@shop.example>",
               "STAGECRAFT_SMS_URL": "https://sms.internal/send", "STAGECRAFT_WHATSAPP_URL": "http://wa.internal/"}

    config = DeliveryConfig.from_env(environ)

    assert (config.smtp_url, config.mail_from, config.sms_url, config.whatsapp_url) == tuple(environ.values())


def test_from_env_counts_empty_variables_as_unset() -> None:
    config = DeliveryConfig.from_env({"STAGECRAFT_SMTP_URL": "", "STAGECRAFT_MAIL_FROM": "",
                                      "STAGECRAFT_SMS_URL": " ", "STAGECRAFT_WHATSAPP_URL": ""})

    assert config == DeliveryConfig()


@pytest.mark.parametrize("settings", [
    {"smtp_url": "http://mail.internal"}, {"smtp_url": "smtp://"}, {"smtp_url": "smtp://h:99999"},
    {"smtp_url": "smtp://h?starttls=maybe"}, {"smtp_url": "smtp://h?tls=true"},
    {"smtp_url": "smtps://h?starttls=true"}, {"mail_from": "nobody"}, {"mail_from": "a@b\r\nBcc: c@d"},
    {"sms_url": "sms.internal/send"}, {"whatsapp_url": "ftp://wa.internal"}, {"timeout": 0},
    {"smtp_url": "smtp://crm:s3cret@h?starttls=perhaps"},
])
def test_a_bad_setting_fails_when_the_config_is_built_without_echoing_a_password(
        settings: dict[str, Any]) -> None:
    with pytest.raises(DeliveryFailed) as caught:
        DeliveryConfig(**settings)

    assert caught.value.retryable is False
    assert "s3cret" not in str(caught.value)
