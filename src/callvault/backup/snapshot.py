"""A consistent copy of the database while callvault runs: SQLite's online backup API, or
pg_dump inside an exported snapshot that the backup's own reads share."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from callvault.errors import ConfigurationError, StorageError

SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"


@dataclass(frozen=True)
class SnapshotFacts:
    """What the backup reads from the same snapshot it copies."""

    audit_seq: int | None
    audit_hash: str | None
    blobs: list[tuple[str, int]]  # (blob name, sealed size) of every artifact
    kek_ids: list[str]


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ConfigurationError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _facts(connection: sa.Connection) -> SnapshotFacts:
    head = connection.exec_driver_sql(
        "SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1"
    ).first()
    blobs = [
        (str(r[0]), int(r[1]))
        for r in connection.exec_driver_sql(
            "SELECT blob_name, sealed_size FROM vault_artifacts ORDER BY blob_name"
        )
    ]
    keks = [
        str(r[0]) for r in connection.exec_driver_sql("SELECT DISTINCT kek_id FROM vault_artifacts")
    ]
    return SnapshotFacts(
        int(head[0]) if head else None, str(head[1]) if head else None, blobs, sorted(keks)
    )


def snapshot_database(url: str, engine: Engine, out: Path) -> tuple[str, SnapshotFacts]:
    """Copy the database into `out`; returns the file name and the facts read from the copy."""
    if url.startswith("sqlite"):
        target = out / SQLITE_FILE
        try:
            with (
                closing(sqlite3.connect(sqlite_path(url), timeout=30)) as src,
                closing(sqlite3.connect(target)) as dst,
            ):
                src.backup(dst)  # one step: a read transaction holds the whole copy consistent
                dst.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error as exc:
            raise StorageError(f"the database could not be copied ({type(exc).__name__})") from None
        copy = sa.create_engine(f"sqlite:///{target}")
        try:
            with copy.connect() as connection:
                return SQLITE_FILE, _facts(connection)
        finally:
            copy.dispose()
    return PG_FILE, _pg_dump(url, engine, out / PG_FILE)


def _pg_dump(url: str, engine: Engine, target: Path) -> SnapshotFacts:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise ConfigurationError(
            "pg_dump is not installed: install the PostgreSQL client tools "
            "(Debian: postgresql-client) of the server's major version"
        )
    with engine.connect() as connection:
        connection.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ")
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        facts = _facts(connection)
        done = subprocess.run(  # noqa: S603 (fixed program, no shell)
            [pg_dump, "-Fc", "--no-owner", f"--snapshot={snapshot}", "-f", str(target)]
            + [libpq_url(url)],
            capture_output=True,
            check=False,
        )
        connection.exec_driver_sql("COMMIT")
    if done.returncode != 0:
        raise StorageError(f"pg_dump failed (exit {done.returncode})")
    return facts


def restore_database(url: str, engine: Engine, source: Path) -> None:
    """Replace the configured database with the copy (the engine's connections are closed)."""
    engine.dispose()
    if source.name == SQLITE_FILE:
        live = sqlite_path(url)
        live.parent.mkdir(parents=True, exist_ok=True)
        try:
            with (
                closing(sqlite3.connect(source)) as src,
                closing(sqlite3.connect(live, timeout=30)) as dst,
            ):
                src.backup(dst)
                dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise StorageError(
                f"the database could not be restored ({type(exc).__name__})"
            ) from None
    else:
        pg_restore = shutil.which("pg_restore")
        if pg_restore is None:
            raise ConfigurationError("pg_restore is not installed (postgresql-client)")
        done = subprocess.run(  # noqa: S603 (fixed program, no shell)
            [pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction"]
            + ["-d", libpq_url(url), str(source)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise StorageError(f"pg_restore failed (exit {done.returncode})")
    engine.dispose()
