"""Helpers for the audit tests: a chain of entries, and switching the guards off to tamper."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry
from callvault.audit.service import record

ACCOUNT = f"account:{uuid.UUID(int=1)}"


def make_chain(session: Session, n: int) -> list[AuditEntry]:
    return [
        record(
            session,
            actor=ACCOUNT,
            action="recording.play",
            object_type="recording",
            object_id=str(uuid.uuid4()),
            reason=f"Quality review number {i}",
            source="10.0.0.1",
            details={"i": i},
        )
        for i in range(n)
    ]


def allow_tampering(session: Session) -> None:
    """Switch the append-only triggers off inside the test's transaction (rolled back after)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    else:
        for table in ("audit_entries", "audit_checkpoints"):
            for op in ("update", "delete"):
                connection.exec_driver_sql(f"DROP TRIGGER {table}_no_{op}")
