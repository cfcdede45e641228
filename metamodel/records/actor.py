"""Who performs a write: stamped on the record (created_by, owner) and on its history.

An actor is passed in by the surface that authenticated the caller; the records
layer never looks up "the current user" itself, so the same code serves the API,
automations and imports.
"""

from __future__ import annotations

from dataclasses import dataclass

SYSTEM_LABEL = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """A workspace user (or the platform itself when both are None)."""

    user_id: int | None = None
    email: str | None = None

    @property
    def label(self) -> str:
        """How history and outbox rows name the actor: the email, else "system"."""
        return self.email or SYSTEM_LABEL


SYSTEM_ACTOR = Actor()
