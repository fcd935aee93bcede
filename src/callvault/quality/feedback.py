"""Agent feedback: agents see their own submitted evaluations (scores, comments, form; no audio,
§6 gives agents no access to recordings), acknowledge them or dispute them with a comment, and
the evaluator answers. Agents are matched as ingest names them: `agent.id` is the account's id
or its e-mail address."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.errors import Conflict, NotFound
from callvault.quality.freetext import checked_text
from callvault.quality.models import EvaluationState, QaDispute, QaEvaluation
from callvault.quality.service import NOT_FOUND, _audit
from callvault.runtime import Runtime


def agent_identities(session: Session, principal: Principal) -> list[str]:
    """The names ingest may have given this agent: the account id and the e-mail address."""
    if principal.kind != "account" or principal.role != Role.AGENT:
        return []
    account = session.get(Account, principal.id)
    if account is None or account.disabled_at is not None:
        return []
    return [str(account.id), account.email.lower()]


def _agents_own_clause(identities: list[str]) -> sa.ColumnElement[bool]:
    return sa.and_(
        sa.func.lower(QaEvaluation.agent_id).in_(identities),
        QaEvaluation.state == EvaluationState.SUBMITTED.value,
        QaEvaluation.calibration_id.is_(None),
    )


def is_agents_own(session: Session, principal: Principal, evaluation: QaEvaluation) -> bool:
    identities = agent_identities(session, principal)
    return (
        bool(identities)
        and evaluation.agent_id.lower() in identities
        and evaluation.state == EvaluationState.SUBMITTED
        and evaluation.calibration_id is None
    )


def my_evaluations(session: Session, principal: Principal) -> list[QaEvaluation]:
    identities = agent_identities(session, principal)
    if not identities:
        return []
    return list(
        session.scalars(
            sa.select(QaEvaluation)
            .where(_agents_own_clause(identities))
            .order_by(QaEvaluation.submitted_at.desc())
            .limit(500)
        )
    )


def _agents(session: Session, principal: Principal, evaluation_id: uuid.UUID) -> QaEvaluation:
    evaluation = session.get(QaEvaluation, evaluation_id, with_for_update=True)
    if evaluation is None or not is_agents_own(session, principal, evaluation):
        raise NotFound(NOT_FOUND)
    return evaluation


def acknowledge(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    evaluation_id: uuid.UUID,
    *,
    source: str,
) -> QaEvaluation:
    evaluation = _agents(session, principal, evaluation_id)
    if evaluation.dispute is not None:
        raise Conflict("this evaluation is disputed")
    if evaluation.acknowledged_at is None:
        evaluation.acknowledged_at = runtime.clock.now()
        session.flush()
        _audit(session, principal, "qa.evaluation.acknowledge", evaluation, source)
    return evaluation


def dispute(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    evaluation_id: uuid.UUID,
    *,
    comment: str,
    source: str,
) -> QaEvaluation:
    evaluation = _agents(session, principal, evaluation_id)
    if evaluation.acknowledged_at is not None:
        raise Conflict("this evaluation is already acknowledged")
    if evaluation.dispute is not None:
        raise Conflict("this evaluation is already disputed")
    text = checked_text(comment, "dispute")
    evaluation.dispute = QaDispute(comment=text, created_at=runtime.clock.now())
    session.flush()
    _audit(session, principal, "qa.evaluation.dispute", evaluation, source)
    return evaluation


def answer_dispute(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    evaluation_id: uuid.UUID,
    *,
    answer: str,
    source: str,
) -> QaEvaluation:
    """The evaluator answers the agent's dispute (once)."""
    evaluation = session.get(QaEvaluation, evaluation_id, with_for_update=True)
    if evaluation is None or evaluation.evaluator_id != principal.id:
        raise NotFound(NOT_FOUND)
    if evaluation.dispute is None:
        raise Conflict("this evaluation is not disputed")
    if evaluation.dispute.answer is not None:
        raise Conflict("this dispute is already answered")
    evaluation.dispute.answer = checked_text(answer, "answer")
    evaluation.dispute.answered_by = principal.id
    evaluation.dispute.answered_at = runtime.clock.now()
    session.flush()
    _audit(session, principal, "qa.evaluation.answer", evaluation, source)
    return evaluation


def open_disputes(session: Session, principal: Principal) -> list[QaEvaluation]:
    """The evaluator's disputed evaluations still waiting for an answer."""
    return list(
        session.scalars(
            sa.select(QaEvaluation)
            .join(QaDispute, QaDispute.evaluation_id == QaEvaluation.id)
            .where(QaEvaluation.evaluator_id == principal.id, QaDispute.answer.is_(None))
            .order_by(QaDispute.created_at)
        )
    )
