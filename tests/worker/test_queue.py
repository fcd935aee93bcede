"""The job queue: storage chosen from the URL, immediate mode, enqueue-after-commit, schedules."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from huey.storage import MemoryStorage, RedisStorage
from sqlalchemy.orm import Session

from callvault.errors import ConfigurationError
from callvault.runtime import Runtime
from callvault.worker.consumer import EmbeddedWorker
from callvault.worker.queue import (
    LazySqliteStorage,
    enqueue_after_commit,
    every_minutes,
    huey,
    immediate,
    storage_for,
)


@huey.task()  # type: ignore[untyped-decorator]
def touch_marker(path: str) -> None:
    """A test job: create a file, so another thread's run is visible."""
    Path(path).write_text("done")


@pytest.fixture
def queue_url_restored() -> Iterator[None]:
    before = huey.url
    yield
    huey.use(before)


@pytest.mark.parametrize(
    ("url", "storage_class"),
    [
        ("sqlite:////tmp/callvault-q/queue.db", LazySqliteStorage),
        ("redis://127.0.0.1:6379/0", RedisStorage),
        ("memory://", MemoryStorage),
    ],
)
def test_storage_for_picks_the_backend_named_by_the_url(url: str, storage_class: type) -> None:
    assert isinstance(storage_for(url), storage_class)


def test_storage_for_refuses_an_unknown_scheme() -> None:
    with pytest.raises(ConfigurationError):
        storage_for("amqp://broker/")


def test_sqlite_queue_file_appears_only_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "queue.db"
    storage = storage_for(f"sqlite:///{path}")
    assert not path.exists()
    storage.enqueue(b"x")
    assert path.exists() and storage.queue_size() == 1


def test_immediate_mode_runs_the_task_in_the_callers_thread(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    with immediate():
        touch_marker(str(marker))
    assert marker.read_text() == "done"
    assert not huey.immediate


@pytest.mark.parametrize(
    ("minutes", "at", "due"),
    [
        (15, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), True),
        (15, datetime(2026, 3, 2, 9, 45, tzinfo=UTC), True),
        (15, datetime(2026, 3, 2, 9, 44, tzinfo=UTC), False),
        (90, datetime(2026, 3, 2, 1, 30, tzinfo=UTC), True),
        (90, datetime(2026, 3, 2, 1, 0, tzinfo=UTC), False),
        (1, datetime(2026, 3, 2, 1, 7, tzinfo=UTC), True),
    ],
)
def test_every_minutes_fires_on_the_interval(minutes: int, at: datetime, due: bool) -> None:
    assert every_minutes(minutes)(at) is due


@pytest.mark.parametrize("commit", [True, False])
def test_enqueue_after_commit_runs_only_when_the_transaction_commits(
    runtime: Runtime, commit: bool
) -> None:
    calls: list[str] = []
    with runtime.sessions() as session:
        session.begin()
        enqueue_after_commit(session, lambda: calls.append("enqueued"))
        assert calls == []
        if commit:
            session.commit()
        else:
            session.rollback()
    assert calls == (["enqueued"] if commit else [])


def test_enqueue_failure_after_commit_is_logged_not_raised(session: Session) -> None:
    def broken() -> None:
        raise ConnectionError("queue down")

    enqueue_after_commit(session, broken)
    session.commit()


def _wait_for(path: Path, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.05)
    return False


def _run_consumer_once(runtime: Runtime, url: str, marker: Path) -> None:
    runtime.settings.queue_url = url
    runtime.settings.__dict__.pop("resolved_queue_url", None)
    worker = EmbeddedWorker(runtime, workers=1, shutdown_timeout=5)
    worker.start()
    try:
        assert huey.url == url
        touch_marker(str(marker))
        assert _wait_for(marker), "the consumer did not run the job"
    finally:
        worker.stop()
    assert not worker.running


def test_a_consumer_runs_jobs_from_the_sqlite_queue(
    runtime: Runtime, tmp_path: Path, queue_url_restored: None
) -> None:
    _run_consumer_once(runtime, f"sqlite:///{tmp_path / 'queue.db'}", tmp_path / "marker")


@pytest.mark.redis
def test_a_consumer_runs_jobs_from_the_redis_queue(
    runtime: Runtime, tmp_path: Path, queue_url_restored: None
) -> None:
    url = os.environ["CALLVAULT_TEST_REDIS"]
    # A queue name of its own keeps parallel runs and other suites off these keys.
    huey.name = f"callvault_test_{uuid.uuid4().hex[:8]}"
    try:
        _run_consumer_once(runtime, url, tmp_path / "marker")
    finally:
        storage = huey.storage
        storage.flush_all()
        huey.name = "callvault"
