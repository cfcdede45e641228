"""Typed errors of the workflow layer.

Every error carries a stable code (``WF_…``), a message an admin understands,
an optional hint, and whether retrying can help: a failed step with a
retryable error is retried with backoff; any other error fails the instance at
once, with the error kept on its row for the admin to read and retry.
"""

from __future__ import annotations


class WorkflowError(Exception):
    """Root of every error raised by the workflow layer."""

    code = "WF_ERROR"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None, hint: str = "",
                 retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.code} {self.message}"
        return f"{text} — {self.hint}" if self.hint else text


class UnsafeAddress(WorkflowError):
    """A webhook URL resolves to an address outbound calls may not reach (SSRF guard)."""

    code = "WF_UNSAFE_ADDRESS"


class WebhookFailed(WorkflowError):
    """A webhook call failed (timeout, refused connection, error status, redirect)."""

    code = "WF_WEBHOOK_FAILED"


class DeliveryFailed(WorkflowError):
    """A message could not be handed to its provider (SMTP server, SMS/WhatsApp gateway)."""

    code = "WF_DELIVERY_FAILED"
