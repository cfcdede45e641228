"""Hand an email to an SMTP server (stdlib smtplib), and say whether a failure is worth retrying.

Kept apart from :mod:`workflow.delivery` so the transport — URL forms, TLS,
login and the mapping of SMTP replies to retryable or final errors — can be
read on its own. It knows nothing of workflow messages: it receives a built
:class:`email.message.EmailMessage`.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from workflow.errors import DeliveryFailed

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to connect, read once from ``STAGECRAFT_SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None


def _config_error(url: str, why: str) -> DeliveryFailed:
    shown = _without_password(url)
    return DeliveryFailed(f'the SMTP URL "{shown}" is not usable: {why}', retryable=False,
                          hint="use smtp://host:port, smtp://user:pass@host:port?starttls=true "
                               "or smtps://host:port")


def _without_password(url: str) -> str:
    """Never echo a password back into an error an admin (or a log) will read."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read an SMTP URL, refusing anything ambiguous so a typo fails at start-up, not at the first mail."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise _config_error(url, f'the scheme must be smtp or smtps, not "{parts.scheme}"')
    if not parts.hostname:
        raise _config_error(url, "it names no host")
    try:
        port = parts.port
    except ValueError as exc:
        raise _config_error(url, "the port is not a number between 0 and 65535") from exc
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"starttls"})
    if unknown:
        raise _config_error(url, f'unknown option "{unknown[0]}" (only starttls is understood)')
    starttls_text = query.get("starttls", ["false"])[-1].lower()
    if starttls_text not in _TRUE | _FALSE:
        raise _config_error(url, f'starttls must be true or false, not "{starttls_text}"')
    implicit_tls = parts.scheme == "smtps"
    starttls = starttls_text in _TRUE
    if implicit_tls and starttls:
        raise _config_error(url, "smtps:// is already encrypted; starttls applies to smtp:// only")
    return SmtpTarget(
        host=parts.hostname, port=port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls, starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None)


def _connect(target: SmtpTarget, timeout: float) -> smtplib.SMTP:
    if target.implicit_tls:
        return smtplib.SMTP_SSL(target.host, target.port, timeout=timeout,
                                context=ssl.create_default_context())
    return smtplib.SMTP(target.host, target.port, timeout=timeout)


def send_mail(target: SmtpTarget, mail: EmailMessage, recipient: str, timeout: float) -> None:
    """Hand ``mail`` to the server; returns once the server has accepted it (the DATA reply is 250).

    Errors before that point become :class:`DeliveryFailed`; a failure while
    saying goodbye afterwards is ignored, because the mail is already handed
    over and reporting it as failed would only send it a second time.
    """
    try:
        smtp = _connect(target, timeout)
    except (smtplib.SMTPException, OSError) as exc:
        raise _classify(exc, recipient, target) from exc
    try:
        if target.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if target.username is not None:
            smtp.login(target.username, target.password or "")
        smtp.send_message(mail, to_addrs=[recipient])
    except (smtplib.SMTPException, OSError) as exc:
        raise _classify(exc, recipient, target) from exc
    finally:
        _close_quietly(smtp)


def _close_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _reply_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return " ".join(text.split())


def _by_code(code: int, what: str) -> DeliveryFailed:
    """SMTP's own rule: 4xx is a temporary failure worth retrying, 5xx is final."""
    retryable = 400 <= code < 500
    hint = "the server asked to try again later" if retryable else "retrying will not help"
    return DeliveryFailed(what, retryable=retryable, hint=hint)


def _classify(exc: OSError, recipient: str, target: SmtpTarget) -> DeliveryFailed:
    """Map what smtplib raised to a typed error; order matters, as every SMTPException is an OSError."""
    server = f"{target.host}:{target.port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = exc.recipients.get(recipient, next(iter(exc.recipients.values()), (550, b"")))
        return _by_code(code, f'the SMTP server refused "{recipient}": {code} {_reply_text(reply)}')
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        failed = _by_code(exc.smtp_code, f"the SMTP server at {server} refused the login: "
                                         f"{exc.smtp_code} {_reply_text(exc.smtp_error)}")
        if not failed.retryable:
            failed.hint = "check the user and password of STAGECRAFT_SMTP_URL"
        return failed
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, f"the SMTP server at {server} refused the mail to \"{recipient}\": "
                                       f"{exc.smtp_code} {_reply_text(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryFailed(f"the SMTP server at {server} closed the connection: {exc}", retryable=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryFailed(f"the SMTP server at {server} has a certificate that cannot be trusted: "
                              f"{exc.verify_message}", retryable=False,
                              hint="give the server a certificate for this host name, signed by a trusted CA")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryFailed(f"the SMTP server at {server} lacks what this mail needs: {exc}",
                              retryable=False, hint="use a server with that extension (SMTPUTF8, STARTTLS)")
    if isinstance(exc, smtplib.SMTPException):
        return DeliveryFailed(f"the SMTP server at {server} cannot take this mail: {exc}", retryable=False,
                              hint="check STAGECRAFT_SMTP_URL (TLS and login options) against the server")
    if isinstance(exc, TimeoutError):
        return DeliveryFailed(f"the SMTP server at {server} did not answer in time", retryable=True)
    return DeliveryFailed(f"cannot reach the SMTP server at {server}: {exc.strerror or exc}", retryable=True)
