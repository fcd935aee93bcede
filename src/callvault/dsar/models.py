"""Data-subject access requests (§6, GDPR Art. 15): who asked, by when, and where it stands."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callvault.db import Base, new_id


class DsarStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    CLOSED = "closed"


class SubjectKind(enum.StrEnum):
    CALLER = "caller"
    EMPLOYEE = "employee"


class DataSubjectRequest(Base):
    """One request for access. A caller is found by the keyed hash of their number (never the
    number itself); an employee by their account. The bundle lives in the vault (kind
    "dsar_bundle", owner = this id) and is shredded on closing, on the erasure of the subject's
    recordings, and 30 days after delivery (or after building, if never delivered)."""

    __tablename__ = "dsar_requests"
    __table_args__ = (sa.Index("ix_dsar_requests_status_deadline_at", "status", "deadline_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    subject_kind: Mapped[str] = mapped_column(sa.String(16))
    subject_number_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    subject_account_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("accounts.id"), index=True
    )
    language: Mapped[str] = mapped_column(sa.String(2))
    status: Mapped[str] = mapped_column(sa.String(16), default=DsarStatus.OPEN.value)
    received_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(sa.String(80))
    built_at: Mapped[datetime | None]
    bundle_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    bundle_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    bundle_deleted_at: Mapped[datetime | None]
    bundle_blobs_pending: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
