"""access requests: a case note (sealed) and the last digits of the caller's number

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dsar_requests", sa.Column("case_note_enc", sa.LargeBinary(), nullable=True))
    op.add_column(
        "dsar_requests", sa.Column("subject_number_tail", sa.String(length=4), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("dsar_requests") as batch:
        batch.drop_column("subject_number_tail")
        batch.drop_column("case_note_enc")
