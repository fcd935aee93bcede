"""Tests that the audit tables are append-only: database triggers and the application refuse."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.models import AuditCheckpoint, AuditEntry
from callvault.audit.service import record
from callvault.errors import PermissionDenied


@pytest.fixture
def entry(session: Session) -> AuditEntry:
    return record(
        session,
        actor="system",
        action="retention.delete",
        object_type="recording",
        object_id="123e4567-e89b-12d3-a456-426614174000",
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET reason = 'rewritten' WHERE seq = :seq",
        "UPDATE audit_entries SET hash = prev_hash WHERE seq = :seq",
        "DELETE FROM audit_entries WHERE seq = :seq",
        "UPDATE audit_checkpoints SET seq = 0 WHERE seq = :seq",
        "DELETE FROM audit_checkpoints WHERE seq = :seq",
    ],
)
def test_database_trigger_refuses_update_and_delete(
    session: Session, entry: AuditEntry, statement: str
) -> None:
    connection = session.connection()
    if "audit_checkpoints" in statement:
        session.add(
            AuditCheckpoint(seq=entry.seq, hash=entry.hash, at=entry.at, key_id="k", signature="s")
        )
        session.flush()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), connection.begin_nested():
        connection.execute(sa.text(statement), {"seq": entry.seq})


@pytest.mark.postgres
def test_postgresql_trigger_refuses_truncate(session: Session, entry: AuditEntry) -> None:
    connection = session.connection()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), connection.begin_nested():
        connection.exec_driver_sql("TRUNCATE audit_entries CASCADE")


def test_application_refuses_changing_an_entry(session: Session, entry: AuditEntry) -> None:
    entry.reason = "rewritten"
    with pytest.raises(PermissionDenied, match="append-only"):
        session.flush()


def test_application_refuses_deleting_an_entry(session: Session, entry: AuditEntry) -> None:
    session.delete(entry)
    with pytest.raises(PermissionDenied, match="append-only"):
        session.flush()


@pytest.mark.parametrize(
    "statement",
    [
        sa.update(AuditEntry).values(reason="rewritten"),
        sa.delete(AuditEntry),
        sa.delete(AuditEntry.__table__),
    ],
    ids=["orm-update", "orm-delete", "core-delete"],
)
def test_application_refuses_bulk_statements(
    session: Session, entry: AuditEntry, statement: sa.Executable
) -> None:
    with pytest.raises(PermissionDenied, match="append-only"):
        session.execute(statement)


def test_migration_ddl_installs_the_same_guards(session: Session, entry: AuditEntry) -> None:
    from callvault.audit.models import APPEND_ONLY_TABLES, migration_ddl
    from tests.audit.helpers import allow_tampering

    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        for table in APPEND_ONLY_TABLES:
            for name in ("append_only", "no_truncate"):
                connection.exec_driver_sql(f"DROP TRIGGER {table}_{name} ON {table}")
    else:
        allow_tampering(session)
    connection.exec_driver_sql("DELETE FROM audit_head")
    for ddl in migration_ddl(dialect):
        connection.execute(ddl)
    assert connection.exec_driver_sql("SELECT seq FROM audit_head").scalar() == 0
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), connection.begin_nested():
        connection.execute(sa.text("DELETE FROM audit_entries WHERE seq = :s"), {"s": entry.seq})
