"""Evaluations: a QA manager scores one call with a published form beside the player.

Drafts are saved whole (answers and comments replace what was there) and may be saved as often
as the page autosaves; submitting scores the evaluation (`quality.scoring`), locks it and adds it
to the weekly report tables. Every step checks that a live QA grant still covers the recording.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session, lazyload

from callvault.accounts.auth import Principal
from callvault.errors import Conflict, InvalidInput, NotFound
from callvault.quality import aggregates, coverage, forms
from callvault.quality.freetext import checked_text
from callvault.quality.models import (
    EvaluationState,
    QaAnswer,
    QaComment,
    QaEvaluation,
    QaFormVersion,
    QaSampleItem,
)
from callvault.quality.scoring import QuestionRule, Score, points_for, score
from callvault.recordings.models import Recording
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MAX_COMMENTS = 100
NOT_FOUND = "no such evaluation"


def week_of(at: datetime) -> date:
    """Monday of the week `at` falls in, Stockholm time."""
    day = at.astimezone(STOCKHOLM).date()
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class AnswerIn:
    question_id: str
    value: Any


@dataclass(frozen=True)
class CommentIn:
    at: float | None
    text: str


def create_evaluation(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    *,
    recording_id: uuid.UUID | str,
    form_id: uuid.UUID,
    reason: str | None,
    source: str,
    calibration_id: uuid.UUID | None = None,
    form_version: QaFormVersion | None = None,
) -> QaEvaluation:
    """A draft evaluation of a covered recording with the form's newest published version."""
    recording, grant = coverage.open_for_evaluation(
        session, runtime, principal, recording_id, reason=reason, source=source
    )
    version = form_version or forms.published_version(session, form_id)
    now = runtime.clock.now()
    evaluation = QaEvaluation(
        id=uuid.uuid4(),
        recording_id=recording.id,
        form_version_id=version.id,
        evaluator_id=principal.id,
        agent_id=recording.agent_id,
        team=recording.team,
        call_duration_s=recording.duration_s,
        week=week_of(recording.started_at),
        state=EvaluationState.DRAFT.value,
        calibration_id=calibration_id,
        created_at=now,
        updated_at=now,
    )
    session.add(evaluation)
    session.flush()
    if calibration_id is None:  # a sampled call becomes this evaluation in the work queue
        from callvault.quality.models import QaSample

        session.execute(
            sa.update(QaSampleItem)
            .where(
                QaSampleItem.recording_id == recording.id,
                QaSampleItem.evaluation_id.is_(None),
                QaSampleItem.sample_id.in_(
                    sa.select(QaSample.id).where(QaSample.created_by == principal.id)
                ),
            )
            .values(evaluation_id=evaluation.id)
            .execution_options(synchronize_session=False)
        )
    _audit(
        session,
        principal,
        "qa.evaluation.create",
        evaluation,
        source,
        {"recording": str(recording.id), "grant": str(grant.id), "form_version": version.version},
    )
    return evaluation


def own_evaluation(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    evaluation_id: uuid.UUID,
    *,
    action: str,
    source: str,
    lock: bool = False,
) -> QaEvaluation:
    """The principal's own evaluation whose recording a live QA grant still covers; else 404."""
    query = sa.select(QaEvaluation).where(QaEvaluation.id == evaluation_id)
    if lock:
        query = query.with_for_update()
    # answers and comments load only if asked for: saving replaces them without reading them
    evaluation = session.scalar(query.options(lazyload("*")))
    if evaluation is None or evaluation.evaluator_id != principal.id:
        raise NotFound(NOT_FOUND)
    coverage.require_covered(
        session, runtime, principal, evaluation.recording_id, action=action, source=source
    )
    return evaluation


