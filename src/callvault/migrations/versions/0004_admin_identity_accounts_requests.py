"""organisation identity; account recovery; access requests; employee legal basis

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisation_identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=120), nullable=False),
        sa.Column("website", sa.String(length=200), nullable=False),
        sa.Column("dpo_contact", sa.String(length=320), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_identities")),
    )
    op.create_index(
        op.f("ix_organisation_identities_set_at"),
        "organisation_identities",
        ["set_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_organisation_identities_set_at"), table_name="organisation_identities")
    op.drop_table("organisation_identities")
