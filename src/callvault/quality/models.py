"""Quality-assurance tables (§2): forms and their versions, evaluations, disputes, samples,
calibration sessions and the weekly aggregates the reports read.

An evaluation holds no caller data: scores, answers, the evaluator's comments and the agent's
identity as ingest named it. It has no foreign key to its recording: it is deleted with it
(`quality.dependents`), and a row that outlives it under a longer registered retention must not
hold the recording back.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callvault.db import Base, new_id


class QuestionKind(enum.StrEnum):
    YES_NO = "yes_no"
    SCALE = "scale"
    CHOICE = "choice"


class EvaluationState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class QaForm(Base):
    """An evaluation form; its content lives in versions, each evaluation keeps its version."""

    __tablename__ = "qa_forms"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime]

    versions: Mapped[list[QaFormVersion]] = relationship(
        back_populates="form", order_by="QaFormVersion.version", lazy="selectin"
    )


class QaFormVersion(Base):
    """One version of a form: a draft until published, then never changed."""

    __tablename__ = "qa_form_versions"
    __table_args__ = (sa.UniqueConstraint("form_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    form_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("qa_forms.id"), index=True)
    version: Mapped[int]
    state: Mapped[str] = mapped_column(sa.String(16))  # draft | published
    title_sv: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]

    form: Mapped[QaForm] = relationship(back_populates="versions")
    sections: Mapped[list[QaSection]] = relationship(
        order_by="QaSection.position", lazy="selectin", cascade="all, delete-orphan"
    )


class QaSection(Base):
    __tablename__ = "qa_sections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    form_version_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qa_form_versions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    title_sv: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))

    questions: Mapped[list[QaQuestion]] = relationship(
        order_by="QaQuestion.position", lazy="selectin", cascade="all, delete-orphan"
    )


class QaQuestion(Base):
    """A question: its kind, weight, whether N/A is allowed and whether it is critical."""

    __tablename__ = "qa_questions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    form_version_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qa_form_versions.id", ondelete="CASCADE"), index=True
    )
    section_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qa_sections.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    text_sv: Mapped[str] = mapped_column(sa.String(500))
    text_en: Mapped[str] = mapped_column(sa.String(500))
    help_sv: Mapped[str | None] = mapped_column(sa.String(2000))
    help_en: Mapped[str | None] = mapped_column(sa.String(2000))
    kind: Mapped[str] = mapped_column(sa.String(16))
    weight: Mapped[float]
    critical: Mapped[bool]
    allow_na: Mapped[bool]
    # choice questions: [{"id", "label_sv", "label_en", "points"}], points from 0 to 1
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)


class QaEvaluation(Base):
    """One evaluator's evaluation of one call with one form version."""

    __tablename__ = "qa_evaluations"
    __table_args__ = (
        sa.Index("ix_qa_evaluations_evaluator_id_state", "evaluator_id", "state"),
        sa.Index("ix_qa_evaluations_agent_id_state", "agent_id", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    recording_id: Mapped[uuid.UUID] = mapped_column(index=True)
    form_version_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qa_form_versions.id"), index=True
    )
    evaluator_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    agent_id: Mapped[str] = mapped_column(sa.String(128))
    team: Mapped[str | None] = mapped_column(sa.String(128))
    call_duration_s: Mapped[float]
    week: Mapped[date]  # Monday of the call's week, Stockholm time
    state: Mapped[str] = mapped_column(sa.String(16))
    score: Mapped[float | None]
    failed: Mapped[bool | None]
    calibration_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("qa_calibrations.id"), index=True
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    # Set only when a policy version registers a longer retention for evaluation results and
    # the recording was deleted: the results are kept until then, comments are not.
    kept_until: Mapped[datetime | None] = mapped_column(index=True)

    answers: Mapped[list[QaAnswer]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )
    comments: Mapped[list[QaComment]] = relationship(
        order_by="QaComment.position",
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    dispute: Mapped[QaDispute | None] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )


class QaAnswer(Base):
    __tablename__ = "qa_answers"

    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qa_evaluations.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qa_questions.id"), primary_key=True
    )
    value: Mapped[str] = mapped_column(sa.String(64))
    points: Mapped[float | None]  # None: not applicable


