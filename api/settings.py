"""Settings of a Stagecraft process, read from ``STAGECRAFT_*`` environment variables.

Only ``STAGECRAFT_DATABASE_URL`` has a default: a SQLite file under
``./.stagecraft/`` (``metamodel.db.create_engine_for`` creates its directory),
so ``stagecraft serve`` works with no database server at all.  An
unset broker means the in-process runner; an unset SMTP URL means messages are
recorded but not delivered.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///./.stagecraft/stagecraft.db"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    broker_url: str | None = None
    secret_key: str | None = None
    smtp_url: str | None = None
    #: Verifies inbound webhooks (``POST /w/{ws}/hooks/{name}``); unset: ``secret_key`` is used.
    hook_secret: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default: ``os.environ``); empty values count as unset."""
        env = os.environ if environ is None else environ

        def read(name: str) -> str | None:
            return env.get(f"STAGECRAFT_{name}") or None

        return cls(
            database_url=read("DATABASE_URL") or DEFAULT_DATABASE_URL,
            broker_url=read("BROKER_URL"),
            secret_key=read("SECRET_KEY"),
            smtp_url=read("SMTP_URL"),
            hook_secret=read("HOOK_SECRET"),
        )
