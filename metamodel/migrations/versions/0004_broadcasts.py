"""broadcasts (sc_broadcasts, sc_broadcast_recipients: one message per record of a segment)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('sc_broadcasts',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('workspace', sa.String(length=40), nullable=False),
    sa.Column('entity', sa.String(length=63), nullable=False),
    sa.Column('segment', sa.JSON(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('recipient_field', sa.String(length=200), nullable=False),
    sa.Column('opt_out_field', sa.String(length=63), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_record_id', sa.BigInteger(), nullable=True),
    sa.Column('metadata_version', sa.Integer(), server_default='0', nullable=False),
    sa.Column('recipients', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sent', sa.Integer(), server_default='0', nullable=False),
    sa.Column('skipped', sa.Integer(), server_default='0', nullable=False),
    sa.Column('failed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=320), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sc_broadcasts', schema=None) as batch_op:
        batch_op.create_index('ix_sc_broadcasts_workspace', ['workspace', 'created_at'], unique=False)
        batch_op.create_index('ix_sc_broadcasts_status', ['status'], unique=False)

    op.create_table('sc_broadcast_recipients',
    sa.Column('id', _ID, autoincrement=True, nullable=False),
    sa.Column('workspace', sa.String(length=40), nullable=False),
    sa.Column('broadcast_id', sa.BigInteger(), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease', sa.String(length=64), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('broadcast_id', 'record_id', name='uq_sc_broadcast_recipients_record')
    )
    with op.batch_alter_table('sc_broadcast_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_sc_broadcast_recipients_status', ['broadcast_id', 'status'], unique=False)
        batch_op.create_index('ix_sc_broadcast_recipients_due', ['next_at'], unique=False,
                              postgresql_where=sa.text('next_at IS NOT NULL'),
                              sqlite_where=sa.text('next_at IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('sc_broadcast_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_sc_broadcast_recipients_due')
        batch_op.drop_index('ix_sc_broadcast_recipients_status')
    op.drop_table('sc_broadcast_recipients')
    with op.batch_alter_table('sc_broadcasts', schema=None) as batch_op:
        batch_op.drop_index('ix_sc_broadcasts_status')
        batch_op.drop_index('ix_sc_broadcasts_workspace')
    op.drop_table('sc_broadcasts')
