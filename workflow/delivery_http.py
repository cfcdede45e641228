"""Hand an SMS or WhatsApp message to an HTTP provider adapter, and say whether a failure is worth retrying.

The contract with the adapter is deliberately small — one JSON POST with an
``Idempotency-Key`` header, any 2xx meaning "taken" — so an operator can put a
thin service in front of any SMS or WhatsApp vendor.

There is no SSRF guard here, unlike webhook calls: the URL comes from the
operator's environment (``STAGECRAFT_SMS_URL`` / ``STAGECRAFT_WHATSAPP_URL``),
never from a blueprint or a record, and a provider adapter on localhost or a
private network is the normal set-up.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from workflow.errors import DeliveryFailed

_EXCERPT = 200
_RETRYABLE_4XX = {408, 425, 429}


def post_to_provider(url: str, payload: Mapping[str, str], idempotency_key: str, timeout: float) -> None:
    """POST ``payload`` as JSON; returns when the provider answered 2xx.

    Redirects are not followed: a provider that moved must be reconfigured,
    not chased, or a message could end up somewhere nobody chose.
    """
    headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            response = client.post(url, json=dict(payload), headers=headers)
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise DeliveryFailed(f'the provider URL "{url}" is not usable: {exc}', retryable=False,
                             hint="configure an http:// or https:// URL") from exc
    except httpx.TimeoutException as exc:
        raise DeliveryFailed(f"the provider at {url} did not answer within {timeout:g} s",
                             retryable=True) from exc
    except httpx.TransportError as exc:
        raise DeliveryFailed(f"cannot reach the provider at {url}: {exc}", retryable=True) from exc
    if not response.is_success:
        raise _refusal(url, response)


def _refusal(url: str, response: httpx.Response) -> DeliveryFailed:
    """5xx and 'slow down' answers are temporary; any other answer will be the same next time."""
    status = response.status_code
    said = " ".join(response.text[:_EXCERPT].split())
    what = f"the provider at {url} answered {status} {response.reason_phrase}" + (f": {said}" if said else "")
    if response.is_redirect:
        location = response.headers.get("Location", "?")
        return DeliveryFailed(what, retryable=False,
                              hint=f"redirects are not followed; configure the final URL ({location})")
    if status >= 500 or status in _RETRYABLE_4XX:
        retry_after = response.headers.get("Retry-After")
        hint = f"the provider asks to retry after {retry_after}" if retry_after else "will be retried"
        return DeliveryFailed(what, retryable=True, hint=hint)
    return DeliveryFailed(what, retryable=False,
                          hint="the provider refused this message; retrying will not help")
