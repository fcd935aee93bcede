"""play sessions: one audited listen per person, recording and reason, with its ranges

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "play_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("recording_id", sa.Uuid(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ranges", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_play_sessions")),
        sa.UniqueConstraint("open_key", name=op.f("uq_play_sessions_open_key")),
    )
    op.create_index(op.f("ix_play_sessions_key"), "play_sessions", ["key"], unique=False)
    op.create_index(
        op.f("ix_play_sessions_recording_id"), "play_sessions", ["recording_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_play_sessions_recording_id"), table_name="play_sessions")
    op.drop_index(op.f("ix_play_sessions_key"), table_name="play_sessions")
    op.drop_table("play_sessions")
