"""Calibration: the same call before several evaluators (two or more), who score it blind with
the same form version. Until every one has submitted, each sees only their own evaluation; then
the result shows how far they agree on each question, the spread of their totals, and the
reference evaluation the group agrees on (recorded by whoever opened the session)."""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.errors import Conflict, InvalidInput, NotFound
from callvault.quality import coverage, forms, service
from callvault.quality.models import (
    EvaluationState,
    QaCalibration,
    QaCalibrationMember,
    QaEvaluation,
    QaFormVersion,
)
from callvault.runtime import Runtime

MIN_EVALUATORS = 2
MAX_EVALUATORS = 20
NOT_FOUND = "no such calibration"


def create_calibration(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    *,
    recording_id: uuid.UUID | str,
    form_id: uuid.UUID,
    evaluator_ids: list[uuid.UUID],
    reason: str | None,
    source: str,
) -> QaCalibration:
    """Open a session on a call the opener's QA grant covers, for two or more QA managers whose
    grants cover it too (the opener may be one of them)."""
    members = list(dict.fromkeys(evaluator_ids))
    if len(members) < MIN_EVALUATORS:
        raise InvalidInput(f"a calibration needs at least {MIN_EVALUATORS} different evaluators")
    if len(members) > MAX_EVALUATORS:
        raise InvalidInput(f"a calibration has at most {MAX_EVALUATORS} evaluators")
    recording, _ = coverage.open_for_evaluation(
        session, runtime, principal, recording_id, reason=reason, source=source
    )
    version = forms.published_version(session, form_id)
    now = runtime.clock.now()
    for number, account_id in enumerate(members, 1):
        account = session.get(Account, account_id)
        if account is None or account.disabled_at is not None or account.role != Role.QA_MANAGER:
            raise InvalidInput(f"evaluator {number} is not an active QA manager")
        member = Principal(kind="account", id=account.id, role=account.role, session_id=None)
        if not coverage.is_covered(session, member, recording.id, now):
            raise InvalidInput(f"evaluator {number} has no live QA grant covering this call")
    calibration = QaCalibration(
        id=uuid.uuid4(),
        recording_id=recording.id,
        form_version_id=version.id,
        created_by=principal.id,
        created_at=now,
    )
    calibration.members = [QaCalibrationMember(evaluator_id=m) for m in members]
    session.add(calibration)
    session.flush()
    _audit(
        session,
        principal,
        "qa.calibration.create",
        calibration,
        source,
        {"evaluators": len(members), "recording": str(recording.id)},
    )
    return calibration


def _visible(session: Session, principal: Principal, calibration_id: uuid.UUID) -> QaCalibration:
    calibration = session.get(QaCalibration, calibration_id)
    if calibration is None or not (
        calibration.created_by == principal.id
        or any(m.evaluator_id == principal.id for m in calibration.members)
    ):
        raise NotFound(NOT_FOUND)
    return calibration


def start_evaluation(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    calibration_id: uuid.UUID,
    *,
    reason: str | None,
    source: str,
) -> QaEvaluation:
    """A member's own (blind) evaluation of the session's call, with the session's form version."""
    calibration = _visible(session, principal, calibration_id)
    if not any(m.evaluator_id == principal.id for m in calibration.members):
        raise NotFound(NOT_FOUND)
    if calibration.closed_at is not None:
        raise Conflict("this calibration is closed")
    if _evaluation_of(session, calibration.id, principal.id) is not None:
        raise Conflict("you already evaluate this call in this calibration")
    version = session.get(QaFormVersion, calibration.form_version_id)
    assert version is not None
    return service.create_evaluation(
        session,
        runtime,
        principal,
        recording_id=calibration.recording_id,
        form_id=version.form_id,
        reason=reason,
        source=source,
        calibration_id=calibration.id,
        form_version=version,
    )


def _evaluation_of(
    session: Session, calibration_id: uuid.UUID, evaluator_id: uuid.UUID
) -> QaEvaluation | None:
    return session.scalar(
        sa.select(QaEvaluation).where(
            QaEvaluation.calibration_id == calibration_id,
            QaEvaluation.evaluator_id == evaluator_id,
        )
    )


