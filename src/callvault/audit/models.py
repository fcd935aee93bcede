"""The audit trail's tables: hash-chained entries, the chain head, and signed checkpoints."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import DDL, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column
from sqlalchemy.types import TypeDecorator, UserDefinedType

from callvault.audit.chain import canonical_text
from callvault.db import Base
from callvault.errors import PermissionDenied

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class _PostgresJSON(UserDefinedType[str]):
    """PostgreSQL `json`, which keeps the text exactly as written (jsonb would re-format it)."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "JSON"


class CanonicalJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object stored as its canonical text, so verification can hash the stored bytes.

    SQLite: TEXT. PostgreSQL: JSON (not JSONB: the stored text must stay byte for byte)."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostgresJSON())
        return dialect.type_descriptor(sa.Text())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else canonical_text(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dict[str, Any] | None:
        if value is None or isinstance(value, dict):
            return value
        loaded: dict[str, Any] = json.loads(value)
        return loaded


class AuditEntry(Base):
    """One audited action. Immutable once written; `hash` chains it to the entry before."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(sa.String(80))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str | None] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(128))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str | None] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(16))
    details: Mapped[dict[str, Any]] = mapped_column(CanonicalJSON)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)

    __table_args__ = (
        sa.Index("ix_audit_entries_actor_seq", "actor", "seq"),
        sa.Index("ix_audit_entries_action_seq", "action", "seq"),
        sa.Index("ix_audit_entries_object_seq", "object_type", "object_id", "seq"),
        sa.Index("ix_audit_entries_outcome_at", "outcome", "at"),
    )


class AuditHead(Base):
    """The single row that serialises appends: its seq is the last entry's sequence number."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger)


class AuditCheckpoint(Base):
    """A signature over the chain head (seq, hash, time) by a key kept outside the database."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    hash: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(sa.String(64))
    signature: Mapped[str] = mapped_column(sa.String(128))


APPEND_ONLY_TABLES = ("audit_entries", "audit_checkpoints")

# DDL that create_all cannot express; the migration must carry the same statements.
POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION callvault_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: %% on %% refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def _ddl(statement: str) -> DDL:
    return DDL(statement)  # type: ignore[no-untyped-call]


def _postgresql_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION callvault_audit_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION callvault_audit_append_only()",
    ]


def _sqlite_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: {op} refused'); END"
        for op in ("UPDATE", "DELETE")
    ]


def migration_ddl(dialect: str) -> list[DDL]:
    """Every statement create_all adds after the audit tables, for the Alembic migration:
    `for ddl in migration_ddl(op.get_bind().dialect.name): op.get_bind().execute(ddl)`
    (DDL objects, so `%%` in the PL/pgSQL text is handled exactly as create_all handles it)."""
    statements: list[str] = []
    if dialect == "postgresql":
        statements.append(POSTGRESQL_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            statements.extend(_postgresql_triggers(table))
    elif dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            statements.extend(_sqlite_triggers(table))
    statements.append(HEAD_ROW)
    return [_ddl(statement) for statement in statements]


def _attach_append_only(table: sa.Table) -> None:
    event.listen(table, "after_create", _ddl(POSTGRESQL_FUNCTION).execute_if(dialect="postgresql"))
    for statement in _postgresql_triggers(table.name):
        event.listen(table, "after_create", _ddl(statement).execute_if(dialect="postgresql"))
    for statement in _sqlite_triggers(table.name):
        event.listen(table, "after_create", _ddl(statement).execute_if(dialect="sqlite"))


_attach_append_only(AuditEntry.__table__)  # type: ignore[arg-type]
_attach_append_only(AuditCheckpoint.__table__)  # type: ignore[arg-type]
HEAD_ROW = "INSERT INTO audit_head (id, seq) VALUES (1, 0)"
event.listen(AuditHead.__table__, "after_create", _ddl(HEAD_ROW))


# The application refuses too, so SQLite (and any backend without the triggers) is covered.
_IMMUTABLE = (AuditEntry, AuditCheckpoint)


@event.listens_for(Session, "before_flush")
def _refuse_changes_on_flush(session: Session, _context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, _IMMUTABLE):
            raise PermissionDenied("the audit trail is append-only; deleting entries is refused")
    for obj in session.dirty:
        if isinstance(obj, _IMMUTABLE) and session.is_modified(obj):
            raise PermissionDenied("the audit trail is append-only; changing entries is refused")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and getattr(table, "name", None) in APPEND_ONLY_TABLES:
        raise PermissionDenied("the audit trail is append-only; UPDATE and DELETE are refused")
