"""What the DPO is shown about restores: every restore that skipped the erasure journal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry

RESTORE_ACTION = "backup.restore"


@dataclass(frozen=True)
class RestoreNotice:
    at: datetime
    backup_id: str
    seq: int


def restores_without_journal(session: Session, limit: int = 20) -> list[RestoreNotice]:
    """Restores that did not replay the erasure journal, newest first (from the audit trail)."""
    rows = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.at, AuditEntry.object_id, AuditEntry.details)
        .where(AuditEntry.action == RESTORE_ACTION)
        .order_by(AuditEntry.seq.desc())
        .limit(500)
    ).all()
    notices = [
        RestoreNotice(row.at, str(row.object_id), int(row.seq))
        for row in rows
        if (row.details or {}).get("without_journal") is True
    ]
    return notices[:limit]
