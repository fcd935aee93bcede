"""Crash recovery: SIGKILL a real `callvault worker` mid-sweep, restart it, and check the result.

Runs against its own database (a tmp SQLite file, or a fresh PostgreSQL database when the suite
runs on PostgreSQL), because two processes must see each other's commits.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from callvault.config import Settings
from callvault.consent.models import ConsentEvidence
from callvault.db import make_engine, make_sessionmaker, transaction
from callvault.recordings.models import Recording
from callvault.retention.models import DeletionReceipt
from callvault.runtime import Runtime
from callvault.vault.models import Artifact
from tests.retention.factory import RecordingFactory
from tests.schema import create_schema, own_database

DUE, NOT_DUE, BATCH = 160, 12, 4


@dataclass
class CrashWorld:
    runtime: Runtime
    env: dict[str, str]
    queue_url: str


@pytest.fixture
def own_database_url(tmp_path: Path) -> Iterator[str]:
    with own_database(tmp_path) as url:
        yield url


@pytest.fixture
def world(tmp_path: Path, own_database_url: str) -> Iterator[CrashWorld]:
    secret = secrets.token_urlsafe(48)
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}"
    settings = Settings(
        env="test",
        data_dir=tmp_path / "var",
        database_url=own_database_url,
        queue_url=queue_url,
        secret_key=secret,
    )
    engine = make_engine(own_database_url)
    create_schema(engine)
    runtime = Runtime(settings, engine, make_sessionmaker(engine))
    runtime.keyring.ensure()
    env = {
        **os.environ,
        "CALLVAULT_ENV": "test",
        "CALLVAULT_DATA_DIR": str(settings.data_dir),
        "CALLVAULT_DATABASE_URL": own_database_url,
        "CALLVAULT_QUEUE_URL": queue_url,
        "CALLVAULT_SECRET_KEY": secret,
        "CALLVAULT_RETENTION_BATCH_SIZE": str(BATCH),
    }
    yield CrashWorld(runtime, env, queue_url)
    engine.dispose()


def _timed(label: str, since: float) -> float:
    print(f"{label}: {time.monotonic() - since:.1f}s")
    return time.monotonic()


def _populate(runtime: Runtime) -> tuple[list[uuid.UUID], dict[uuid.UUID, tuple[object, ...]]]:
    from callvault.policy.models import PolicyPurpose, PolicyVersion

    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        version = PolicyVersion(
            number=1,
            effective_from=now - timedelta(days=365),
            approved_by=None,
            change_note="crash test",
            text_sv="Test.",
            text_en="Test.",
            prompt_sv="Tryck 1.",
            prompt_en="Press 1.",
            created_at=now - timedelta(days=365),
        )
        version.purposes.append(
            PolicyPurpose(
                code="training",
                description_sv="t",
                description_en="t",
                retention_days=90,
                variants=["pseudonymised"],
            )
        )
        session.add(version)
        session.flush()
        make = RecordingFactory(session, runtime, version)
        due = [
            make(number=f"+4670{i:07d}", expires_at=now - timedelta(hours=1 + i)).id
            for i in range(DUE)
        ]
        kept = [
            make(number=f"+4673{i:07d}", expires_at=now + timedelta(days=10))
            for i in range(NOT_DUE)
        ]
        snapshot = {r.id: _fingerprint(session, r.id) for r in kept}
    return due, snapshot


def _fingerprint(session: sa.orm.Session, recording_id: uuid.UUID) -> tuple[object, ...]:
    row = session.execute(
        sa.select(
            Recording.state,
            Recording.caller_number_hash,
            Recording.agent_id,
            Recording.consent_evidence_id,
            Recording.content_sha256,
        ).where(Recording.id == recording_id)
    ).one()
    blobs = sorted(
        session.scalars(sa.select(Artifact.blob_name).where(Artifact.owner_id == recording_id))
    )
    return (*row, tuple(blobs))


def _blobs_of(fingerprint: tuple[object, ...]) -> tuple[str, ...]:
    names = fingerprint[-1]
    assert isinstance(names, tuple)
    return tuple(str(n) for n in names)


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from callvault.cli import main; main()", "worker", "-w", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _enqueue_sweep(queue_url: str) -> None:
    """What the periodic schedule does every interval."""
    from callvault.retention.tasks import retention_sweep
    from callvault.worker.queue import huey

    before = huey.url
    huey.use(queue_url)
    try:
        retention_sweep()
    finally:
        huey.use(before)


def _count(runtime: Runtime, query: sa.Select[int]) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.scalar(query) or 0)


@pytest.mark.slow
def test_worker_killed_mid_sweep_resumes_and_touches_nothing_else(world: CrashWorld) -> None:
    runtime = world.runtime
    t = time.monotonic()
    due, kept = _populate(runtime)
    t = _timed("populate", t)
    due_blobs = _count(
        runtime, sa.select(sa.func.count()).select_from(Artifact).where(Artifact.owner_id.in_(due))
    )
    assert due_blobs == 3 * DUE
    receipts = sa.select(sa.func.count()).select_from(DeletionReceipt)
    finished = receipts.where(DeletionReceipt.deleted_at.is_not(None))

    _enqueue_sweep(world.queue_url)
    worker = _start_worker(world.env)
    try:
        deadline = time.monotonic() + 60
        while _count(runtime, finished) < DUE // 3:
            assert time.monotonic() < deadline, "the worker never got going"
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    at_kill = _count(runtime, finished)
    begun_at_kill = _count(runtime, receipts)
    assert at_kill < DUE, "the sweep finished before the kill; nothing was tested"
    print(f"killed with {begun_at_kill} begun and {at_kill} of {DUE} finished")

    t = _timed("first worker", t)
    _enqueue_sweep(world.queue_url)  # the next periodic tick (the killed job died with its worker)
    worker = _start_worker(world.env)
    try:
        deadline = time.monotonic() + 90
        while _count(runtime, finished) < DUE:
            assert time.monotonic() < deadline, "the restarted worker did not finish"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()

    _timed("second worker", t)
    with transaction(runtime.sessions) as session:
        states = dict(session.execute(sa.select(Recording.id, Recording.state)).all())
        assert {states[i] for i in due} == {"deleted"}
        assert session.scalar(receipts) == DUE  # one receipt each: nothing duplicated
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(Artifact).where(Artifact.owner_id.in_(due))
            )
            == 0
        )
        assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEvidence)) == NOT_DUE
        for recording_id, before in kept.items():
            assert _fingerprint(session, recording_id) == before
            assert all(runtime.blobs.exists(name) for name in _blobs_of(before))
    remaining = set(runtime.blobs.names())
    expected = {name for before in kept.values() for name in _blobs_of(before)}
    assert remaining == expected
