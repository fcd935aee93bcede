"""Crash safety: an ingesting process killed with SIGKILL at random points, at least 50 times.

After every kill each recording is either complete (row, blobs, keys, decrypting to exactly the
audio that was sent) or absent, and fsck --repair leaves a consistent store.
"""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import random
import secrets
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from callvault.config import Settings
from callvault.db import load_models, transaction
from callvault.policy.models import PolicyPurpose, PolicyVersion
from callvault.runtime import Runtime, set_runtime
from tests.recordings.synthetic import encode, meta, pcm16, tone
from tests.schema import own_database

KILLS = 50
# Imported once by the fork server, so each victim starts ingesting within milliseconds.
PRELOAD = [
    "callvault.audit.service",
    "callvault.consent.service",
    "callvault.policy.service",
    "callvault.recordings.service",
    "callvault.vault.service",
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "tests.recordings.test_crash",
]
# Mappers configured at import, so the fork server hands every victim a warm ORM.
load_models()
sa.orm.configure_mappers()
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def _audio(index: int) -> bytes:
    samples = tone(0.25 + (index % 4) * 0.25, seed=index)
    return encode(samples, "FLAC" if index % 3 == 0 else "WAV")


def _settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=database_url,
        secret_key=SecretStr(secrets.token_urlsafe(48)),
    )


def _ingest_forever(database_url: str, data_dir: str, first: int, ready: Any) -> None:
    """The victim: ingests call after call (and now and then repeats one) until killed.

    It says it is ready after its first commit, so each kill lands in the steady state of
    ingesting (connections open, code warm), not in start-up.
    """
    from callvault.recordings.service import ingest_recording

    runtime = Runtime.from_settings(_settings(database_url, Path(data_dir)))
    set_runtime(runtime)
    index = first
    while True:
        call = index - 1 if index % 5 == 4 else index  # a repeat takes the idempotent path
        with transaction(runtime.sessions) as session:
            ingest_recording(
                session,
                runtime,
                io.BytesIO(_audio(call)),
                meta(f"crash-{call}", START),
                actor="system",
                source="cli",
            )
        ready.set()
        index += 1


@pytest.fixture
def crash_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own that really commits: PostgreSQL when configured, else SQLite."""
    with own_database(tmp_path) as url:
        yield url


def _prepare(engine: Engine, runtime: Runtime) -> None:
    load_models().create_all(engine)
    runtime.keyring.ensure()
    with transaction(runtime.sessions) as session:
        version = PolicyVersion(
            number=1,
            effective_from=START - timedelta(days=365),
            approved_by=None,
            change_note="crash test",
            text_sv="Test.",
            text_en="Test.",
            prompt_sv="Tryck 1.",
            prompt_en="Press 1.",
            created_at=START,
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


def _verify(runtime: Runtime, checked: set[uuid.UUID]) -> int:
    """Every recording complete, every artifact owned; new recordings decrypted and compared."""
    from callvault.consent.models import ConsentEvidence
    from callvault.recordings.models import Recording
    from callvault.vault.models import Artifact
    from callvault.vault.service import open_artifact, unwrap_data_key

    with transaction(runtime.sessions) as session:
        recordings = session.scalars(sa.select(Recording)).all()
        artifacts = session.scalars(sa.select(Artifact)).all()
        by_owner: dict[uuid.UUID, dict[str, Artifact]] = {}
        for artifact in artifacts:
            by_owner.setdefault(artifact.owner_id, {})[artifact.kind] = artifact
        assert set(by_owner) <= {r.id for r in recordings}, "artifacts without a recording"
        for rec in recordings:
            kinds = by_owner.get(rec.id, {})
            assert set(kinds) == {"original", "metadata"}, f"incomplete recording {rec.id}"
            assert session.get(ConsentEvidence, rec.consent_evidence_id) is not None
            for artifact in kinds.values():
                assert runtime.blobs.stat(artifact.blob_name).size == artifact.sealed_size
                unwrap_data_key(runtime.keyring, artifact)
            if rec.id in checked:
                continue
            index = int(rec.call_id.removeprefix("crash-"))
            sent = _audio(index)
            stored = open_artifact(session, runtime, rec.id, "original").read()
            if index % 3 == 0:
                assert stored == sent
            else:
                assert np.array_equal(pcm16(stored), pcm16(sent))
            posted = json.loads(open_artifact(session, runtime, rec.id, "metadata").read())
            assert posted["call_id"] == rec.call_id
            checked.add(rec.id)
        return len(recordings)


def test_sigkill_during_ingest_leaves_each_recording_complete_or_absent(
    crash_database: str, tmp_path: Path
) -> None:
    from callvault.vault.fsck import fsck

    data_dir = tmp_path / "var"
    runtime = Runtime.from_settings(_settings(crash_database, data_dir))
    set_runtime(runtime)
    _prepare(runtime.engine, runtime)
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    rng = random.Random(20260302)  # noqa: S311 (test timing, not security)
    checked: set[uuid.UUID] = set()
    orphans_repaired = 0
    spent = dict.fromkeys(("start", "verify", "fsck"), 0.0)
    try:
        for kill in range(KILLS):
            runtime.engine.dispose()
            ready = ctx.Event()
            victim = ctx.Process(
                target=_ingest_forever, args=(crash_database, str(data_dir), kill * 1000, ready)
            )
            began = time.perf_counter()
            victim.start()
            assert ready.wait(30), "the ingesting process did not start"
            spent["start"] += time.perf_counter() - began
            victim.join(rng.uniform(0.0, 0.3))
            assert victim.is_alive(), f"the ingesting process died by itself ({victim.exitcode})"
            os.kill(victim.pid, signal.SIGKILL)  # type: ignore[arg-type]
            victim.join()
            assert victim.exitcode == -signal.SIGKILL

            began = time.perf_counter()
            _verify(runtime, checked)
            spent["verify"] += time.perf_counter() - began
            began = time.perf_counter()
            report = fsck(runtime, repair=True, grace=timedelta(0))
            assert report.consistent
            assert {f.kind for f in report.findings} <= {
                "blob_without_artifact",
                "unfinished_blob_write",
                "ingest_work_file",
            }
            orphans_repaired += len(report.findings)
            assert fsck(runtime, grace=timedelta(0)).findings == []
            spent["fsck"] += time.perf_counter() - began
        total = _verify(runtime, set())  # finally: decrypt and compare every recording again
    finally:
        set_runtime(None)
        runtime.engine.dispose()
    print(f"{KILLS} kills, {total} complete recordings, {orphans_repaired} orphans repaired")
    print("seconds spent: " + ", ".join(f"{k} {v:.1f}" for k, v in spent.items()))
    # Orphans come from kills between a blob's write and the commit, the window that matters.
    assert total >= KILLS
    assert orphans_repaired > 0
