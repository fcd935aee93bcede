"""Deletion receipts (§7): proof that a recording was deleted, holding no personal data."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from callvault.consent.models import ConsentEvidence
from callvault.db import Base, new_id


class DeletionReason(enum.StrEnum):
    RETENTION = "retention"
    WITHDRAWAL = "withdrawal"


class DeletionReceipt(Base):
    """One recording's deletion: why, when it was due, when it happened and what went.

    Written in the same transaction that destroys the recording's data keys and marks it
    "deleting" (phase 1); `deleted_at` is set once its blobs are gone (phase 2). `pending_blobs`
    holds the random blob names still to remove, so a crash between the phases loses nothing.
    No foreign key to recordings: the receipt must outlive anything done to that row.
    """

    __tablename__ = "deletion_receipts"
    __table_args__ = (
        # Only unfinished deletions are looked up by phase 2 and the health figure.
        sa.Index(
            "ix_deletion_receipts_unfinished_due_at",
            "due_at",
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    recording_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    reason: Mapped[str] = mapped_column(sa.String(16))
    withdrawal_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    due_at: Mapped[datetime]
    started_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    removed: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    pending_blobs: Mapped[list[str]] = mapped_column(sa.JSON)


# The sweep finds consent evidence whose call never became a recording by age
# (`delete_unused_consent_evidence`); without this index that would read the whole table.
sa.Index(
    "ix_consent_evidence_policy_version_id_given_at",
    ConsentEvidence.policy_version_id,
    ConsentEvidence.given_at,
)