def result(session: Session, principal: Principal, calibration_id: uuid.UUID) -> dict[str, Any]:
    """Progress while blind; once every member has submitted, agreement, spread and reference."""
    calibration = _visible(session, principal, calibration_id)
    evaluations = list(
        session.scalars(
            sa.select(QaEvaluation).where(QaEvaluation.calibration_id == calibration.id)
        )
    )
    submitted = [e for e in evaluations if e.state == EvaluationState.SUBMITTED]
    members = [m.evaluator_id for m in calibration.members]
    mine = next((e for e in evaluations if e.evaluator_id == principal.id), None)
    out: dict[str, Any] = {
        "id": str(calibration.id),
        "recording_id": str(calibration.recording_id),
        "form_version_id": str(calibration.form_version_id),
        "evaluators": len(members),
        "submitted": len(submitted),
        "my_evaluation_id": str(mine.id) if mine else None,
        "is_member": principal.id in members,
        "is_owner": calibration.created_by == principal.id,
        "closed": calibration.closed_at is not None,
        "complete": len(submitted) == len(members),
        "reference_evaluation_id": (
            str(calibration.reference_evaluation_id)
            if calibration.reference_evaluation_id
            else None
        ),
    }
    if not out["complete"]:
        return out  # blind: nobody sees anyone else's answers yet
    version = session.get(QaFormVersion, calibration.form_version_id)
    assert version is not None
    emails = dict(
        session.execute(sa.select(Account.id, Account.email).where(Account.id.in_(members))).all()
    )
    scores = [e.score or 0.0 for e in submitted]
    median = statistics.median(scores)
    suggested = min(submitted, key=lambda e: (abs((e.score or 0.0) - median), str(e.id)))
    questions: list[dict[str, Any]] = []
    agreements: list[float] = []
    for q in forms.questions_of(version):
        values = [
            next((a.value for a in e.answers if a.question_id == q.id), "") for e in submitted
        ]
        counts = Counter(values)
        top, top_count = counts.most_common(1)[0]
        agreements.append(100 * top_count / len(values))
        questions.append(
            {
                "question_id": str(q.id),
                "text": {"sv": q.text_sv, "en": q.text_en},
                "answers": dict(counts),
                "most_common": top,
                "agreement": round(100 * top_count / len(values), 1),
            }
        )
    out.update(
        {
            "evaluations": [
                {
                    "evaluation_id": str(e.id),
                    "evaluator": emails.get(e.evaluator_id),
                    "score": e.score,
                    "failed": e.failed,
                }
                for e in sorted(submitted, key=lambda e: (e.score or 0.0, str(e.id)))
            ],
            "spread": {
                "min": min(scores),
                "max": max(scores),
                "range": round(max(scores) - min(scores), 1),
                "mean": round(statistics.fmean(scores), 1),
                "stdev": round(statistics.pstdev(scores), 1),
            },
            "questions": questions,
            "agreement": round(statistics.fmean(agreements), 1),
            "suggested_reference_id": str(suggested.id),
        }
    )
    return out


def set_reference(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    calibration_id: uuid.UUID,
    evaluation_id: uuid.UUID,
    *,
    source: str,
) -> QaCalibration:
    """Record the evaluation the group agrees on as the reference; this closes the session."""
    calibration = _visible(session, principal, calibration_id)
    if calibration.created_by != principal.id:
        raise NotFound(NOT_FOUND)
    if calibration.closed_at is not None:
        raise Conflict("this calibration is closed")
    evaluation = session.get(QaEvaluation, evaluation_id)
    if evaluation is None or evaluation.calibration_id != calibration.id:
        raise InvalidInput("that evaluation does not belong to this calibration")
    states = list(
        session.scalars(
            sa.select(QaEvaluation.state).where(QaEvaluation.calibration_id == calibration.id)
        )
    )
    if len([s for s in states if s == EvaluationState.SUBMITTED]) < len(calibration.members):
        raise Conflict("wait until every evaluator has submitted")
    calibration.reference_evaluation_id = evaluation.id
    calibration.closed_at = runtime.clock.now()
    session.flush()
    _audit(
        session,
        principal,
        "qa.calibration.reference",
        calibration,
        source,
        {"evaluation": str(evaluation.id)},
    )
    return calibration


def calibrations_of(session: Session, principal: Principal) -> list[QaCalibration]:
    member = sa.select(QaCalibrationMember.calibration_id).where(
        QaCalibrationMember.evaluator_id == principal.id
    )
    return list(
        session.scalars(
            sa.select(QaCalibration)
            .where(sa.or_(QaCalibration.created_by == principal.id, QaCalibration.id.in_(member)))
            .order_by(QaCalibration.created_at.desc())
            .limit(100)
        )
    )


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    calibration: QaCalibration,
    source: str,
    details: dict[str, object],
) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action=action,
        object_type="qa_calibration",
        object_id=str(calibration.id),
        source=source,
        details=details,
    )
