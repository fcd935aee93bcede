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
    failed_permanently: int = 0  # the alert: no longer retried, IT must look
    permanent: list[TransferProblem] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.failed and not self.failed_permanently


def count_failed_permanently(session: Session) -> int:
    """Transfers the vault refused and that are no longer retried (0 is good): for alerts."""
    return int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(ProviderRecordingJob)
            .where(ProviderRecordingJob.state == JobState.FAILED_PERMANENTLY.value)
        )
        or 0
    )


def transfer_status(session: Session, *, limit: int = 50) -> TransferStatus:
    """Counts per state, the failing transfers (oldest first) and copies left at the provider.

    A transfer is listed as failing once it has failed at least once and is not finished; it
    turns "failed" after several attempts but is still retried, or "failed_permanently" when
    the vault refused it (not retried).
    """
    job = ProviderRecordingJob
    counts = {
        state: int(count)
        for state, count in session.execute(
            sa.select(job.state, sa.func.count()).group_by(job.state)
        )
    }
    unfinished = job.state.not_in([s.value for s in DONE_STATES])
    retried = job.state != JobState.FAILED_PERMANENTLY.value

    def problems(*where: sa.ColumnElement[bool]) -> list[TransferProblem]:
        rows = session.scalars(sa.select(job).where(*where).order_by(job.created_at).limit(limit))
        return [
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

    failed = problems(unfinished, retried, job.attempts > 0)
    permanent = problems(~retried)
    # Every unfinished job still has a copy at the provider; ingested ones have only that left.
    pending = session.scalar(sa.select(sa.func.count()).where(unfinished)) or 0
    oldest = session.scalar(sa.select(sa.func.min(job.created_at)).where(unfinished))
    return TransferStatus(
        counts={s.value: counts.get(s.value, 0) for s in JobState},
        failed=failed,
        pending_provider_deletions=int(pending),
        oldest_unfinished_at=oldest,
        failed_permanently=counts.get(JobState.FAILED_PERMANENTLY.value, 0),
        permanent=permanent,
    )
