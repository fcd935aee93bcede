"""Housekeeping: requeue due transfers, forget call state, finished jobs and unused evidence."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.consent.models import ConsentEvidence
from callvault.telephony.models import (
    DONE_STATES,
    STOPPED_STATES,
    ProviderRecordingJob,
    TelephonyCall,
)

log = structlog.get_logger(__name__)


def due_jobs(session: Session, now: datetime, limit: int = 100) -> list[uuid.UUID]:
    """Unfinished jobs whose next attempt is due and that no worker holds (for the sweep);
    permanent failures are not retried."""
    query = (
        sa.select(ProviderRecordingJob.id)
        .where(
            ProviderRecordingJob.state.not_in([s.value for s in STOPPED_STATES]),
            ProviderRecordingJob.next_attempt_at <= now,
            sa.or_(
                ProviderRecordingJob.leased_until.is_(None),
                ProviderRecordingJob.leased_until < now,
            ),
        )
        .order_by(ProviderRecordingJob.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def purge_finished(session: Session, now: datetime) -> tuple[int, int, int]:
    """Forget call states after two days, finished jobs after thirty, and consent evidence
    that never got a recording; returns the three counts."""
    calls = session.execute(
        sa.delete(TelephonyCall).where(TelephonyCall.created_at < now - timedelta(days=2))
    )
    jobs = session.execute(
        sa.delete(ProviderRecordingJob).where(
            ProviderRecordingJob.state.in_([s.value for s in DONE_STATES]),
            ProviderRecordingJob.updated_at < now - timedelta(days=30),
        )
    )
    return (
        int(calls.rowcount),  # type: ignore[attr-defined]
        int(jobs.rowcount),  # type: ignore[attr-defined]
        forget_unused_evidence(session, now),
    )


def forget_unused_evidence(session: Session, now: datetime) -> int:
    """Delete IVR consent evidence whose call produced no recording (the agent never answered,
    the provider recorded nothing) once two days have passed with no transfer under way.

    Evidence lives as long as its recording; without one it would otherwise keep the caller's
    (encrypted) number for ever.
    """
    from callvault.recordings.models import Recording

    evidence = ConsentEvidence
    has_recording = sa.exists().where(
        sa.or_(
            Recording.consent_evidence_id == evidence.id,
            Recording.call_id == evidence.call_id,
        )
    )
    transfer_pending = sa.exists().where(
        ProviderRecordingJob.call_sid == evidence.call_id,
        ProviderRecordingJob.state.not_in([s.value for s in DONE_STATES]),
    )
    # Call states that point at the evidence let go of it first (their FK would refuse).
    doomed = sa.select(evidence.id).where(
        evidence.source == "ivr",
        evidence.given_at < now - timedelta(days=2),
        ~has_recording,
        ~transfer_pending,
    )
    ids = list(session.scalars(doomed))
    if not ids:
        return 0
    session.execute(
        sa.update(TelephonyCall)
        .where(TelephonyCall.consent_evidence_id.in_(ids))
        .values(consent_evidence_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.delete(evidence).where(evidence.id.in_(ids)).execution_options(synchronize_session=False)
    )
    log.info("unused_consent_evidence_deleted", count=len(ids))
    return len(ids)
