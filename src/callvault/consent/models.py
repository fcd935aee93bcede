"""Consent evidence (GDPR Art. 7(1)): what the caller heard, what they pressed and when."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callvault.db import Base, new_id


class ConsentEvidence(Base):
    """Proof of one caller's consent. Lives as long as the recording and is deleted with it."""

    __tablename__ = "consent_evidence"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(sa.String(128), unique=True)
    digit: Mapped[str] = mapped_column(sa.String(1))
    given_at: Mapped[datetime]
    policy_version_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("policy_versions.id"), index=True
    )
    prompt_sha256: Mapped[str] = mapped_column(sa.String(64))
    prompt_version: Mapped[str] = mapped_column(sa.String(40))
    language: Mapped[str] = mapped_column(sa.String(8))
    caller_number_enc: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    caller_number_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    source: Mapped[str] = mapped_column(sa.String(20))  # "ivr" or "ingest"
    created_at: Mapped[datetime]


class ConsentOutcome(Base):
    """How one offer of the consent prompt ended, for the consent rate; nothing about the caller.

    No number, no call id: only when (and on which UTC day), under which policy version, in
    which language and with what outcome ("accepted", "refused", "no_answer", "withdrawn").
    Unlike the evidence it outlives the recording, because it identifies no one.
    """

    __tablename__ = "consent_outcomes"
    __table_args__ = (sa.Index("ix_consent_outcomes_day_version", "day", "policy_version_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    occurred_at: Mapped[datetime]
    day: Mapped[date] = mapped_column(sa.Date)
    policy_version_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("policy_versions.id"))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    language: Mapped[str] = mapped_column(sa.String(8))
    channel: Mapped[str] = mapped_column(sa.String(20))  # "ivr"
