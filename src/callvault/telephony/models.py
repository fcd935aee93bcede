"""The IVR's call state and the jobs that bring a provider's recording into the vault."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callvault.db import Base, new_id


class CallOutcome(enum.StrEnum):
    PROMPTING = "prompting"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    NO_ANSWER = "no_answer"
    WITHDRAWN = "withdrawn"  # pressed 9, or called the withdrawal number


class TelephonyCall(Base):
    """One call's progress through the consent prompt, for idempotent webhooks.

    Keyed by a keyed hash of the provider's CallSid and holding no caller number: a refused call
    leaves nothing that leads back to the caller. Rows are purged two days after the call.
    """

    __tablename__ = "telephony_calls"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    call_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    line: Mapped[str] = mapped_column(sa.String(16))  # "consent" or "withdrawal"
    called_number: Mapped[str | None] = mapped_column(sa.String(255))  # our line, number or URI
    language: Mapped[str] = mapped_column(sa.String(8))
    policy_version_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("policy_versions.id"))
    prompt_audio_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("policy_prompt_audio.id")
    )
    prompt_sha256: Mapped[str] = mapped_column(sa.String(64))
    failures: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str] = mapped_column(sa.String(16), default=CallOutcome.PROMPTING)
    consent_evidence_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("consent_evidence.id", ondelete="SET NULL")
    )
    withdrawal_reference: Mapped[str | None] = mapped_column(sa.String(64))
    last_request_token: Mapped[str | None] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class JobState(enum.StrEnum):
    PENDING = "pending"
    FETCHED = "fetched"
    INGESTED = "ingested"
    PROVIDER_DELETED = "provider_deleted"
    DISCARDED = "discarded"  # no consent evidence: never ingested, provider copy deleted
    FAILED = "failed"  # several attempts failed; still retried, shown on the IT dashboard
    # The vault refused the recording (invalid metadata, refused ingest): retrying cannot help,
    # so it is not retried; IT is alerted, and the provider's copy and the consent evidence go
    # once the recording's retention has run out (or at once if consent is withdrawn).
    FAILED_PERMANENTLY = "failed_permanently"


DONE_STATES = (JobState.PROVIDER_DELETED, JobState.DISCARDED)
# Not run again by the sweep or a stale queue message (only by `callvault telephony retry`).
STOPPED_STATES = (*DONE_STATES, JobState.FAILED_PERMANENTLY)


class ProviderRecordingJob(Base):
    """Bringing one provider recording into the vault and deleting the provider's copy.

    Holds provider ids, progress and error codes only, no personal data. It is the record of
    the work, the queue only its trigger: a lost queue message is found again by the sweep.
    """

    __tablename__ = "telephony_recording_jobs"
    __table_args__ = (
        sa.Index("ix_telephony_recording_jobs_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    recording_sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    call_sid: Mapped[str] = mapped_column(sa.String(64), index=True)
    state: Mapped[str] = mapped_column(sa.String(20), default=JobState.PENDING)
    called_number: Mapped[str | None] = mapped_column(sa.String(255))  # our line
    recording_started_at: Mapped[datetime | None]
    expected_duration_s: Mapped[float | None]
    channels: Mapped[int | None]
    media_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    media_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    recording_id: Mapped[uuid.UUID | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error_code: Mapped[str | None] = mapped_column(sa.String(64))
    next_attempt_at: Mapped[datetime]
    leased_until: Mapped[datetime | None]
    provider_deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
