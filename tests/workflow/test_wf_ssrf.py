"""The SSRF guard: webhook URLs reach public addresses only, however the address is spelled.

The corpus runs against a real canary listener on 127.0.0.1 and ::1: a refusal
must come before any connection, so the canary counts none.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING

import pytest

from workflow.errors import UnsafeAddress, WebhookFailed, WorkflowError
from workflow.ssrf import AllowList, check_url, why_unsafe
from workflow.webhooks import WebhookRequest, call_webhook

if TYPE_CHECKING:
    from conftest import Canary, StartReceiver

NOTHING = AllowList()

CORPUS = [
    "http://127.1:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f000001:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://localhost:{port}/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://[fe80::1]/",
    "http://0.0.0.0:{port}/",
    "https://127.0.0.1:{port}/",
]


@pytest.mark.parametrize("template", CORPUS)
def test_a_url_reaching_a_non_public_address_is_refused_before_connecting(
        template: str, canary: Canary) -> None:
    url = template.format(port=canary.port)
    with pytest.raises(UnsafeAddress):
        call_webhook(WebhookRequest(url=url, idempotency_key="k"), secret=None, allow=NOTHING,
                     sleep=lambda _: None)
    assert canary.wait_for(1, timeout=0.1) == 0


def test_the_canary_counts_a_direct_connection(canary: Canary) -> None:
    """The control for the corpus: a connection that is made does show up."""
    socket.create_connection(("127.0.0.1", canary.port)).close()
    assert canary.wait_for(1) == 1


def test_a_redirect_to_loopback_is_not_followed(start_receiver: StartReceiver, canary: Canary) -> None:
    public = start_receiver("127.0.0.2")
    public.redirect(f"http://127.0.0.1:{canary.port}/")
    with pytest.raises(WebhookFailed) as failure:
        call_webhook(WebhookRequest(url=public.url + "/hook", idempotency_key="k"), secret=None,
                     allow=AllowList.from_text("127.0.0.2/32"), sleep=lambda _: None)
    assert failure.value.retryable is False
    assert "redirects are not followed" in failure.value.message
    assert len(public.requests) == 1
    assert canary.wait_for(1, timeout=0.1) == 0


@pytest.mark.parametrize("url", ["ftp://example.com/file", "file:///etc/passwd", "gopher://127.0.0.1/",
                                 "example.com/hook"])
def test_a_scheme_other_than_http_or_https_is_refused(url: str) -> None:
    with pytest.raises(UnsafeAddress, match="http:// and https:// URLs only"):
        check_url(url, allow=NOTHING)


@pytest.mark.parametrize("url", ["http://example.com@127.0.0.1/", "http://user:pw@93.184.215.14/"])
def test_userinfo_before_the_host_is_refused(url: str) -> None:
    with pytest.raises(UnsafeAddress, match="user name or password"):
        check_url(url, allow=NOTHING)


@pytest.mark.parametrize("url", ["http://93.184.215.14\\@127.0.0.1/", "http://93.184.215.14 /",
                                 "http://93.184.215.14/\n"])
def test_backslashes_blanks_and_control_characters_are_refused(url: str) -> None:
    with pytest.raises(UnsafeAddress, match="blanks, control characters or backslashes"):
        check_url(url, allow=NOTHING)


def test_a_url_without_a_host_is_refused() -> None:
    with pytest.raises(UnsafeAddress, match="no host"):
        check_url("http:///hook", allow=NOTHING)


def test_the_refusal_names_the_host_the_address_and_the_reason() -> None:
    with pytest.raises(UnsafeAddress) as failure:
        check_url("http://2130706433/", allow=NOTHING)
    assert "2130706433 (127.0.0.1)" in failure.value.message
    assert "loopback" in failure.value.message
    assert "STAGECRAFT_WEBHOOK_ALLOW" in failure.value.hint


def test_a_public_address_passes_with_its_ip_and_default_port() -> None:
    target = check_url("https://93.184.215.14/a/b?c=1#frag", allow=NOTHING)
    assert (target.ip, target.port, target.target) == ("93.184.215.14", 443, "/a/b?c=1")
    assert target.connect_url == "https://93.184.215.14:443/a/b?c=1"


def test_an_allowed_network_is_reached_at_the_one_resolved_ip_under_its_name() -> None:
    target = check_url("http://localhost:8080/hook", allow=AllowList.from_text("127.0.0.0/8, ::1"))
    assert target.ip in {"127.0.0.1", "::1"}
    assert target.host_header == "localhost:8080"
    assert target.connect_url.endswith(":8080/hook") and "localhost" not in target.connect_url


def test_an_unknown_host_is_a_retryable_failure() -> None:
    with pytest.raises(WebhookFailed) as failure:
        check_url("http://no-such-host.invalid/", allow=NOTHING)
    assert failure.value.retryable is True
    assert "no-such-host.invalid" in failure.value.message


def test_the_allow_list_reads_commas_and_spaces() -> None:
    allow = AllowList.from_text("127.0.0.0/8,10.0.0.0/8  fd00::/8, 192.168.1.5")
    assert len(allow.networks) == 4
    assert ipaddress.ip_address("192.168.1.5") in allow
    assert ipaddress.ip_address("192.168.1.6") not in allow


def test_an_empty_allow_list_text_allows_nothing() -> None:
    assert AllowList.from_text("  ").networks == frozenset()


def test_a_malformed_allow_list_is_a_typed_error() -> None:
    with pytest.raises(WorkflowError) as failure:
        AllowList.from_text("10.0.0.0/8, ten.dot")
    assert failure.value.code == "WF_BAD_WEBHOOK_ALLOW"
    assert "ten.dot" in failure.value.message


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254", "0.0.0.0",
    "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.51.100.7", "203.0.113.9",
    "198.18.0.1", "::", "::1", "fe80::1", "fec0::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1",
    "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "2002:7f00:1::1",
    "2002:a00:1::1", "2001:0:4136:e378:8000:63bf:80ff:fffe", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
])
def test_special_addresses_are_unsafe(address: str) -> None:
    assert why_unsafe(ipaddress.ip_address(address), NOTHING) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8"])
def test_public_addresses_are_safe(address: str) -> None:
    assert why_unsafe(ipaddress.ip_address(address), NOTHING) is None


def test_a_mapped_ipv6_address_follows_the_allow_list_of_its_ipv4() -> None:
    allow = AllowList.from_text("127.0.0.0/8")
    assert why_unsafe(ipaddress.ip_address("::ffff:127.0.0.1"), allow) is None


def test_an_ipv6_address_embedding_a_private_ipv4_says_so() -> None:
    reason = why_unsafe(ipaddress.ip_address("2002:7f00:1::1"), NOTHING)
    assert reason is not None and "embedding 127.0.0.1" in reason
