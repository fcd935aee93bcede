"""Fixtures for the audit tests: a scratch database of audit tables that tests may commit to."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine, make_url

from callvault.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from callvault.db import Base, make_engine
from tests.conftest import PG_URL

AUDIT_TABLES = [m.__table__ for m in (AuditEntry, AuditHead, AuditCheckpoint)]


@pytest.fixture
def scratch_engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    """Audit tables of their own (a scratch schema on PostgreSQL, else a SQLite file), with
    their triggers and head row, for tests that commit for real."""
    if PG_URL:
        # A schema of its own in the run's database: much cheaper than a database per test.
        admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
        name = f"audit_scratch_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        # In the URL, not connect_args: verification workers connect again from the URL.
        url = make_url(database_url).update_query_dict({"options": f"-c search_path={name}"})
        engine = make_engine(url.render_as_string(hide_password=False))
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    Base.metadata.create_all(engine, tables=AUDIT_TABLES)
    try:
        yield engine
    finally:
        engine.dispose()
        if PG_URL:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
            admin.dispose()
