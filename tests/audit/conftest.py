"""Fixtures for the audit tests: a scratch database of audit tables that tests may commit to."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from callvault.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from callvault.db import Base, make_engine
from tests.conftest import PG_URL

AUDIT_TABLES = [m.__table__ for m in (AuditEntry, AuditHead, AuditCheckpoint)]


@pytest.fixture
def scratch_engine(tmp_path: Path) -> Iterator[Engine]:
    """A database of its own (PostgreSQL when configured, else a SQLite file) with the audit
    tables, their triggers and the head row; for tests that commit for real."""
    if PG_URL:
        admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
        name = f"callvault_audit_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine = make_engine(admin.url.set(database=name).render_as_string(hide_password=False))
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    Base.metadata.create_all(engine, tables=AUDIT_TABLES)
    try:
        yield engine
    finally:
        engine.dispose()
        if PG_URL:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
