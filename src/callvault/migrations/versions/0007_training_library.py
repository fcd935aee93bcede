"""training library: clips, marks, notes, reviews, leak reports, tags and collections

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 21:12:02.894240
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# The managed vocabulary starts with these situations; managers add more.
FIRST_TAGS = (
    ("uppsägning", "Uppsägning", "Cancellation"),
    ("arg kund", "Arg kund", "Angry customer"),
    ("tekniskt fel", "Tekniskt fel", "Technical fault"),
    ("faktura", "Fakturafråga", "Billing question"),
    ("klagomål", "Klagomål", "Complaint"),
    ("bra bemötande", "Bra bemötande", "Good handling"),
)


revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "training_tags",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label_sv", sa.String(length=80), nullable=False),
        sa.Column("label_en", sa.String(length=80), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_training_tags")),
    )
    op.create_table(
        "training_clips",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recording_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("start_s", sa.Double(), nullable=False),
        sa.Column("end_s", sa.Double(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("lesson", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("recording_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retained_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_reason", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Uuid(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("end_s > start_s", name=op.f("ck_training_clips_clip_range")),
        sa.ForeignKeyConstraint(
            ["approved_by"], ["accounts.id"], name=op.f("fk_training_clips_approved_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_training_clips_author_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_clips")),
    )
    with op.batch_alter_table("training_clips", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_clips_recording_id"), ["recording_id"], unique=False
        )
        batch_op.create_index(
            "ix_training_clips_state_started", ["state", "recording_started_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_training_clips_team"), ["team"], unique=False)

    op.create_table(
        "training_collections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["accounts.id"],
            name=op.f("fk_training_collections_created_by_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_collections")),
    )
    op.create_table(
        "training_clip_hearings",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_training_clip_hearings_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["training_clips.id"],
            name=op.f("fk_training_clip_hearings_clip_id_training_clips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "clip_id", "account_id", "version", name=op.f("pk_training_clip_hearings")
        ),
    )
    op.create_table(
        "training_clip_marks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("start_s", sa.Double(), nullable=False),
        sa.Column("end_s", sa.Double(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["training_clips.id"],
            name=op.f("fk_training_clip_marks_clip_id_training_clips"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_training_clip_marks_created_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_clip_marks")),
    )
    with op.batch_alter_table("training_clip_marks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_clip_marks_clip_id"), ["clip_id"], unique=False
        )

    op.create_table(
        "training_clip_notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("at_s", sa.Double(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["training_clips.id"],
            name=op.f("fk_training_clip_notes_clip_id_training_clips"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_training_clip_notes_created_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_clip_notes")),
    )
    with op.batch_alter_table("training_clip_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_clip_notes_clip_id"), ["clip_id"], unique=False
        )

    op.create_table(
        "training_clip_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("reviewer_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["training_clips.id"],
            name=op.f("fk_training_clip_reviews_clip_id_training_clips"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["accounts.id"],
            name=op.f("fk_training_clip_reviews_reviewer_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_clip_reviews")),
    )
    with op.batch_alter_table("training_clip_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_clip_reviews_clip_id"), ["clip_id"], unique=False
        )

    op.create_table(
        "training_clip_search",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        # a tsvector on PostgreSQL (the keyed hashes are its lexemes), text elsewhere
        sa.Column(
            "terms",
            sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["training_clips.id"],
            name=op.f("fk_training_clip_search_clip_id_training_clips"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clip_id", name=op.f("pk_training_clip_search")),
    )
    op.create_table(
        "training_clip_tags",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("tag_code", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["training_clips.id"],
            name=op.f("fk_training_clip_tags_clip_id_training_clips"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_code"],
            ["training_tags.code"],
            name=op.f("fk_training_clip_tags_tag_code_training_tags"),
        ),
        sa.PrimaryKeyConstraint("clip_id", "tag_code", name=op.f("pk_training_clip_tags")),
    )
    with op.batch_alter_table("training_clip_tags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_training_clip_tags_tag_clip", ["tag_code", "clip_id"], unique=False
        )

    op.create_table(
        "training_collection_items",
        sa.Column("collection_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["training_clips.id"],
            name=op.f("fk_training_collection_items_clip_id_training_clips"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["training_collections.id"],
            name=op.f("fk_training_collection_items_collection_id_training_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "collection_id", "position", name=op.f("pk_training_collection_items")
        ),
    )
    with op.batch_alter_table("training_collection_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_collection_items_clip_id"), ["clip_id"], unique=False
        )

    op.create_table(
        "training_leak_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recording_id", sa.Uuid(), nullable=False),
        sa.Column("clip_id", sa.Uuid(), nullable=True),
        sa.Column("at_s", sa.Double(), nullable=False),
        sa.Column("reported_by", sa.Uuid(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clip_id"],
            ["training_clips.id"],
            name=op.f("fk_training_leak_reports_clip_id_training_clips"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reported_by"],
            ["accounts.id"],
            name=op.f("fk_training_leak_reports_reported_by_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_leak_reports")),
    )
    with op.batch_alter_table("training_leak_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_training_leak_reports_clip_id"), ["clip_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_leak_reports_recording_id"), ["recording_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_training_leak_reports_reported_at"), ["reported_at"], unique=False
        )
    # Library search on PostgreSQL: GIN over the clips' keyed search terms (a tsvector).
    op.create_index(
        "ix_training_clip_search_terms",
        "training_clip_search",
        ["terms"],
        unique=False,
        postgresql_using="gin",
    )
    tags = sa.table(
        "training_tags",
        sa.column("code", sa.String),
        sa.column("label_sv", sa.String),
        sa.column("label_en", sa.String),
        sa.column("created_by", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    created = datetime(2026, 12, 1, tzinfo=UTC)
    op.bulk_insert(
        tags,
        [
            {
                "code": c,
                "label_sv": sv,
                "label_en": en,
                "created_by": "system",
                "created_at": created,
            }
            for c, sv, en in FIRST_TAGS
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_training_clip_search_terms", table_name="training_clip_search")

    with op.batch_alter_table("training_leak_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_leak_reports_reported_at"))
        batch_op.drop_index(batch_op.f("ix_training_leak_reports_recording_id"))
        batch_op.drop_index(batch_op.f("ix_training_leak_reports_clip_id"))

    op.drop_table("training_leak_reports")
    with op.batch_alter_table("training_collection_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_collection_items_clip_id"))

    op.drop_table("training_collection_items")
    with op.batch_alter_table("training_clip_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_training_clip_tags_tag_clip")

    op.drop_table("training_clip_tags")
    op.drop_table("training_clip_search")
    with op.batch_alter_table("training_clip_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_clip_reviews_clip_id"))

    op.drop_table("training_clip_reviews")
    with op.batch_alter_table("training_clip_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_clip_notes_clip_id"))

    op.drop_table("training_clip_notes")
    with op.batch_alter_table("training_clip_marks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_clip_marks_clip_id"))

    op.drop_table("training_clip_marks")
    op.drop_table("training_clip_hearings")
    op.drop_table("training_collections")
    with op.batch_alter_table("training_clips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_clips_team"))
        batch_op.drop_index("ix_training_clips_state_started")
        batch_op.drop_index(batch_op.f("ix_training_clips_recording_id"))

    op.drop_table("training_clips")
    op.drop_table("training_tags")
