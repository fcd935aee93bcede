"""The recording row: identity, time, caller (encrypted), purposes, consent and retention."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callvault.db import Base, new_id


class RecordingState(enum.StrEnum):
    INGESTED = "ingested"
    PROCESSING = "processing"
    READY = "ready"
    DELETING = "deleting"
    DELETED = "deleted"


class Recording(Base):
    """One recorded call. Audio and derived artefacts live encrypted in the vault."""

    __tablename__ = "recordings"
    __table_args__ = (
        sa.Index("ix_recordings_state_expires_at", "state", "expires_at"),
        sa.Index("ix_recordings_started_at_id", "started_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(sa.String(128), unique=True)
    agent_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    team: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    duration_s: Mapped[float]
    sample_rate: Mapped[int]
    channel_layout: Mapped[list[str]] = mapped_column(sa.JSON)
    caller_number_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    caller_number_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    language: Mapped[str] = mapped_column(sa.String(8))
    consent_evidence_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("consent_evidence.id", ondelete="SET NULL"), index=True
    )
    policy_version_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("policy_versions.id"), index=True
    )
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    # Keyed hash of the posted metadata: a repeated ingest must match it to be the same call.
    metadata_hmac: Mapped[str | None] = mapped_column(sa.String(64))
    source_format: Mapped[str | None] = mapped_column(sa.String(16))  # wav, flac, ogg, mp3
    expires_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(sa.String(16), default=RecordingState.INGESTED)
    created_at: Mapped[datetime]

    purposes: Mapped[list[RecordingPurpose]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def purpose_codes(self) -> list[str]:
        return sorted(p.purpose_code for p in self.purposes)


class RecordingPurpose(Base):
    """A purpose a recording was made for; fixed at ingest, never changed by later policy."""

    __tablename__ = "recording_purposes"

    recording_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True
    )
    purpose_code: Mapped[str] = mapped_column(sa.String(40), primary_key=True, index=True)


class RecordingTally(Base):
    """How many recordings are live (ingested, processing or ready), kept in the same
    transaction as every change, so the DPO dashboard reads a sum of a few rows instead of
    counting a million. Spread over `TALLY_SLOTS` rows so that concurrent ingests seldom wait
    on one another; the figure is their sum (`callvault.recordings.tally`)."""

    __tablename__ = "recording_tallies"

    slot: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    live: Mapped[int] = mapped_column(sa.BigInteger, default=0)


TALLY_SLOTS = 16


def _register_sealed_columns() -> None:
    """`callvault keys rotate` re-seals these under the new key-encryption key."""
    from callvault.consent.models import ConsentEvidence
    from callvault.vault.fields import register_sealed_column

    register_sealed_column(Recording.caller_number_enc, CALLER_CONTEXT)
    register_sealed_column(ConsentEvidence.caller_number_enc, "consent.caller")


CALLER_CONTEXT = "recording.caller"
_register_sealed_columns()

# The live tally follows every ORM change of a recording (its session hook lives there).
import callvault.recordings.tally  # noqa: E402,F401
