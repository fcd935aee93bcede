"""Database engine, sessions, column types and migrations (Alembic in callvault/migrations)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from callvault.parts import part_modules

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: sa.Uuid()}


def load_models() -> sa.MetaData:
    """Import every part's models so the metadata is complete."""
    for _ in part_modules("models"):
        pass
    return Base.metadata


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the pragmas and pooling callvault relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # As many connections as requests can run at once (anyio's 40 worker threads): with
    # SQLAlchemy's default of 5 kept and 10 overflow, bursts of webhooks queued for a connection
    # and opened and closed overflow connections per request, 10-50 ms each on PostgreSQL.
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


T = TypeVar("T")

POOL_SIZE = 20
POOL_OVERFLOW = 20


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (needed for SAVEPOINT).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")


def again_on_a_stale_snapshot(session: Session, work: Callable[[], T]) -> T:
    """Run `work` in the request's session; on SQLite, once more after a stale snapshot.

    In WAL mode a transaction that has read may not write once another connection has
    committed since ("database is locked", SQLITE_BUSY_SNAPSHOT), and waiting cannot help. For
    idempotent work (an autosaved draft) rolling back and doing it again on a fresh snapshot is
    the answer; PostgreSQL never raises this, so there it runs once.
    """
    try:
        return work()
    except sa.exc.OperationalError as exc:
        if session.get_bind().dialect.name != "sqlite" or "database is locked" not in str(exc):
            raise
        session.rollback()
        return work()


def make_sessionmaker(bind: Engine | sa.Connection, **kwargs: Any) -> sessionmaker[Session]:
    return sessionmaker(bind=bind, expire_on_commit=False, **kwargs)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with sessions() as session, session.begin():
        yield session


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def new_id() -> uuid.UUID:
    return uuid.uuid4()
