"""Shared fixtures: a database per test run (SQLite, or PostgreSQL via CALLVAULT_TEST_PG), a
transaction per test rolled back at the end, a controllable clock and a runtime over them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.db import make_engine, make_sessionmaker
from callvault.policy.models import PolicyPurpose, PolicyVersion
from callvault.runtime import Runtime, set_runtime
from tests.schema import create_schema, own_database

PG_URL = os.environ.get("CALLVAULT_TEST_PG")
REDIS_URL = os.environ.get("CALLVAULT_TEST_REDIS")


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = f"PostgreSQL {PG_URL}" if PG_URL else "SQLite (set CALLVAULT_TEST_PG for PostgreSQL)"
    redis = REDIS_URL or "not configured; Redis suites are skipped (set CALLVAULT_TEST_REDIS)"
    return [f"database: {database}", f"redis: {redis}"]


REQUIRE_SERVICES = os.environ.get("CALLVAULT_REQUIRE_SERVICES") == "1"


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_SERVICES and not (PG_URL and REDIS_URL):
        raise pytest.UsageError(
            "CALLVAULT_REQUIRE_SERVICES=1 needs CALLVAULT_TEST_PG and CALLVAULT_TEST_REDIS"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="PostgreSQL suite: set CALLVAULT_TEST_PG")
    skip_redis = pytest.mark.skip(reason="Redis suite: set CALLVAULT_TEST_REDIS")
    for item in items:
        if "postgres" in item.keywords and not PG_URL:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not REDIS_URL:
            item.add_marker(skip_redis)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this test run, created here and dropped at the end."""
    with own_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    create_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[sa.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
    )


@pytest.fixture
def runtime(
    settings: Settings, engine: Engine, connection: sa.Connection, clock: FixedClock
) -> Iterator[Runtime]:
    """A runtime whose sessions all join the test's rolled-back transaction."""
    sessions = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
    rt = Runtime(settings=settings, engine=engine, sessions=sessions, clock=clock)
    set_runtime(rt)
    yield rt
    set_runtime(None)


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    with runtime.sessions() as s:
        yield s


@pytest.fixture
def policy_version(session: Session, clock: FixedClock) -> PolicyVersion:
    """A synthetic policy version in force, with the two purposes of the real policy."""
    version = PolicyVersion(
        number=1,
        effective_from=clock.now() - timedelta(days=365),
        approved_by=None,
        change_note="test version",
        text_sv="Testpolicy.",
        text_en="Test policy.",
        prompt_sv="Tryck 1 för att spelas in, 2 för att inte spelas in.",
        prompt_en="Press 1 to be recorded, 2 not to be recorded.",
        created_at=clock.now() - timedelta(days=365),
    )
    for code in ("training", "quality_assurance"):
        version.purposes.append(
            PolicyPurpose(
                code=code,
                description_sv=code,
                description_en=code,
                retention_days=90,
                variants=["pseudonymised"] if code == "training" else ["pseudonymised", "original"],
            )
        )
    session.add(version)
    session.flush()
    return version
