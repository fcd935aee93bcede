"""The weekly aggregates the reports read, kept in step with submitted evaluations.

Written at submit (one upsert per table) so a report over many weeks reads a few hundred rows
instead of every evaluation. Calibration evaluations are practice and are not counted. When
evaluations are deleted, their agent rows are taken back; team and question rows hold no agent
identity and are kept (§7).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callvault.quality.models import (
    EvaluationState,
    QaAnswer,
    QaEvaluation,
    QaFormVersion,
    QaQuestion,
    QaWeeklyAgent,
    QaWeeklyQuestion,
    QaWeeklyTeam,
)


def _upsert(
    session: Session,
    table: Any,
    keys: dict[str, Any],
    adds: dict[str, Any],
    fixed: dict[str, Any] | None = None,
) -> None:
    """Insert the row, or add `adds` to the one with these keys (one statement, no race)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(**keys, **adds, **(fixed or {}))
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={k: getattr(table, k) + getattr(stmt.excluded, k) for k in adds},
    )
    session.execute(stmt)


def count_submitted(
    session: Session,
    evaluation: QaEvaluation,
    form_id: uuid.UUID,
    answers: Sequence[tuple[uuid.UUID, float | None]],
) -> None:
    """Add one submitted evaluation (and its answers) to the weekly tables."""
    if evaluation.calibration_id is not None or evaluation.score is None:
        return
    team = evaluation.team or ""
    failed = 1 if evaluation.failed else 0
    counts = {"evaluations": 1, "score_sum": evaluation.score, "failed": failed}
    _upsert(
        session,
        QaWeeklyAgent,
        {
            "week": evaluation.week,
            "team": team,
            "agent_id": evaluation.agent_id,
            "form_id": form_id,
        },
        counts,
    )
    _upsert(
        session, QaWeeklyTeam, {"week": evaluation.week, "team": team, "form_id": form_id}, counts
    )
    for question_id, points in answers:
        _upsert(
            session,
            QaWeeklyQuestion,
            {"week": evaluation.week, "team": team, "question_id": question_id},
            {
                "answered": 0 if points is None else 1,
                "points_sum": points or 0.0,
                "not_applicable": 1 if points is None else 0,
                "zero": 1 if points == 0 else 0,
            },
            {"form_id": form_id},
        )


def take_back_agents(session: Session, evaluation_ids: Sequence[uuid.UUID]) -> None:
    """Subtract these (about to be deleted) evaluations from the per-agent rows."""
    if not evaluation_ids:
        return
    team = sa.func.coalesce(QaEvaluation.team, sa.literal_column("''"))  # one expression
    rows = session.execute(
        sa.select(
            QaEvaluation.week,
            team,
            QaEvaluation.agent_id,
            QaFormVersion.form_id,
            sa.func.count(),
            sa.func.sum(QaEvaluation.score),
            sa.func.sum(sa.case((QaEvaluation.failed.is_(True), 1), else_=0)),
        )
        .join(QaFormVersion, QaFormVersion.id == QaEvaluation.form_version_id)
        .where(
            QaEvaluation.id.in_(list(evaluation_ids)),
            QaEvaluation.state == EvaluationState.SUBMITTED.value,
            QaEvaluation.calibration_id.is_(None),
        )
        .group_by(
            QaEvaluation.week,
            team,
            QaEvaluation.agent_id,
            QaFormVersion.form_id,
        )
    ).all()
    for week, team, agent_id, form_id, count, score_sum, failed in rows:
        where = (
            QaWeeklyAgent.week == week,
            QaWeeklyAgent.team == team,
            QaWeeklyAgent.agent_id == agent_id,
            QaWeeklyAgent.form_id == form_id,
        )
        session.execute(
            sa.update(QaWeeklyAgent)
            .where(*where)
            .values(
                evaluations=QaWeeklyAgent.evaluations - count,
                score_sum=QaWeeklyAgent.score_sum - (score_sum or 0.0),
                failed=QaWeeklyAgent.failed - (failed or 0),
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(
            sa.delete(QaWeeklyAgent)
            .where(*where, QaWeeklyAgent.evaluations <= 0)
            .execution_options(synchronize_session=False)
        )


def rebuild(session: Session, since: date | None = None) -> None:
    """Recompute the per-agent rows, and the team and question rows of weeks that still have
    evaluations, from the evaluations (repair, and bulk loads in benchmarks)."""
    submitted = sa.and_(
        QaEvaluation.state == EvaluationState.SUBMITTED.value,
        QaEvaluation.calibration_id.is_(None),
        *([QaEvaluation.week >= since] if since else []),
    )
    weeks = sa.select(QaEvaluation.week).where(submitted).distinct().scalar_subquery()
    session.execute(
        sa.delete(QaWeeklyAgent).where(*([QaWeeklyAgent.week >= since] if since else []))
    )
    session.execute(sa.delete(QaWeeklyTeam).where(QaWeeklyTeam.week.in_(weeks)))
    session.execute(sa.delete(QaWeeklyQuestion).where(QaWeeklyQuestion.week.in_(weeks)))
    team = sa.func.coalesce(QaEvaluation.team, sa.literal_column("''"))
    failed = sa.func.sum(sa.case((QaEvaluation.failed.is_(True), 1), else_=0))
    base = (
        sa.select(
            QaEvaluation.week,
            team,
            QaEvaluation.agent_id,
            QaFormVersion.form_id,
            sa.func.count(),
            sa.func.sum(QaEvaluation.score),
            failed,
        )
        .join(QaFormVersion, QaFormVersion.id == QaEvaluation.form_version_id)
        .where(submitted)
        .group_by(QaEvaluation.week, team, QaEvaluation.agent_id, QaFormVersion.form_id)
    )
    session.execute(
        sa.insert(QaWeeklyAgent).from_select(
            ["week", "team", "agent_id", "form_id", "evaluations", "score_sum", "failed"], base
        )
    )
    by_team = (
        sa.select(
            QaEvaluation.week,
            team,
            QaFormVersion.form_id,
            sa.func.count(),
            sa.func.sum(QaEvaluation.score),
            failed,
        )
        .join(QaFormVersion, QaFormVersion.id == QaEvaluation.form_version_id)
        .where(submitted)
        .group_by(QaEvaluation.week, team, QaFormVersion.form_id)
    )
    session.execute(
        sa.insert(QaWeeklyTeam).from_select(
            ["week", "team", "form_id", "evaluations", "score_sum", "failed"], by_team
        )
    )
    na = QaAnswer.points.is_(None)
    by_question = (
        sa.select(
            QaEvaluation.week,
            team,
            QaAnswer.question_id,
            QaFormVersion.form_id,
            sa.func.sum(sa.case((na, 0), else_=1)),
            sa.func.coalesce(sa.func.sum(QaAnswer.points), 0.0),
            sa.func.sum(sa.case((na, 1), else_=0)),
            sa.func.sum(sa.case((QaAnswer.points == 0, 1), else_=0)),
        )
        .join(QaAnswer, QaAnswer.evaluation_id == QaEvaluation.id)
        .join(QaQuestion, QaQuestion.id == QaAnswer.question_id)
        .join(QaFormVersion, QaFormVersion.id == QaQuestion.form_version_id)
        .where(submitted)
        .group_by(QaEvaluation.week, team, QaAnswer.question_id, QaFormVersion.form_id)
    )
    session.execute(
        sa.insert(QaWeeklyQuestion).from_select(
            [
                "week",
                "team",
                "question_id",
                "form_id",
                "answered",
                "points_sum",
                "not_applicable",
                "zero",
            ],
            by_question,
        )
    )
