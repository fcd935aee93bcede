"""Who may mark a call as sensitive, and when: an agent only their own calls, during or within
24 hours after the call; every person at most 20 marks an hour (counted in the database, so
every process shares the count). A mark re-runs pseudonymisation, so these limits keep one
account from masking and reprocessing recordings at will."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.errors import TooManyAttempts
from callvault.recordings.models import Recording
from callvault.redaction.models import SensitiveMark

AGENT_MARK_WINDOW = timedelta(hours=24)  # after the call ends
MARKS_PER_HOUR = 20  # per person (service accounts, such as the telephony line, are not limited)


def _account_id(actor: str) -> uuid.UUID | None:
    kind, _, raw = actor.partition(":")
    if kind != "account":
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def handled_by(session: Session, agent_id: str | None, actor: str) -> bool:
    """Whether the account `actor` (`account:<uuid>`) is the call's agent. Ingest names the agent
    (`agent.id`) by account id or by e-mail address."""
    account_id = _account_id(actor)
    if not agent_id or account_id is None:
        return False
    named = agent_id.strip().lower()
    if named == str(account_id):
        return True
    email = session.scalar(sa.select(Account.email).where(Account.id == account_id))
    return email is not None and email.lower() == named


def within_window(recording: Recording, at: datetime) -> bool:
    """During the call or at most AGENT_MARK_WINDOW after it ended."""
    return at <= recording.ended_at + AGENT_MARK_WINDOW


def check_mark_rate(session: Session, actor: str, now: datetime) -> None:
    """TooManyAttempts (429) once a person has made MARKS_PER_HOUR marks in the last hour."""
    if _account_id(actor) is None:
        return
    made = session.scalar(
        sa.select(sa.func.count())
        .select_from(SensitiveMark)
        .where(
            SensitiveMark.created_by == actor, SensitiveMark.created_at > now - timedelta(hours=1)
        )
    )
    if (made or 0) >= MARKS_PER_HOUR:
        raise TooManyAttempts(f"at most {MARKS_PER_HOUR} marks an hour; try again later")


def mark_counts(session: Session, mark: SensitiveMark, recording: Recording | None) -> bool:
    """Whether a stored mark is applied. An agent's mark made by call id during a call (before
    the recording existed) counts only if the call turns out to be theirs and it was made in
    time; marks by other people and services were checked when they were made."""
    account_id = _account_id(mark.created_by)
    if account_id is None:
        return True
    role = session.scalar(sa.select(Account.role).where(Account.id == account_id))
    if role != Role.AGENT.value:
        return True
    return (
        recording is not None
        and handled_by(session, recording.agent_id, mark.created_by)
        and within_window(recording, mark.created_at)
    )
