"""Hand recorded messages (``send email|sms|whatsapp`` steps) to the outside world.

The engine records every message as a Message row first, then calls
:func:`deliver` with the row's idempotency key and stores the status it
returns. Delivery is at-least-once: a crash between "handed over" and "marked
sent" sends again, with the same key — as the ``Idempotency-Key`` header for
HTTP providers, and as a Message-ID derived from the key for email — so
receivers can drop the duplicate.

A channel with no provider configured is not an error: the spec says such
messages are recorded but not delivered, so :func:`deliver` answers
``"recorded"``. Every address is checked first, whatever is configured, so a
blueprint behaves the same in simulation and in production.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal
from urllib.parse import urlsplit

from workflow.delivery_http import post_to_provider
from workflow.delivery_smtp import parse_smtp_url, send_mail
from workflow.errors import DeliveryFailed

Channel = Literal["email", "sms", "whatsapp"]
DeliveryStatus = Literal["sent", "recorded"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "whatsapp")

# One "@", something on both sides, no spaces or address-list punctuation: this is
# a plain address from a record field, never a display name or a list.
_EMAIL = re.compile(r"[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+")
# E.164: "+", a country code that does not start with 0, at most 15 digits in all.
_PHONE = re.compile(r"\+[1-9][0-9]{1,14}")
_LINE_BREAKS = ("\r", "\n")


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One recorded message, as the engine hands it over; ``idempotency_key`` is the Message row's key."""

    channel: Channel
    to: str
    subject: str | None
    body: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """Where each channel goes; checked when built, so a bad URL stops start-up instead of the first send."""

    smtp_url: str | None = None
    mail_from: str = "stagecraft@localhost"
    sms_url: str | None = None
    whatsapp_url: str | None = None
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.smtp_url is not None:
            parse_smtp_url(self.smtp_url)
        _refuse_line_breaks(self.mail_from, "the sender STAGECRAFT_MAIL_FROM")
        _check_email_address(parseaddr(self.mail_from)[1], "the sender address STAGECRAFT_MAIL_FROM")
        providers = (("STAGECRAFT_SMS_URL", self.sms_url), ("STAGECRAFT_WHATSAPP_URL", self.whatsapp_url))
        for name, url in providers:
            if url is not None:
                _check_provider_url(name, url)
        if not self.timeout > 0:
            raise DeliveryFailed(f"the delivery timeout must be positive, not {self.timeout}",
                                 retryable=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DeliveryConfig:
        """Read the ``STAGECRAFT_*`` variables; an empty one counts as unset (compose files leave them so)."""

        def read(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        return cls(smtp_url=read("STAGECRAFT_SMTP_URL"),
                   mail_from=read("STAGECRAFT_MAIL_FROM") or "stagecraft@localhost",
                   sms_url=read("STAGECRAFT_SMS_URL"),
                   whatsapp_url=read("STAGECRAFT_WHATSAPP_URL"))

    def provider_url(self, channel: Channel) -> str | None:
        """The configured destination of ``channel``, or ``None`` when its messages are only recorded."""
        return {"email": self.smtp_url, "sms": self.sms_url, "whatsapp": self.whatsapp_url}[channel]


def deliver(message: OutgoingMessage, config: DeliveryConfig) -> DeliveryStatus:
    """Hand ``message`` over and return the status to store: ``"sent"`` or ``"recorded"``.

    Raises :class:`DeliveryFailed`; its ``retryable`` says whether the engine
    should try again (with the same key) or fail the step.
    """
    check_message(message)
    url = config.provider_url(message.channel)
    if url is None:
        return "recorded"
    if message.channel == "email":
        mail = build_email(message, config.mail_from, datetime.now(UTC))
        send_mail(parse_smtp_url(url), mail, message.to, config.timeout)
    else:
        payload = {"channel": message.channel, "to": message.to, "text": message.body,
                   "idempotency_key": message.idempotency_key}
        post_to_provider(url, payload, message.idempotency_key, config.timeout)
    return "sent"


def check_message(message: OutgoingMessage) -> None:
    """Refuse what no provider could ever take; these errors are final, retrying cannot fix the data."""
    if message.channel not in CHANNELS:
        raise DeliveryFailed(f'unknown channel "{message.channel}"', retryable=False,
                             hint="use email, sms or whatsapp")
    _refuse_line_breaks(message.idempotency_key, "the idempotency key")
    if not message.idempotency_key.strip():
        raise DeliveryFailed("the message has no idempotency key", retryable=False,
                             hint="every message carries its Message row's key so receivers can deduplicate")
    if message.channel == "email":
        _check_email_address(message.to, "the recipient")
        if message.subject is not None:
            _refuse_line_breaks(message.subject, "the subject")
    elif not _PHONE.fullmatch(message.to):
        raise DeliveryFailed(f'cannot send {message.channel} to "{_shown(message.to)}": not a phone number '
                             f'in international form', retryable=False,
                             hint='write phone numbers as "+" and digits only, e.g. +4930123456')


def _check_email_address(address: str, what: str) -> None:
    _refuse_line_breaks(address, what)
    if not _EMAIL.fullmatch(address):
        raise DeliveryFailed(f'cannot send email: {what} "{_shown(address)}" is not an email address',
                             retryable=False, hint="an address looks like name@example.com")


def _refuse_line_breaks(value: str, what: str) -> None:
    """A line break in a header value would let record data add headers (Bcc: …) to the mail."""
    if any(mark in value for mark in _LINE_BREAKS):
        raise DeliveryFailed(f'refused: {what} "{_shown(value)}" contains a line break (header injection)',
                             retryable=False, hint="remove line breaks from the field the message uses")


def _shown(value: str) -> str:
    """Quote data back to the admin without its line breaks and without flooding the error."""
    flat = value.replace("\r", "\\r").replace("\n", "\\n")
    return flat if len(flat) <= 80 else flat[:77] + "..."


def _check_provider_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryFailed(f'{name} "{url}" is not an http:// or https:// URL', retryable=False,
                             hint="point it at the SMS/WhatsApp provider adapter, e.g. https://sms.internal/send")


def message_id(idempotency_key: str) -> str:
    """The Message-ID of the mail for this key: the same on every re-send, so mail systems see one message."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@stagecraft>"


def build_email(message: OutgoingMessage, mail_from: str, sent_at: datetime) -> EmailMessage:
    """The mail as it goes on the wire; non-ASCII text is encoded by the email package (RFC 2047, UTF-8).

    ``Date`` is the wall-clock time of this hand-over, not the engine's clock:
    it is transport metadata, and only real deliveries (never simulations) reach a server.
    """
    mail = EmailMessage()
    mail["From"] = mail_from
    mail["To"] = message.to
    if message.subject is not None:
        mail["Subject"] = message.subject
    mail["Date"] = format_datetime(sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC))
    mail["Message-ID"] = message_id(message.idempotency_key)
    mail["X-Stagecraft-Idempotency-Key"] = message.idempotency_key
    # Quoted-printable keeps non-ASCII bodies 7-bit clean, so servers without 8BITMIME take them too.
    if message.body.isascii():
        mail.set_content(message.body)
    else:
        mail.set_content(message.body, cte="quoted-printable")
    return mail
