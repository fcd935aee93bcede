"""An employee's DSAR (Art. 15): the evaluations about them as an agent, with the comments,
their disputes and the evaluators' answers; and the evaluations they wrote, without the agents
they were about (others' data, Art. 15(4))."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.quality.models import QaEvaluation, QaFormVersion


def evaluations_about(session: Session, agent_ids: Sequence[str]) -> list[dict[str, Any]]:
    names = [a.lower() for a in agent_ids]
    rows = session.scalars(
        sa.select(QaEvaluation)
        .where(sa.func.lower(QaEvaluation.agent_id).in_(names))
        .order_by(QaEvaluation.created_at, QaEvaluation.id)
    )
    out = []
    for e in rows:
        version = session.get(QaFormVersion, e.form_version_id)
        texts = {
            q.id: {"sv": q.text_sv, "en": q.text_en}
            for s in (version.sections if version else [])
            for q in s.questions
        }
        out.append(
            {
                "id": str(e.id),
                "form": {"sv": version.title_sv, "en": version.title_en} if version else None,
                "form_version": version.version if version else None,
                "state": e.state,
                "calibration": e.calibration_id is not None,
                "week": e.week.isoformat(),
                "team": e.team,
                "score": e.score,
                "failed": e.failed,
                "submitted_at": e.submitted_at.isoformat() if e.submitted_at else None,
                "acknowledged_at": e.acknowledged_at.isoformat() if e.acknowledged_at else None,
                "kept_until": e.kept_until.isoformat() if e.kept_until else None,
                "answers": [
                    {"question": texts.get(a.question_id), "value": a.value, "points": a.points}
                    for a in e.answers
                ],
                "comments": [{"at_s": c.at_s, "text": c.text} for c in e.comments],
                "dispute": (
                    {
                        "comment": e.dispute.comment,
                        "created_at": e.dispute.created_at.isoformat(),
                        "answer": e.dispute.answer,
                        "answered_at": (
                            e.dispute.answered_at.isoformat() if e.dispute.answered_at else None
                        ),
                    }
                    if e.dispute
                    else None
                ),
            }
        )
    return out


def evaluations_written(session: Session, account_id: Any) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(QaEvaluation.id, QaEvaluation.state, QaEvaluation.created_at, QaEvaluation.score)
        .where(QaEvaluation.evaluator_id == account_id)
        .order_by(QaEvaluation.created_at, QaEvaluation.id)
    )
    return [
        {"id": str(i), "state": s, "created_at": c.isoformat(), "score": score}
        for i, s, c, score in rows
    ]
