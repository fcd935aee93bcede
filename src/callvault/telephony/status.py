"""What the IT dashboard shows about provider transfers: failures and pending provider deletions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.telephony.models import DONE_STATES, JobState, ProviderRecordingJob


@dataclass(frozen=True)
class TransferProblem:
    """One unfinished transfer: provider ids and error codes only."""

    job_id: uuid.UUID
    recording_sid: str
    state: str
    attempts: int
    last_error_code: str | None
    next_attempt_at: datetime
    created_at: datetime
    ingested: bool  # True: only the provider's copy is left to delete


@dataclass(frozen=True)
class TransferStatus:
    counts: dict[str, int] = field(default_factory=dict)
    failed: list[TransferProblem] = field(default_factory=list)
    pending_provider_deletions: int = 0
    oldest_unfinished_at: datetime | None = None

    @property
    def healthy(self) -> bool:
        return not self.failed


def transfer_status(session: Session, *, limit: int = 50) -> TransferStatus:
    """Counts per state, the failing transfers (oldest first) and copies left at the provider.

    A transfer is listed as failing once it has failed at least once and is not finished; it
    turns "failed" after several attempts but is still retried.
    """
    job = ProviderRecordingJob
    counts = {
        state: int(count)
        for state, count in session.execute(
            sa.select(job.state, sa.func.count()).group_by(job.state)
        )
    }
    unfinished = job.state.not_in([s.value for s in DONE_STATES])
    rows = session.scalars(
        sa.select(job).where(unfinished, job.attempts > 0).order_by(job.created_at).limit(limit)
    )
    failed = [
        TransferProblem(
            job_id=r.id,
            recording_sid=r.recording_sid,
            state=r.state,
            attempts=r.attempts,
            last_error_code=r.last_error_code,
            next_attempt_at=r.next_attempt_at,
            created_at=r.created_at,
            ingested=r.recording_id is not None,
        )
        for r in rows
    ]
    # Every unfinished job still has a copy at the provider; ingested ones have only that left.
    pending = session.scalar(sa.select(sa.func.count()).where(unfinished)) or 0
    oldest = session.scalar(sa.select(sa.func.min(job.created_at)).where(unfinished))
    return TransferStatus(
        counts={s.value: counts.get(s.value, 0) for s in JobState},
        failed=failed,
        pending_provider_deletions=int(pending),
        oldest_unfinished_at=oldest,
    )
