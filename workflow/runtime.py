"""What every part of the engine shares: the database, the one clock, and the outside world's settings.

DESIGN.md decision 8: everything time-based reads ``runtime.clock`` — never the wall clock — so the
simulator can move time.  The settings of delivery and webhooks come in through
:class:`WorkflowConfig`, built by the surface from ``STAGECRAFT_*`` variables (the workflow layer
reads no environment of its own beyond :meth:`WorkflowConfig.from_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from sqlalchemy.engine import Engine

import dsl
from metamodel.clock import SYSTEM_CLOCK, Clock
from workflow.backoff import MAX_ATTEMPTS

#: An automation whose runs trigger it again is stopped at this chain depth (with an incident).
MAX_DEPTH = 8
#: Steps one run may take before it yields to other work (a loop cannot exist, but a long run can).
STEPS_PER_TURN = 500


@dataclass(frozen=True)
class WorkflowConfig:
    """How runs reach the outside world."""

    smtp_url: str | None = None
    mail_from: str = "stagecraft@localhost"
    sms_url: str | None = None
    whatsapp_url: str | None = None
    webhook_secret: str | None = None
    webhook_allow: str = ""  # networks webhooks may reach although private (CIDR list)
    max_attempts: int = MAX_ATTEMPTS
    lease_seconds: float = 60.0  # a run silent this long is presumed dead and rescued

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WorkflowConfig:
        env = os.environ if environ is None else environ

        def read(name: str) -> str | None:
            return env.get(f"STAGECRAFT_{name}") or None

        return cls(smtp_url=read("SMTP_URL"), mail_from=read("MAIL_FROM") or "stagecraft@localhost",
                   sms_url=read("SMS_URL"), whatsapp_url=read("WHATSAPP_URL"),
                   webhook_secret=read("WEBHOOK_SECRET") or read("SECRET_KEY"),
                   webhook_allow=read("WEBHOOK_ALLOW") or "",
                   lease_seconds=float(read("WORKFLOW_LEASE") or 60))


@dataclass
class Runtime:
    """The engine's context: one per process (or per simulation)."""

    engine: Engine
    clock: Clock = SYSTEM_CLOCK
    config: WorkflowConfig = field(default_factory=WorkflowConfig)
    worker: str = "in-process"
    #: Only this workspace's work (a simulation sharing a database with others); None: every one.
    workspace: str | None = None


@lru_cache(maxsize=8192)
def compiled(source: str) -> dsl.CompiledExpr:
    """An expression or template of a plan, compiled once per text for the whole process."""
    return dsl.compile_source(source, "<plan>")