class QaComment(Base):
    """A comment, optionally anchored at a moment of the call (seconds from its start)."""

    __tablename__ = "qa_comments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qa_evaluations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    at_s: Mapped[float | None]
    text: Mapped[str] = mapped_column(sa.String(2000))


class QaDispute(Base):
    """The agent's dispute of a submitted evaluation, and the evaluator's answer."""

    __tablename__ = "qa_disputes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    evaluation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qa_evaluations.id", ondelete="CASCADE"), unique=True
    )
    comment: Mapped[str] = mapped_column(sa.String(2000))
    created_at: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(sa.String(2000))
    answered_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("accounts.id"))
    answered_at: Mapped[datetime | None]


class QaSample(Base):
    """A drawn sample: N random covered calls per agent in a period, reproducible from its seed."""

    __tablename__ = "qa_samples"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime]
    form_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("qa_forms.id"))
    seed: Mapped[str] = mapped_column(sa.String(64))
    period_from: Mapped[datetime]
    period_until: Mapped[datetime]
    per_agent: Mapped[int]
    population: Mapped[int]
    population_sha256: Mapped[str] = mapped_column(sa.String(64))

    items: Mapped[list[QaSampleItem]] = relationship(
        order_by="QaSampleItem.position", lazy="selectin", cascade="all, delete-orphan"
    )


class QaSampleItem(Base):
    """One call of a sample's work queue."""

    __tablename__ = "qa_sample_items"

    sample_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qa_samples.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[uuid.UUID] = mapped_column(index=True)
    agent_id: Mapped[str] = mapped_column(sa.String(128))
    evaluation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("qa_evaluations.id", ondelete="SET NULL")
    )


class QaCalibration(Base):
    """A calibration session: the same call before several evaluators, scored blind."""

    __tablename__ = "qa_calibrations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    recording_id: Mapped[uuid.UUID] = mapped_column(index=True)
    form_version_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("qa_form_versions.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime]
    reference_evaluation_id: Mapped[uuid.UUID | None]
    closed_at: Mapped[datetime | None]

    members: Mapped[list[QaCalibrationMember]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )


class QaCalibrationMember(Base):
    __tablename__ = "qa_calibration_members"

    calibration_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("qa_calibrations.id", ondelete="CASCADE"), primary_key=True
    )
    evaluator_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("accounts.id"), primary_key=True)


class QaWeeklyAgent(Base):
    """Submitted evaluations per week, team, agent and form (kept in step at submit and
    deletion): the per-agent reports. Holds agent identity, so it goes with the evaluations."""

    __tablename__ = "qa_weekly_agent"

    week: Mapped[date] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(sa.String(128), primary_key=True)  # "" when none
    agent_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    form_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    evaluations: Mapped[int]
    score_sum: Mapped[float]
    failed: Mapped[int]


class QaWeeklyTeam(Base):
    """Submitted evaluations per week, team and form, with no agent identity: kept when the
    evaluations are deleted (§7 allows aggregates that identify nobody)."""

    __tablename__ = "qa_weekly_team"

    week: Mapped[date] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    form_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    evaluations: Mapped[int]
    score_sum: Mapped[float]
    failed: Mapped[int]


class QaWeeklyQuestion(Base):
    """Answers per week, team and question, with no agent identity (kept like QaWeeklyTeam)."""

    __tablename__ = "qa_weekly_question"

    week: Mapped[date] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    question_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    form_id: Mapped[uuid.UUID]
    answered: Mapped[int]  # not N/A
    points_sum: Mapped[float]
    not_applicable: Mapped[int]
    zero: Mapped[int]  # answered with 0 points