def save_draft(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    evaluation_id: uuid.UUID,
    *,
    answers: Sequence[AnswerIn],
    comments: Sequence[CommentIn],
    source: str,
) -> QaEvaluation:
    """Replace the draft's answers and comments after checking all of them; nothing is written
    if any is refused. A submitted evaluation is locked (409)."""
    evaluation = own_evaluation(
        session,
        runtime,
        principal,
        evaluation_id,
        action="qa.evaluation.save",
        source=source,
        lock=True,
    )
    if evaluation.state != EvaluationState.DRAFT:
        raise Conflict("this evaluation is submitted and can no longer be changed")
    checked_answers = check_answers(session, evaluation, answers)
    checked_comments = check_comments(evaluation, comments)
    # Replaced with a statement each rather than through the ORM collections: autosave runs
    # often and must stay cheap (benchmarks/quality.py).
    for table in (QaAnswer, QaComment):
        session.execute(
            sa.delete(table)
            .where(table.evaluation_id == evaluation.id)
            .execution_options(synchronize_session=False)
        )
    if checked_answers:
        session.execute(
            sa.insert(QaAnswer),
            [
                {"evaluation_id": evaluation.id, "question_id": qid, "value": v, "points": p}
                for qid, (v, p) in checked_answers.items()
            ],
        )
    if checked_comments:
        session.execute(
            sa.insert(QaComment),
            [
                {
                    "id": uuid.uuid4(),
                    "evaluation_id": evaluation.id,
                    "position": n,
                    "at_s": at,
                    "text": text,
                }
                for n, (at, text) in enumerate(checked_comments)
            ],
        )
    evaluation.updated_at = runtime.clock.now()
    session.flush()
    session.expire(evaluation, ["answers", "comments"])
    return evaluation


def check_answers(
    session: Session, evaluation: QaEvaluation, answers: Sequence[AnswerIn]
) -> dict[uuid.UUID, tuple[str, float | None]]:
    rules = version_rules(session, evaluation.form_version_id)
    checked: dict[uuid.UUID, tuple[str, float | None]] = {}
    for number, answer in enumerate(answers, 1):
        found = rules.get(str(answer.question_id))
        if found is None:
            raise InvalidInput(f"answer {number}: that question is not on this evaluation's form")
        question_id, rule = found
        if question_id in checked:
            raise InvalidInput(f"answer {number}: that question is answered twice")
        try:
            checked[question_id] = points_for(rule, answer.value)
        except InvalidInput as exc:
            raise InvalidInput(f"answer {number}: {exc.message}") from None
    return checked


_RULES: dict[uuid.UUID, dict[str, tuple[uuid.UUID, QuestionRule]]] = {}


def version_rules(
    session: Session, version_id: uuid.UUID
) -> dict[str, tuple[uuid.UUID, QuestionRule]]:
    """Question id → (id, scoring rule) of a published form version. Published versions never
    change, so they are read once per process."""
    rules = _RULES.get(version_id)
    if rules is None:
        version = session.get(QaFormVersion, version_id)
        assert version is not None
        rules = {str(q.id): (q.id, forms.rule_of(q)) for q in forms.questions_of(version)}
        if version.state == forms.PUBLISHED:
            if len(_RULES) > 1000:
                _RULES.clear()
            _RULES[version_id] = rules
    return rules


def check_comments(
    evaluation: QaEvaluation, comments: Sequence[CommentIn]
) -> list[tuple[float | None, str]]:
    if len(comments) > MAX_COMMENTS:
        raise InvalidInput(f"an evaluation holds at most {MAX_COMMENTS} comments")
    checked = []
    for number, comment in enumerate(comments, 1):
        if comment.at is not None and not 0 <= comment.at <= evaluation.call_duration_s:
            raise InvalidInput(
                f"comment {number}: it is anchored outside the call "
                f"(0 to {evaluation.call_duration_s:.0f} s)"
            )
        try:
            text = checked_text(comment.text)
        except InvalidInput as exc:
            raise InvalidInput(f"comment {number}: {exc.message}") from None
        checked.append((comment.at, text))
    return checked


def submit(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    evaluation_id: uuid.UUID,
    *,
    source: str,
) -> Score:
    """Score and lock the evaluation; every question must be answered (N/A where allowed).
    A second submit is a conflict."""
    evaluation = own_evaluation(
        session,
        runtime,
        principal,
        evaluation_id,
        action="qa.evaluation.submit",
        source=source,
        lock=True,
    )
    if evaluation.state != EvaluationState.DRAFT:
        raise Conflict("this evaluation is already submitted")
    version = session.get(QaFormVersion, evaluation.form_version_id)
    assert version is not None
    given = {a.question_id: a for a in evaluation.answers}
    questions = forms.questions_of(version)
    missing = [n for n, q in enumerate(questions, 1) if q.id not in given]
    if missing:
        listed = ", ".join(str(n) for n in missing[:10])
        raise InvalidInput(f"answer every question before submitting (missing: {listed})")
    result = score((forms.rule_of(q), given[q.id].points) for q in questions)
    now = runtime.clock.now()
    evaluation.state = EvaluationState.SUBMITTED.value
    evaluation.score = result.score
    evaluation.failed = result.failed
    evaluation.submitted_at = now
    evaluation.updated_at = now
    session.flush()
    aggregates.count_submitted(
        session, evaluation, version.form_id, [(q.id, given[q.id].points) for q in questions]
    )
    _audit(
        session,
        principal,
        "qa.evaluation.submit",
        evaluation,
        source,
        {"score": result.score, "failed": result.failed},
    )
    return result


