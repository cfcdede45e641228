"""The platform's own tables, shared by every workspace and keyed by workspace.

Their shape is owned by Alembic (metamodel/migrations); this module is the
SQLAlchemy Core description the code queries through.  A test keeps the two
in step.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

metadata = sa.MetaData()

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UtcStamp(sa.types.TypeDecorator[datetime]):
    """A moment stored with its zone and always read back aware, in UTC.

    Why: SQLite hands back naive datetimes from a ``timezone=True`` column, and comparing those with
    the clock's aware ones raises; every reader would otherwise repeat the fix.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Stamp = UtcStamp()

workspaces = sa.Table(
    "sc_workspaces", metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("metadata_version", sa.Integer, nullable=False, server_default="0"),
)

metadata_versions = sa.Table(
    "sc_metadata_versions", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("blueprint", sa.JSON, nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("applied_at", Stamp, nullable=False),
    sa.Column("applied_by", sa.String(320)),
    sa.UniqueConstraint("workspace", "version", name="uq_sc_metadata_versions_ws_version"),
)

record_history = sa.Table(
    "sc_record_history", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("field", sa.String(63), nullable=False),
    sa.Column("old", sa.JSON),
    sa.Column("new", sa.JSON),
    sa.Column("actor", sa.String(320)),
    sa.Column("at", Stamp, nullable=False),
    sa.Index("ix_sc_record_history_record", "workspace", "entity", "record_id"),
)

stage_history = sa.Table(
    "sc_stage_history", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("pipeline", sa.String(63), nullable=False),
    sa.Column("stage", sa.String(63), nullable=False),
    sa.Column("entered_at", Stamp, nullable=False),
    sa.Column("left_at", Stamp),
    sa.Column("actor", sa.String(320)),
    sa.Index("ix_sc_stage_history_record", "workspace", "entity", "record_id"),
    sa.Index("ix_sc_stage_history_stage", "workspace", "entity", "pipeline", "stage"),
)

outbox = sa.Table(
    "sc_outbox", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("processed_at", Stamp),
    sa.Index("ix_sc_outbox_pending", "processed_at", "id"),
)

users = sa.Table(
    "sc_users", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(63), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Stamp, nullable=False),
    sa.UniqueConstraint("workspace", "email", name="uq_sc_users_ws_email"),
)

