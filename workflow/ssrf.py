"""SSRF guard for outgoing webhooks: decide, once, which address a webhook URL may reach.

Webhook URLs come from blueprints and records, i.e. from people who must not be
able to make the server talk to itself, its private network or the cloud
metadata service (169.254.169.254).  So a URL is checked by what it *resolves
to*, not by how it is spelled: ``127.1``, ``2130706433``, ``0x7f000001`` and
``0177.0.0.1`` are all loopback once the OS resolver has read them, and
``::ffff:127.0.0.1`` is loopback in IPv6 clothing.

Why resolve exactly once and hand back the chosen IP: if the check resolved
the name and the HTTP client resolved it again, a hostile DNS server could
answer "public" to the first lookup and "127.0.0.1" to the second (DNS
rebinding).  The caller connects to :attr:`ResolvedTarget.ip` and nothing else.

Every resolved address must be acceptable, not just the first: a name that
resolves to one public and one private address is refused, because which of
them a client would use is not ours to predict.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

from workflow.errors import UnsafeAddress, WebhookFailed, WorkflowError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHARED_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_V4_COMPAT = ipaddress.IPv6Network("::/96")
_ALLOW_HINT = ("if this receiver is meant to be on a private network, add its network to "
               "STAGECRAFT_WEBHOOK_ALLOW (for example 10.1.2.0/24)")

# (predicate, words an admin understands); the first that holds names the refusal.
_SPECIAL: tuple[tuple[Callable[[IPAddress], bool], str], ...] = (
    (lambda ip: ip.is_unspecified, "the unspecified address (it means this machine)"),
    (lambda ip: ip.is_loopback, "a loopback address (this machine itself)"),
    (lambda ip: ip.is_link_local, "a link-local address (this includes the cloud metadata service)"),
    (lambda ip: ip.is_multicast, "a multicast address"),
    (lambda ip: ip in _SHARED_SPACE, "in the shared address space 100.64.0.0/10 (carrier-grade NAT)"),
    (lambda ip: isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "a site-local address"),
    (lambda ip: ip.is_private, "a private or special-purpose network address"),
    (lambda ip: ip.is_reserved, "a reserved address"),
    (lambda ip: not ip.is_global, "not a public internet address"),
)


@dataclass(frozen=True, slots=True)
class AllowList:
    """Networks webhooks may reach although they are not public (empty: public addresses only)."""

    networks: frozenset[IPNetwork] = field(default_factory=frozenset)

    @classmethod
    def from_text(cls, text: str) -> AllowList:
        """Parse ``STAGECRAFT_WEBHOOK_ALLOW``: CIDRs or single addresses, separated by commas or spaces.

        A typo fails loudly rather than silently allowing nothing (or too much).
        """
        networks: set[IPNetwork] = set()
        for item in text.replace(",", " ").split():
            try:
                networks.add(ipaddress.ip_network(item, strict=False))
            except ValueError as exc:
                raise WorkflowError(
                    f'STAGECRAFT_WEBHOOK_ALLOW contains "{item}", which is not a network or an address',
                    code="WF_BAD_WEBHOOK_ALLOW",
                    hint="write networks like 10.0.0.0/8, 192.168.1.5 or fd00::/8",
                ) from exc
        return cls(frozenset(networks))

    def __contains__(self, ip: object) -> bool:
        return isinstance(ip, IPAddress) and any(ip.version == n.version and ip in n for n in self.networks)


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A checked URL and the one address to connect to; ``host`` stays for the Host header and TLS SNI."""

    url: str
    scheme: str
    host: str
    port: int
    ip: str
    target: str  # path and query, as sent in the request line

    @property
    def host_header(self) -> str:
        """The Host header the receiver expects: the name from the URL, with the port when not default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if _DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def connect_url(self) -> str:
        """The URL with the checked IP in place of the name, so the client never resolves again."""
        ip = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{self.scheme}://{ip}:{self.port}{self.target}"

    @property
    def origin(self) -> str:
        """How messages name the receiver: scheme, host and port, never the query (it may hold tokens)."""
        return f"{self.scheme}://{self.host_header}"


def check_url(url: str, *, allow: AllowList) -> ResolvedTarget:
    """Parse, resolve once, and check every address; returns the target or raises UnsafeAddress."""
    parts = _split(url)
    scheme, host, port = parts.scheme.lower(), _host(url, parts), _port(url, parts)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    addresses = _resolve(host, port, f"{scheme}://{host}")
    for ip in addresses:
        reason = why_unsafe(ip, allow)
        if reason is not None:
            shown = host if str(ip) == host else f"{host} ({ip})"
            raise UnsafeAddress(f"the webhook URL points at {shown}, which is {reason}; "
                                "outgoing webhooks may only reach public addresses", hint=_ALLOW_HINT)
    return ResolvedTarget(url=url, scheme=scheme, host=host, port=port, ip=str(addresses[0]), target=target)


def why_unsafe(ip: IPAddress, allow: AllowList) -> str | None:
    """Why a webhook may not connect to ``ip`` (None: it may).  IPv4 hidden inside IPv6 is checked too."""
    if ip in allow:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # the kernel connects to the embedded IPv4 address itself
            return why_unsafe(ip.ipv4_mapped, allow)
        embedded = _embedded_v4(ip)
        if embedded is not None:
            inner = why_unsafe(embedded, allow)
            if inner is not None:
                return f"an IPv6 address embedding {embedded}, {inner}"
    for test, words in _SPECIAL:
        if test(ip):
            return words
    return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4, Teredo, NAT64 or IPv4-compatible address carries, if any."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _V4_COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _split(url: str) -> SplitResult:
    """Refuse what parsers disagree about (blanks, backslashes, userinfo) before anyone reads the host."""
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise UnsafeAddress("the webhook URL contains blanks, control characters or backslashes",
                            hint="write the URL without them (percent-encode where needed)")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        shown = f'"{scheme}://"' if scheme else "none"
        raise UnsafeAddress(f"webhooks call http:// and https:// URLs only; this URL's scheme is {shown}",
                            hint="use an http:// or https:// URL")
    if "@" in parts.netloc:
        raise UnsafeAddress("the webhook URL contains a user name or password before the host "
                            "(user@host), which can disguise where it really points",
                            hint="put credentials in the body or a query parameter, not in user@host")
    return parts


def _host(url: str, parts: SplitResult) -> str:
    host = parts.hostname or ""
    if not host:
        raise UnsafeAddress("the webhook URL has no host", hint="write a full URL like https://example.com/hook")
    try:
        return host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise UnsafeAddress(f'the webhook host "{host}" is not a valid domain name') from exc


def _port(url: str, parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError as exc:
        raise UnsafeAddress(f"the webhook URL has an invalid port ({exc})") from exc
    if port == 0:
        raise UnsafeAddress("the webhook URL has port 0, which cannot be called")
    return port if port is not None else _DEFAULT_PORTS[parts.scheme.lower()]


def _resolve(host: str, port: int, origin: str) -> list[IPAddress]:
    """One lookup through the OS resolver, which reads numeric forms (127.1, 0x7f000001) as connect does."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookFailed(f"cannot find the address of {origin}: {exc}", retryable=True,
                            hint="check the host name; a temporary DNS failure is retried") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 scope id
        ip = ipaddress.ip_address(text)
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise WebhookFailed(f"{origin} has no address to connect to", retryable=True)
    return addresses
