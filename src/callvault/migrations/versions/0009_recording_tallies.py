"""recording tallies: the live count kept in the same transaction as each change

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recording_tallies",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("live", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_recording_tallies")),
    )
    # What is stored already is counted once, here; from now on each change adjusts the tally.
    op.execute(
        "INSERT INTO recording_tallies (slot, live) SELECT 0, count(*) FROM recordings "
        "WHERE state IN ('ingested', 'processing', 'ready')"
    )


def downgrade() -> None:
    op.drop_table("recording_tallies")