tasks = sa.Table(
    "sc_tasks", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("assignee_id", sa.BigInteger),
    sa.Column("due_at", Stamp),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("entity", sa.String(63)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("done_at", Stamp),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("kind", sa.String(16), nullable=False, server_default="task"),  # task | approval
    sa.Column("options", sa.JSON),
    sa.Column("outcome", sa.String(63)),
    sa.Column("instance_id", sa.BigInteger),
    sa.Column("idempotency_key", sa.String(200)),
    sa.UniqueConstraint("workspace", "idempotency_key", name="uq_sc_tasks_idempotency"),
    sa.Index("ix_sc_tasks_assignee", "workspace", "assignee_id", "status"),
    sa.Index("ix_sc_tasks_record", "workspace", "entity", "record_id"),
)

messages = sa.Table(
    "sc_messages", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("recipient", sa.String(500), nullable=False),
    sa.Column("subject", sa.String(500)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
    sa.Column("entity", sa.String(63)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("idempotency_key", sa.String(200)),
    sa.Column("created_at", Stamp, nullable=False),
    sa.UniqueConstraint("workspace", "idempotency_key", name="uq_sc_messages_idempotency"),
    sa.Index("ix_sc_messages_record", "workspace", "entity", "record_id"),
)

notes = sa.Table(
    "sc_notes", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("author", sa.String(320)),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Index("ix_sc_notes_record", "workspace", "entity", "record_id"),
)

# --- workflow (the engine lives in workflow/; its tables are platform tables like the rest) ---------

notifications = sa.Table(
    "sc_notifications", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("entity", sa.String(63)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("idempotency_key", sa.String(200)),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("read_at", Stamp),
    sa.UniqueConstraint("workspace", "idempotency_key", name="uq_sc_notifications_idempotency"),
    sa.Index("ix_sc_notifications_user", "workspace", "user_id", "read_at"),
)

wf_plans = sa.Table(
    "sc_wf_plans", metadata,
    sa.Column("workspace", sa.String(40), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("plan", sa.JSON, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
)

#: One row per run of an automation or process.  ``wake_at`` is when a runner must look at it next
#: (now for a runnable one, the end of a wait, a lease's expiry while a runner holds it); NULL when
#: nothing but an outside event (a task done, an approval) can move it.  Claiming pushes ``wake_at``
#: forward by the lease, so a runner that dies mid-step is rescued when the lease runs out.
wf_instances = sa.Table(
    "sc_wf_instances", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("plan_version", sa.Integer, nullable=False),
    sa.Column("entity", sa.String(63)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("pc", sa.Integer, nullable=False, server_default="0"),
    sa.Column("vars", sa.JSON, nullable=False),
    sa.Column("context", sa.JSON, nullable=False),
    sa.Column("wait", sa.JSON),
    sa.Column("wait_kind", sa.String(16)),  # what ``wait`` waits for, where SQL must see it (nudges)
    sa.Column("wake_at", Stamp),
    sa.Column("lease", sa.String(64)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
    sa.Column("parent_id", sa.BigInteger),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("finished_at", Stamp),
    sa.Index("ix_sc_wf_instances_due", "wake_at",
             postgresql_where=sa.text("wake_at IS NOT NULL"), sqlite_where=sa.text("wake_at IS NOT NULL")),
    sa.Index("ix_sc_wf_instances_record", "workspace", "entity", "record_id"),
    sa.Index("ix_sc_wf_instances_status", "workspace", "status"),
)

#: Timers of triggers (``stays in stage``, ``D before/after a date``, schedules): ``key`` names what
#: the timer is for, so re-planning replaces it and a deleted record's timers can be found.
wf_timers = sa.Table(
    "sc_wf_timers", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("automation", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("entity", sa.String(63)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("fire_at", Stamp),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.UniqueConstraint("workspace", "key", name="uq_sc_wf_timers_key"),
    sa.Index("ix_sc_wf_timers_due", "fire_at",
             postgresql_where=sa.text("fire_at IS NOT NULL"), sqlite_where=sa.text("fire_at IS NOT NULL")),
    sa.Index("ix_sc_wf_timers_record", "workspace", "entity", "record_id"),
)

#: The log of side effects done outside the database (webhook calls), by idempotency key.
wf_effects = sa.Table(
    "sc_wf_effects", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("instance_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("result", sa.JSON),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("done_at", Stamp),
    sa.UniqueConstraint("workspace", "key", name="uq_sc_wf_effects_key"),
)

#: What happened in runs, in order: the admin's run history and the simulator's timeline.
wf_log = sa.Table(
    "sc_wf_log", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("instance_id", sa.BigInteger),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_sc_wf_log_instance", "workspace", "instance_id"),
)

#: Round-robin positions, one per (workspace, group, target).
wf_counters = sa.Table(
    "sc_wf_counters", metadata,
    sa.Column("workspace", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# --- API tokens (metamodel/tokens.py) ------------------------------------------------------------

#: Bearer tokens of the HTTP API.  Only ``secret_hash`` (SHA-256 of the random secret) is stored:
#: a copy of this table opens nothing.  ``token_id`` is the public half, printed in lists and found
#: by the unique index; ``last_used_at`` is written at most once a minute, not on every request.
api_tokens = sa.Table(
    "sc_api_tokens", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("token_id", sa.String(32), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("role", sa.String(63), nullable=False),
    sa.Column("user_id", sa.BigInteger),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("last_used_at", Stamp),
    sa.Column("revoked_at", Stamp),
    sa.UniqueConstraint("token_id", name="uq_sc_api_tokens_token_id"),
    sa.Index("ix_sc_api_tokens_workspace", "workspace", "created_at"),
)

# --- broadcasts (workflow/broadcasts*.py) ----------------------------------------------------------

#: One message per record of a segment.  ``segment`` is a RecordStore ``where``; ``last_record_id``
#: is the last record expanded into recipients, so expansion goes on where it stopped.
broadcasts = sa.Table(
    "sc_broadcasts", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(63), nullable=False),
    sa.Column("segment", sa.JSON),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("recipient_field", sa.String(200), nullable=False),
    sa.Column("opt_out_field", sa.String(63)),
    sa.Column("subject", sa.String(500)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_record_id", sa.BigInteger),
    sa.Column("metadata_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("recipients", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sent", sa.Integer, nullable=False, server_default="0"),
    sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("created_by", sa.String(320)),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("finished_at", Stamp),
    sa.Index("ix_sc_broadcasts_workspace", "workspace", "created_at"),
    sa.Index("ix_sc_broadcasts_status", "status"),
)

#: One row per record a broadcast matched: its delivery state (queued, sent, recorded, skipped,
#: failed), claimed like instances (``next_at`` and ``lease``); its Message row has the key
#: ``broadcast:<broadcast id>:<record id>``.
broadcast_recipients = sa.Table(
    "sc_broadcast_recipients", metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(40), nullable=False),
    sa.Column("broadcast_id", sa.BigInteger, nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_at", Stamp),
    sa.Column("lease", sa.String(64)),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.UniqueConstraint("broadcast_id", "record_id", name="uq_sc_broadcast_recipients_record"),
    sa.Index("ix_sc_broadcast_recipients_status", "broadcast_id", "status"),
    sa.Index("ix_sc_broadcast_recipients_due", "next_at",
             postgresql_where=sa.text("next_at IS NOT NULL"), sqlite_where=sa.text("next_at IS NOT NULL")),
)
