"""The platform's own tables, shared by every workspace and keyed by workspace.

Their shape is owned by Alembic (metamodel/migrations); this module is the
SQLAlchemy Core description the code queries through.  A test keeps the two
in step.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)

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
