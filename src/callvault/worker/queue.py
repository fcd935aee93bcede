"""The one job queue (huey): a SQLite file in the data dir by default, Redis for redis:// URLs.

Tasks live in `<part>/tasks.py`, take ids only, and call service functions with `get_runtime()`.
The queue is a trigger, never the record of what must happen: every job re-reads the database
state it acts on (a recording in state "deleting", a delivered DSAR past its 30 days), so a job
lost with a killed worker is redone by the next periodic sweep, and a job run twice finds nothing
left to do.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from huey import Huey, MemoryHuey, RedisHuey
from huey.storage import BaseStorage, MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy.orm import Session

from callvault.config import Settings
from callvault.errors import ConfigurationError

log = structlog.get_logger(__name__)

QUEUE_NAME = "callvault"


class LazySqliteStorage(SqliteStorage):  # type: ignore[misc]
    """huey's SQLite storage, but the file and its tables appear on first use, not at import."""

    def __init__(self, name: str = QUEUE_NAME, filename: str = "queue.db", **kwargs: Any) -> None:
        kwargs["create_tables"] = False
        super().__init__(name, filename=filename, **kwargs)

    def _create_connection(self) -> sqlite3.Connection:
        Path(self.filename).parent.mkdir(parents=True, exist_ok=True)
        conn: sqlite3.Connection = super()._create_connection()
        for ddl in self.ddl:
            conn.execute(ddl)
        return conn


def storage_for(url: str, name: str = QUEUE_NAME) -> BaseStorage:
    """The huey storage a queue URL names: sqlite:///path, redis://..., rediss://..., memory://."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage(name, url=url)
    if url.startswith("sqlite:///"):
        return LazySqliteStorage(name, filename=url.removeprefix("sqlite:///"))
    if url == "memory://":
        return MemoryStorage(name)
    raise ConfigurationError(
        "CALLVAULT_QUEUE_URL must start with sqlite:///, redis:// or memory://"
    )


def is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


class CallvaultHuey(Huey):  # type: ignore[misc]
    """A huey whose storage comes from a queue URL and can be re-pointed (tests, `--queue-url`)."""

    def __init__(self, url: str, name: str = QUEUE_NAME) -> None:
        self.url = url
        # Results are not kept: jobs report through the database, and a result store would only
        # grow. The storage class is fixed per URL in get_storage below.
        super().__init__(name, results=False, utc=True)

    def get_storage(self, **kwargs: Any) -> BaseStorage:
        return storage_for(self.url, self.name)

    def enqueue(self, task: Any) -> Any:
        # The task id carries the time it was first queued (a retry keeps it), so the metrics
        # can tell how long the oldest job has waited; huey's messages have no such field.
        if getattr(task, "id", None) is not None and enqueued_at(str(task.id)) is None:
            task.id = stamped_task_id(time.time())
        return super().enqueue(task)

    def use(self, url: str) -> None:
        """Point the queue at another URL; registered tasks stay registered."""
        self.url = url
        self.storage = self.create_storage()


def stamped_task_id(at: float) -> str:
    """A UUID in the version-7 layout: 48 bits of Unix milliseconds, then random bits."""
    millis = int(at * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64
    value |= (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def enqueued_at(task_id: str) -> float | None:
    """When a task with a stamped id was first queued (Unix seconds); None for other ids."""
    try:
        value = uuid.UUID(task_id)
    except ValueError:
        return None
    if value.version != 7:
        return None
    return (value.int >> 80) / 1000.0


def queued_jobs() -> dict[str, tuple[int, float | None]]:
    """Jobs waiting in the queue, by task name: (how many, when the oldest was first queued).

    Reads the messages without running or removing them; a message that cannot be read (another
    version's task) is counted under "unknown".
    """
    load_task_modules()
    # Every known task gets a figure, 0 when none waits, so alert rules always have a series.
    found: dict[str, tuple[int, float | None]] = {
        str(key).rsplit(".", 1)[-1]: (0, None) for key in huey._registry._registry
    }
    for data in huey.storage.enqueued_items():
        try:
            message = huey.serializer.deserialize(data)
            name = str(message.name).rsplit(".", 1)[-1]
            at = enqueued_at(str(message.id))
        except Exception:  # a foreign message must not break the count
            name, at = "unknown", None
        count, oldest = found.get(name, (0, None))
        if at is not None and (oldest is None or at < oldest):
            oldest = at
        found[name] = (count + 1, oldest)
    return found


def _import_time_url() -> str:
    return Settings().resolved_queue_url


huey: CallvaultHuey = CallvaultHuey(_import_time_url())

__all__ = [
    "huey",
    "every_minutes",
    "enqueue_after_commit",
    "immediate",
    "load_task_modules",
    "RedisHuey",
    "MemoryHuey",
]


def every_minutes(minutes: int) -> Callable[[datetime], bool]:
    """A periodic-task schedule firing every `minutes` minutes, counted from midnight UTC."""
    if minutes < 1:
        raise ConfigurationError("an interval must be at least one minute")

    def due(at: datetime) -> bool:
        return (at.hour * 60 + at.minute) % minutes == 0

    return due


def load_task_modules() -> list[str]:
    """Import every part's `tasks` module so the worker knows every job; returns their names."""
    from callvault.parts import part_modules

    return [module.__name__ for module in part_modules("tasks")]


def enqueue_after_commit(session: Session, call: Callable[[], object]) -> None:
    """Run `call` (typically `some_task(id)`) once the session's transaction commits.

    A job enqueued before commit could run before its rows are visible, and one enqueued in a
    transaction that then rolls back would act on nothing. If the enqueue itself fails (queue
    down), the periodic sweep still finds the committed state and does the work.
    """

    def _after_commit(_session: Session) -> None:
        try:
            call()
        except Exception as exc:  # the database state is committed; the sweep will catch up
            log.warning("enqueue_failed", error=type(exc).__name__)

    sa.event.listen(session, "after_commit", _after_commit, once=True)


@contextmanager
def immediate() -> Iterator[CallvaultHuey]:
    """Run tasks synchronously in the caller's thread (tests): `with immediate(): task(id)`."""
    previous = huey.immediate
    huey.immediate = True
    try:
        yield huey
    finally:
        huey.immediate = previous
