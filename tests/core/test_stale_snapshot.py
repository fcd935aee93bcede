"""SQLite (WAL): a transaction that read before another connection committed may not write; an
idempotent save is done once more on a fresh snapshot instead of answering 500."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from callvault.db import again_on_a_stale_snapshot, make_engine, make_sessionmaker


def _stale_writer(tmp_path: Path) -> tuple[sa.Engine, object]:
    engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE drafts (id INTEGER PRIMARY KEY, body TEXT)")
        conn.exec_driver_sql("INSERT INTO drafts VALUES (1, 'first')")
    return engine, make_sessionmaker(engine)


def test_a_write_after_another_connections_commit_is_done_again(tmp_path: Path) -> None:
    engine, sessions = _stale_writer(tmp_path)
    attempts: list[int] = []
    with sessions() as session:  # type: ignore[operator]
        session.execute(sa.text("SELECT body FROM drafts")).all()  # the request has read
        with engine.begin() as other:  # another request commits meanwhile
            other.exec_driver_sql("UPDATE drafts SET body = 'other' WHERE id = 1")

        def save() -> str:
            attempts.append(1)
            session.execute(sa.text("UPDATE drafts SET body = 'mine' WHERE id = 1"))
            return "saved"

        assert again_on_a_stale_snapshot(session, save) == "saved"
        session.commit()
    assert len(attempts) == 2  # the first write met the stale snapshot
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT body FROM drafts").scalar() == "mine"
    engine.dispose()


def test_other_database_errors_are_not_retried(tmp_path: Path) -> None:
    engine, sessions = _stale_writer(tmp_path)
    attempts: list[int] = []
    with sessions() as session:  # type: ignore[operator]

        def broken() -> None:
            attempts.append(1)
            session.execute(sa.text("UPDATE no_such_table SET x = 1"))

        with pytest.raises(sa.exc.OperationalError):
            again_on_a_stale_snapshot(session, broken)
    assert len(attempts) == 1
    engine.dispose()
