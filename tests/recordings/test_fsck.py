"""fsck: finds rows without blob or key and blobs without row; --repair removes the orphans."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.cli import app
from callvault.recordings.models import Recording
from callvault.recordings.service import ingest_recording
from callvault.runtime import Runtime
from callvault.vault.fsck import fsck
from callvault.vault.models import Artifact
from callvault.vault.storage import FileBlobStore, new_blob_name
from tests.recordings.synthetic import meta, wav

NOW = timedelta(0)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture
def stored(session: Session, ingest_runtime: Runtime, started: datetime) -> Recording:
    result = ingest_recording(
        session,
        ingest_runtime,
        io.BytesIO(wav()),
        meta("fsck-1", started),
        actor="system",
        source="cli",
    )
    session.commit()
    recording = session.get(Recording, result.id)
    assert recording is not None
    return recording


def _original(session: Session, recording: Recording) -> Artifact:
    artifact = session.scalar(
        sa.select(Artifact).where(Artifact.owner_id == recording.id, Artifact.kind == "original")
    )
    assert artifact is not None
    return artifact


def _path(rt: Runtime, name: str) -> Path:
    assert isinstance(rt.blobs, FileBlobStore)
    return rt.blobs.root / name[:2] / name


def _orphan_blob(session: Session, rt: Runtime, rec: Recording) -> None:
    rt.blobs.put(new_blob_name(), [b"left by a crash"])


def _missing_blob(session: Session, rt: Runtime, rec: Recording) -> None:
    rt.blobs.delete(_original(session, rec).blob_name)


def _short_blob(session: Session, rt: Runtime, rec: Recording) -> None:
    path = _path(rt, _original(session, rec).blob_name)
    path.write_bytes(path.read_bytes()[:-10])


def _bad_key(session: Session, rt: Runtime, rec: Recording) -> None:
    artifact = _original(session, rec)
    artifact.wrapped_key = bytes(len(artifact.wrapped_key))
    session.commit()


def _half_write(session: Session, rt: Runtime, rec: Recording) -> None:
    assert isinstance(rt.blobs, FileBlobStore)
    (rt.blobs.root / ".tmp" / "deadbeef.tmp").write_bytes(b"half")


def _work_file(session: Session, rt: Runtime, rec: Recording) -> None:
    work = rt.settings.data_dir / "tmp"
    work.mkdir(exist_ok=True)
    (work / "tmpabc123.flac").write_bytes(b"fLaC plaintext audio left by a crash")


CASES: list[tuple[str, Callable[[Session, Runtime, Recording], None], set[str]]] = [
    ("orphan-blob", _orphan_blob, {"blob_without_artifact"}),
    ("missing-blob", _missing_blob, {"artifact_without_blob", "recording_without_original"}),
    ("short-blob", _short_blob, {"artifact_blob_wrong_size", "recording_without_original"}),
    ("unusable-key", _bad_key, {"artifact_key_unusable", "recording_without_original"}),
    ("half-written", _half_write, {"unfinished_blob_write"}),
    ("ingest-work-file", _work_file, {"ingest_work_file"}),
]


def test_a_consistent_store_has_no_findings(stored: Recording, ingest_runtime: Runtime) -> None:
    report = fsck(ingest_runtime, grace=NOW)
    assert (report.findings, report.artifacts, report.blobs) == ([], 2, 2)


@pytest.mark.parametrize(("damage", "kinds"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_fsck_reports_then_repair_leaves_a_consistent_store(
    session: Session,
    ingest_runtime: Runtime,
    stored: Recording,
    damage: Callable[[Session, Runtime, Recording], None],
    kinds: set[str],
) -> None:
    damage(session, ingest_runtime, stored)
    found = fsck(ingest_runtime, grace=NOW)
    # A report names the broken artifact; repairing it leaves its recording without audio,
    # so the repair removes the recording too.
    assert {f.kind for f in found.findings} == kinds - {"recording_without_original"}
    assert not found.consistent
    repaired = fsck(ingest_runtime, repair=True, grace=NOW)
    assert repaired.consistent and {f.kind for f in repaired.findings} == kinds
    assert fsck(ingest_runtime, grace=NOW).findings == []
    session.expire_all()
    names = {n for n in session.scalars(sa.select(Artifact.blob_name))}
    assert names == set(ingest_runtime.blobs.names())


def test_blobs_other_tables_refer_to_are_not_orphans(
    session: Session, ingest_runtime: Runtime, stored: Recording
) -> None:
    from callvault.policy.prompt_audio import upload_prompt_audio
    from callvault.policy.service import version_in_force

    wav_bytes = wav(0.5)
    row = upload_prompt_audio(
        session,
        ingest_runtime,
        version_in_force(session, stored.started_at),
        "sv",
        data=wav_bytes,
        media_type="audio/wav",
        uploaded_by=uuid.uuid4(),
    )
    session.commit()
    os.utime(_path(ingest_runtime, row.blob_name), (0, 0))
    report = fsck(ingest_runtime, repair=True, grace=NOW)
    assert report.findings == []
    assert ingest_runtime.blobs.exists(row.blob_name)


def test_young_orphans_are_left_for_an_ingest_still_committing(
    stored: Recording, ingest_runtime: Runtime
) -> None:
    ingest_runtime.blobs.put(new_blob_name(), [b"in flight"])
    report = fsck(ingest_runtime, repair=True)
    assert report.findings == [] and report.skipped_young == 1


def test_the_command_exits_1_on_problems_and_0_once_repaired(
    stored: Recording, ingest_runtime: Runtime
) -> None:
    name = new_blob_name()
    ingest_runtime.blobs.put(name, [b"orphan"])
    old = (datetime.now().timestamp() - 3600,) * 2
    os.utime(_path(ingest_runtime, name), old)
    runner = CliRunner()
    assert runner.invoke(app, ["fsck"]).exit_code == 1
    result = runner.invoke(app, ["fsck", "--repair"])
    assert result.exit_code == 0 and f"removed: blob_without_artifact {name}" in result.stdout
    assert runner.invoke(app, ["fsck", "--json"]).exit_code == 0
