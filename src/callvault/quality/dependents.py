"""What goes with a recording (§7): its evaluations, sampled queue items and calibrations are
deleted in the same transaction that deletes the recording (retention, withdrawal, fsck all
call `retention.service.delete_dependents`, which calls this).

Only a policy version that registers `quality_assurance_results` (a DPO-approved version, §2)
keeps evaluation *results* longer: submitted evaluations then stay, without their comments
(which point into a call that no longer exists), until `submitted_at + retention_days`, when
`delete_expired_results` removes them. Weekly per-team aggregates hold no agent identity and
are kept either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.policy.purposes import EVALUATION_RESULTS
from callvault.quality import aggregates
from callvault.quality.models import (
    EvaluationState,
    QaCalibration,
    QaCalibrationMember,
    QaComment,
    QaEvaluation,
    QaSampleItem,
)

log = structlog.get_logger(__name__)


def results_retention(session: Session, at: datetime) -> timedelta | None:
    """The longer retention of evaluation results the policy in force registers, if any."""
    from callvault.policy.service import version_in_force

    version = version_in_force(session, at)
    days = next((p.retention_days for p in version.purposes if p.code == EVALUATION_RESULTS), None)
    return timedelta(days=days) if days else None


def delete_with_recordings(
    session: Session, recording_ids: Sequence[uuid.UUID], now: datetime, *, reason: str
) -> dict[uuid.UUID, list[str]]:
    """Evaluations go with their recording (whatever the reason); none has blobs."""
    ids = list(recording_ids)
    if not ids:
        return {}
    rows = session.execute(
        sa.select(
            QaEvaluation.id,
            QaEvaluation.state,
            QaEvaluation.calibration_id,
            QaEvaluation.submitted_at,
        ).where(QaEvaluation.recording_id.in_(ids), QaEvaluation.kept_until.is_(None))
    ).all()
    keep_for = results_retention(session, now) if rows else None
    kept: dict[uuid.UUID, datetime] = {}
    if keep_for is not None:
        for eid, state, calibration_id, submitted_at in rows:
            if (
                state == EvaluationState.SUBMITTED
                and calibration_id is None
                and submitted_at is not None
                and submitted_at + keep_for > now
            ):
                kept[eid] = submitted_at + keep_for
    doomed = [row.id for row in rows if row.id not in kept]
    session.execute(
        sa.delete(QaSampleItem)
        .where(QaSampleItem.recording_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    _delete_evaluations(session, doomed)
    calibrations = list(
        session.scalars(sa.select(QaCalibration.id).where(QaCalibration.recording_id.in_(ids)))
    )
    if calibrations:
        session.execute(
            sa.delete(QaCalibrationMember)
            .where(QaCalibrationMember.calibration_id.in_(calibrations))
            .execution_options(synchronize_session=False)
        )
        session.execute(
            sa.delete(QaCalibration)
            .where(QaCalibration.id.in_(calibrations))
            .execution_options(synchronize_session=False)
        )
    for eid, until in kept.items():
        session.execute(
            sa.update(QaEvaluation)
            .where(QaEvaluation.id == eid)
            .values(kept_until=until)
            .execution_options(synchronize_session=False)
        )
    if kept:
        session.execute(
            sa.delete(QaComment)
            .where(QaComment.evaluation_id.in_(list(kept)))
            .execution_options(synchronize_session=False)
        )
    if doomed or kept:
        _audit(session, now, deleted=len(doomed), kept=len(kept))
    return {}


def _delete_evaluations(session: Session, evaluation_ids: list[uuid.UUID]) -> None:
    """Delete evaluations with everything hanging off them, and take back their agent rows."""
    if not evaluation_ids:
        return
    from callvault.quality.models import QaAnswer, QaDispute

    aggregates.take_back_agents(session, evaluation_ids)
    for table, column in (
        (QaAnswer, QaAnswer.evaluation_id),
        (QaComment, QaComment.evaluation_id),
        (QaDispute, QaDispute.evaluation_id),
    ):
        session.execute(
            sa.delete(table)
            .where(column.in_(evaluation_ids))
            .execution_options(synchronize_session=False)
        )
    session.execute(
        sa.update(QaSampleItem)
        .where(QaSampleItem.evaluation_id.in_(evaluation_ids))
        .values(evaluation_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(QaCalibration)
        .where(QaCalibration.reference_evaluation_id.in_(evaluation_ids))
        .values(reference_evaluation_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.delete(QaEvaluation)
        .where(QaEvaluation.id.in_(evaluation_ids))
        .execution_options(synchronize_session=False)
    )


def delete_expired_results(session: Session, now: datetime) -> int:
    """Delete evaluation results kept past their recording once their registered time is up."""
    ids = list(
        session.scalars(
            sa.select(QaEvaluation.id).where(
                QaEvaluation.kept_until.is_not(None), QaEvaluation.kept_until <= now
            )
        )
    )
    _delete_evaluations(session, ids)
    if ids:
        _audit(session, now, deleted=len(ids), kept=0)
    return len(ids)


def _audit(session: Session, now: datetime, *, deleted: int, kept: int) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor="system",
        action="retention.delete",
        object_type="qa_evaluation",
        source="worker",
        details={"evaluations_deleted": deleted, "results_kept": kept},
        at=now,
    )
    log.info("qa_evaluations_deleted", deleted=deleted, kept=kept)