def visible_evaluation(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    evaluation_id: uuid.UUID,
    *,
    source: str,
) -> QaEvaluation:
    """An evaluation as its evaluator (with a live grant) or its agent (submitted) may see it."""
    from callvault.quality import feedback

    evaluation = session.get(QaEvaluation, evaluation_id)
    if evaluation is None:
        raise NotFound(NOT_FOUND)
    if evaluation.evaluator_id == principal.id:
        coverage.require_covered(
            session,
            runtime,
            principal,
            evaluation.recording_id,
            action="qa.evaluation.view",
            source=source,
        )
        return evaluation
    if feedback.is_agents_own(session, principal, evaluation):
        return evaluation
    raise NotFound(NOT_FOUND)


def evaluations_of_evaluator(
    session: Session, principal: Principal, now: datetime
) -> list[QaEvaluation]:
    """The evaluator's own evaluations of calls a live QA grant of theirs still covers."""
    from callvault.access import service as access

    grants = coverage.qa_grants(session, principal, now)
    if not grants:
        return []
    covered = sa.select(Recording.id).where(
        access._readable(now), sa.or_(*(access.covers(g) for g in grants))
    )
    return list(
        session.scalars(
            sa.select(QaEvaluation)
            .where(QaEvaluation.evaluator_id == principal.id)
            .where(QaEvaluation.recording_id.in_(covered))
            .order_by(QaEvaluation.updated_at.desc())
            .limit(500)
        )
    )


def evaluation_out(
    session: Session, evaluation: QaEvaluation, *, for_agent: bool = False
) -> dict[str, Any]:
    """An evaluation as JSON; the agent's view has no recording id (no audio, §6)."""
    version = session.get(QaFormVersion, evaluation.form_version_id)
    assert version is not None
    scales = {q.id: q.kind == "scale" for q in forms.questions_of(version)}
    out: dict[str, Any] = {
        "id": str(evaluation.id),
        "state": evaluation.state,
        "form": forms.version_out(version),
        "question_ids": [str(q.id) for q in forms.questions_of(version)],
        "agent_id": evaluation.agent_id,
        "team": evaluation.team,
        "week": evaluation.week.isoformat(),
        "call_duration_s": evaluation.call_duration_s,
        "score": evaluation.score,
        "failed": evaluation.failed,
        "submitted_at": evaluation.submitted_at.isoformat() if evaluation.submitted_at else None,
        "acknowledged_at": (
            evaluation.acknowledged_at.isoformat() if evaluation.acknowledged_at else None
        ),
        "answers": [
            {
                "question_id": str(a.question_id),
                "value": int(a.value)
                if scales.get(a.question_id) and a.value.isdigit()
                else a.value,
                "points": a.points,
            }
            for a in evaluation.answers
        ],
        "comments": [{"at": c.at_s, "text": c.text} for c in evaluation.comments],
        "dispute": (
            {
                "comment": evaluation.dispute.comment,
                "created_at": evaluation.dispute.created_at.isoformat(),
                "answer": evaluation.dispute.answer,
                "answered_at": (
                    evaluation.dispute.answered_at.isoformat()
                    if evaluation.dispute.answered_at
                    else None
                ),
            }
            if evaluation.dispute
            else None
        ),
        "calibration_id": str(evaluation.calibration_id) if evaluation.calibration_id else None,
    }
    if not for_agent:
        out["recording_id"] = str(evaluation.recording_id)
    return out


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    evaluation: QaEvaluation,
    source: str,
    details: dict[str, object] | None = None,
) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action=action,
        object_type="qa_evaluation",
        object_id=str(evaluation.id),
        source=source,
        details=details or {},
    )
