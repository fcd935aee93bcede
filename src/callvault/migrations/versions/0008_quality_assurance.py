"""quality assurance: forms, evaluations, disputes, samples, calibration, weekly aggregates

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:11:27.677302
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "qa_weekly_agent",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("evaluations", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Double(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "week", "team", "agent_id", "form_id", name=op.f("pk_qa_weekly_agent")
        ),
    )
    op.create_table(
        "qa_weekly_question",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("points_sum", sa.Double(), nullable=False),
        sa.Column("not_applicable", sa.Integer(), nullable=False),
        sa.Column("zero", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", "team", "question_id", name=op.f("pk_qa_weekly_question")),
    )
    op.create_table(
        "qa_weekly_team",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("evaluations", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Double(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", "team", "form_id", name=op.f("pk_qa_weekly_team")),
    )
    op.create_table(
        "qa_forms",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_qa_forms_created_by_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_forms")),
    )
    op.create_table(
        "qa_form_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("title_sv", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_qa_form_versions_created_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["form_id"], ["qa_forms.id"], name=op.f("fk_qa_form_versions_form_id_qa_forms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_form_versions")),
        sa.UniqueConstraint("form_id", "version", name=op.f("uq_qa_form_versions_form_id")),
    )
    with op.batch_alter_table("qa_form_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_form_versions_form_id"), ["form_id"], unique=False)

    op.create_table(
        "qa_samples",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("form_id", sa.Uuid(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("period_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("per_agent", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("population_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_qa_samples_created_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["form_id"], ["qa_forms.id"], name=op.f("fk_qa_samples_form_id_qa_forms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_samples")),
    )
    with op.batch_alter_table("qa_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_samples_created_by"), ["created_by"], unique=False)

    op.create_table(
        "qa_calibrations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recording_id", sa.Uuid(), nullable=False),
        sa.Column("form_version_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_evaluation_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], name=op.f("fk_qa_calibrations_created_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["form_version_id"],
            ["qa_form_versions.id"],
            name=op.f("fk_qa_calibrations_form_version_id_qa_form_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_calibrations")),
    )
    with op.batch_alter_table("qa_calibrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qa_calibrations_recording_id"), ["recording_id"], unique=False
        )

    op.create_table(
        "qa_sections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("form_version_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title_sv", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["form_version_id"],
            ["qa_form_versions.id"],
            name=op.f("fk_qa_sections_form_version_id_qa_form_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_sections")),
    )
    with op.batch_alter_table("qa_sections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qa_sections_form_version_id"), ["form_version_id"], unique=False
        )

    op.create_table(
        "qa_calibration_members",
        sa.Column("calibration_id", sa.Uuid(), nullable=False),
        sa.Column("evaluator_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["calibration_id"],
            ["qa_calibrations.id"],
            name=op.f("fk_qa_calibration_members_calibration_id_qa_calibrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["evaluator_id"],
            ["accounts.id"],
            name=op.f("fk_qa_calibration_members_evaluator_id_accounts"),
        ),
        sa.PrimaryKeyConstraint(
            "calibration_id", "evaluator_id", name=op.f("pk_qa_calibration_members")
        ),
    )
    op.create_table(
        "qa_evaluations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("recording_id", sa.Uuid(), nullable=False),
        sa.Column("form_version_id", sa.Uuid(), nullable=False),
        sa.Column("evaluator_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=True),
        sa.Column("call_duration_s", sa.Double(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=True),
        sa.Column("calibration_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kept_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["calibration_id"],
            ["qa_calibrations.id"],
            name=op.f("fk_qa_evaluations_calibration_id_qa_calibrations"),
        ),
        sa.ForeignKeyConstraint(
            ["evaluator_id"], ["accounts.id"], name=op.f("fk_qa_evaluations_evaluator_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["form_version_id"],
            ["qa_form_versions.id"],
            name=op.f("fk_qa_evaluations_form_version_id_qa_form_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_evaluations")),
    )
    with op.batch_alter_table("qa_evaluations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_qa_evaluations_agent_id_state", ["agent_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_qa_evaluations_calibration_id"), ["calibration_id"], unique=False
        )
        batch_op.create_index(
            "ix_qa_evaluations_evaluator_id_state", ["evaluator_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_qa_evaluations_form_version_id"), ["form_version_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_qa_evaluations_kept_until"), ["kept_until"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_qa_evaluations_recording_id"), ["recording_id"], unique=False
        )

    op.create_table(
        "qa_questions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("form_version_id", sa.Uuid(), nullable=False),
        sa.Column("section_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text_sv", sa.String(length=500), nullable=False),
        sa.Column("text_en", sa.String(length=500), nullable=False),
        sa.Column("help_sv", sa.String(length=2000), nullable=True),
        sa.Column("help_en", sa.String(length=2000), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("weight", sa.Double(), nullable=False),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.Column("allow_na", sa.Boolean(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["form_version_id"],
            ["qa_form_versions.id"],
            name=op.f("fk_qa_questions_form_version_id_qa_form_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["qa_sections.id"],
            name=op.f("fk_qa_questions_section_id_qa_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_questions")),
    )
    with op.batch_alter_table("qa_questions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qa_questions_form_version_id"), ["form_version_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_qa_questions_section_id"), ["section_id"], unique=False
        )

    op.create_table(
        "qa_answers",
        sa.Column("evaluation_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("points", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["qa_evaluations.id"],
            name=op.f("fk_qa_answers_evaluation_id_qa_evaluations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["qa_questions.id"],
            name=op.f("fk_qa_answers_question_id_qa_questions"),
        ),
        sa.PrimaryKeyConstraint("evaluation_id", "question_id", name=op.f("pk_qa_answers")),
    )
    op.create_table(
        "qa_comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("evaluation_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at_s", sa.Double(), nullable=True),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["qa_evaluations.id"],
            name=op.f("fk_qa_comments_evaluation_id_qa_evaluations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_comments")),
    )
    with op.batch_alter_table("qa_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qa_comments_evaluation_id"), ["evaluation_id"], unique=False
        )

    op.create_table(
        "qa_disputes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("evaluation_id", sa.Uuid(), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.String(length=2000), nullable=True),
        sa.Column("answered_by", sa.Uuid(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["accounts.id"], name=op.f("fk_qa_disputes_answered_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["qa_evaluations.id"],
            name=op.f("fk_qa_disputes_evaluation_id_qa_evaluations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_disputes")),
        sa.UniqueConstraint("evaluation_id", name=op.f("uq_qa_disputes_evaluation_id")),
    )
    op.create_table(
        "qa_sample_items",
        sa.Column("sample_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.String(length=128), nullable=False),
        sa.Column("evaluation_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["qa_evaluations.id"],
            name=op.f("fk_qa_sample_items_evaluation_id_qa_evaluations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["qa_samples.id"],
            name=op.f("fk_qa_sample_items_sample_id_qa_samples"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sample_id", "position", name=op.f("pk_qa_sample_items")),
    )
    with op.batch_alter_table("qa_sample_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qa_sample_items_recording_id"), ["recording_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("qa_sample_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_sample_items_recording_id"))

    op.drop_table("qa_sample_items")
    op.drop_table("qa_disputes")
    with op.batch_alter_table("qa_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_comments_evaluation_id"))

    op.drop_table("qa_comments")
    op.drop_table("qa_answers")
    with op.batch_alter_table("qa_questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_questions_section_id"))
        batch_op.drop_index(batch_op.f("ix_qa_questions_form_version_id"))

    op.drop_table("qa_questions")
    with op.batch_alter_table("qa_evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_evaluations_recording_id"))
        batch_op.drop_index(batch_op.f("ix_qa_evaluations_kept_until"))
        batch_op.drop_index(batch_op.f("ix_qa_evaluations_form_version_id"))
        batch_op.drop_index("ix_qa_evaluations_evaluator_id_state")
        batch_op.drop_index(batch_op.f("ix_qa_evaluations_calibration_id"))
        batch_op.drop_index("ix_qa_evaluations_agent_id_state")

    op.drop_table("qa_evaluations")
    op.drop_table("qa_calibration_members")
    with op.batch_alter_table("qa_sections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_sections_form_version_id"))

    op.drop_table("qa_sections")
    with op.batch_alter_table("qa_calibrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_calibrations_recording_id"))

    op.drop_table("qa_calibrations")
    with op.batch_alter_table("qa_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_samples_created_by"))

    op.drop_table("qa_samples")
    with op.batch_alter_table("qa_form_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_form_versions_form_id"))

    op.drop_table("qa_form_versions")
    op.drop_table("qa_forms")
    op.drop_table("qa_weekly_team")
    op.drop_table("qa_weekly_question")
    op.drop_table("qa_weekly_agent")
