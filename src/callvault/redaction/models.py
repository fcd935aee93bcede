"""Redaction jobs (status and error code, no personal data) and people's sensitive marks."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callvault.db import Base, new_id


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RedactionJob(Base):
    """The pseudonymisation of one recording: its latest run, and how it ended."""

    __tablename__ = "redaction_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    recording_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("recordings.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), default=JobStatus.QUEUED, index=True)
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    spans: Mapped[int | None]
    masked_s: Mapped[float | None]
    duration_s: Mapped[float | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class SensitiveMark(Base):
    """An interval a person marked as sensitive (e.g. an agent's button); always masked.

    Keyed by the call id so a mark can be made during the call, before the recording exists.
    """

    __tablename__ = "redaction_marks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    call_id: Mapped[str] = mapped_column(sa.String(128), index=True)
    channel: Mapped[int | None]
    start_s: Mapped[float]
    end_s: Mapped[float]
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
