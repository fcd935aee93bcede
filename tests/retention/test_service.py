"""Retention: the boundary, what a deletion removes, its receipt, and resuming after a crash."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.clock import FixedClock
from callvault.consent.models import ConsentEvidence
from callvault.db import transaction
from callvault.errors import NotFound, StorageError
from callvault.recordings.models import Recording
from callvault.retention.models import DeletionReason, DeletionReceipt
from callvault.retention.service import (
    begin_deletion,
    delete_expired_recordings,
    overdue_count,
)
from callvault.runtime import Runtime
from callvault.vault.models import Artifact
from callvault.vault.service import artifact_kinds, open_artifact, store_artifact
from tests.retention.factory import RecordingFactory


def blob_names(session: Session, recording_id: uuid.UUID) -> list[str]:
    return list(
        session.scalars(sa.select(Artifact.blob_name).where(Artifact.owner_id == recording_id))
    )


def reload(session: Session, recording_id: uuid.UUID) -> Recording:
    session.expire_all()
    recording = session.get(Recording, recording_id)
    assert recording is not None
    return recording


@pytest.mark.parametrize(
    ("offset_s", "deleted"),
    [(-1, False), (0, True), (1, True)],
    ids=["one-second-before-stays", "at-expiry-goes", "one-second-after-goes"],
)
def test_retention_boundary(
    session: Session,
    vault_runtime: Runtime,
    clock: FixedClock,
    make_recording: RecordingFactory,
    offset_s: int,
    deleted: bool,
) -> None:
    recording = make_recording(expires_at=clock.now() + timedelta(days=1))
    names = blob_names(session, recording.id)
    evidence_id = recording.consent_evidence_id
    clock.set(recording.expires_at + timedelta(seconds=offset_s))

    result = delete_expired_recordings(vault_runtime)

    after = reload(session, recording.id)
    assert result.overdue_after == 0
    if deleted:
        assert after.state == "deleted"
        assert artifact_kinds(session, recording.id) == []
        assert not any(vault_runtime.blobs.exists(n) for n in names)
        assert session.get(ConsentEvidence, evidence_id) is None
        with pytest.raises(NotFound):
            open_artifact(session, vault_runtime, recording.id, "original")
    else:
        assert after.state == "ready"
        assert artifact_kinds(session, recording.id) == ["metadata", "original", "transcript"]
        assert all(vault_runtime.blobs.exists(n) for n in names)
        assert session.get(ConsentEvidence, evidence_id) is not None
        reader = open_artifact(session, vault_runtime, recording.id, "original")
        assert b"".join(reader.iter()).startswith(b"original of")


def test_deletion_receipt_holds_no_personal_data(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    recording = make_recording(expires_at=clock.now() - timedelta(minutes=5))
    number_hash = recording.caller_number_hash
    call_id = recording.call_id
    assert number_hash is not None

    delete_expired_recordings(vault_runtime)

    receipt = session.scalar(
        sa.select(DeletionReceipt).where(DeletionReceipt.recording_id == recording.id)
    )
    assert receipt is not None
    assert receipt.reason == DeletionReason.RETENTION
    assert receipt.due_at == recording.expires_at
    assert receipt.deleted_at == clock.now()
    assert receipt.pending_blobs == []
    assert receipt.removed["artifacts"] == ["metadata", "original", "transcript"]
    assert receipt.removed["data_keys_destroyed"] == 3
    assert receipt.removed["consent_evidence"] == 1
    text = json.dumps(receipt.removed)
    for personal in (number_hash, "+46701234567", "agent-0001", call_id):
        assert personal not in text


def test_deleted_row_keeps_no_personal_columns(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    recording = make_recording(expires_at=clock.now() - timedelta(minutes=5))
    delete_expired_recordings(vault_runtime)
    after = reload(session, recording.id)
    assert (after.caller_number_enc, after.caller_number_hash, after.consent_evidence_id) == (
        None,
        None,
        None,
    )
    assert (after.agent_id, after.team, after.content_sha256) == ("", None, "")


def test_sweep_leaves_recordings_not_yet_due_untouched(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    due = [make_recording(expires_at=clock.now() - timedelta(hours=h)) for h in (1, 2)]
    kept = [make_recording(expires_at=clock.now() + timedelta(days=d)) for d in (1, 30)]
    kept_before = {r.id: (r.caller_number_hash, blob_names(session, r.id)) for r in kept}

    result = delete_expired_recordings(vault_runtime, batch_size=1)

    assert (result.due, result.begun, result.finished) == (2, 2, 2)
    assert result.blobs_deleted == 6 and result.consent_evidence_deleted == 2
    assert {reload(session, r.id).state for r in due} == {"deleted"}
    for r in kept:
        after = reload(session, r.id)
        assert after.state == "ready"
        assert (after.caller_number_hash, blob_names(session, r.id)) == kept_before[r.id]
        assert all(vault_runtime.blobs.exists(n) for n in kept_before[r.id][1])
        assert session.get(ConsentEvidence, after.consent_evidence_id) is not None


def test_overdue_count_is_the_health_figure_and_zero_after_a_run(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    for hours in (1, 2, 3):
        make_recording(expires_at=clock.now() - timedelta(hours=hours))
    make_recording(expires_at=clock.now() + timedelta(hours=1))
    assert overdue_count(session, clock.now()) == 3
    assert delete_expired_recordings(vault_runtime).overdue_after == 0
    assert overdue_count(session, clock.now()) == 0


def test_dry_run_counts_and_changes_nothing(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    recording = make_recording(expires_at=clock.now() - timedelta(hours=1))
    result = delete_expired_recordings(vault_runtime, dry_run=True)
    assert (result.dry_run, result.due, result.begun, result.overdue_after) == (True, 1, 0, 1)
    assert reload(session, recording.id).state == "ready"
    assert len(blob_names(session, recording.id)) == 3


def test_a_second_run_finds_nothing_and_writes_no_second_receipt(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    make_recording(expires_at=clock.now() - timedelta(hours=1))
    delete_expired_recordings(vault_runtime)
    second = delete_expired_recordings(vault_runtime)
    assert (second.due, second.begun, second.finished) == (0, 0, 0)
    assert session.scalar(sa.select(sa.func.count()).select_from(DeletionReceipt)) == 1


def test_crash_after_phase_one_leaves_nothing_readable_and_the_next_run_finishes(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    recording = make_recording(expires_at=clock.now() - timedelta(hours=1))
    names = blob_names(session, recording.id)
    with transaction(vault_runtime.sessions) as tx:  # phase 1 commits, then the "crash"
        begin_deletion(
            tx,
            vault_runtime,
            Recording.expires_at <= clock.now(),
            reason=DeletionReason.RETENTION,
            now=clock.now(),
        )

    assert reload(session, recording.id).state == "deleting"
    with pytest.raises(NotFound):
        open_artifact(session, vault_runtime, recording.id, "original")
    assert all(vault_runtime.blobs.exists(n) for n in names)  # unreadable: their keys are gone
    assert overdue_count(session, clock.now()) == 1

    result = delete_expired_recordings(vault_runtime)

    assert result.finished == 1 and result.overdue_after == 0
    assert reload(session, recording.id).state == "deleted"
    assert not any(vault_runtime.blobs.exists(n) for n in names)


class FailingBlobStore:
    """Wraps the real store; deletes `allowed` blobs, then fails like an unreachable S3."""

    def __init__(self, inner: object, allowed: int) -> None:
        self.inner = inner
        self.allowed = allowed

    def delete(self, name: str) -> None:
        if self.allowed <= 0:
            raise StorageError("blob storage failed")
        self.allowed -= 1
        self.inner.delete(name)  # type: ignore[attr-defined]

    def __getattr__(self, attr: str) -> object:
        return getattr(self.inner, attr)


@pytest.fixture
def restore_blobs(vault_runtime: Runtime) -> Iterator[None]:
    real = vault_runtime.blobs
    yield
    vault_runtime.__dict__["blobs"] = real


def test_crash_while_deleting_blobs_resumes_on_the_next_run(
    session: Session,
    vault_runtime: Runtime,
    clock: FixedClock,
    make_recording: RecordingFactory,
    restore_blobs: None,
) -> None:
    recordings = [make_recording(expires_at=clock.now() - timedelta(hours=h)) for h in (1, 2)]
    names = [n for r in recordings for n in blob_names(session, r.id)]
    real = vault_runtime.blobs
    vault_runtime.__dict__["blobs"] = FailingBlobStore(real, allowed=2)

    with pytest.raises(StorageError):
        delete_expired_recordings(vault_runtime)

    assert {reload(session, r.id).state for r in recordings} <= {"deleting", "ready"}
    vault_runtime.__dict__["blobs"] = real
    result = delete_expired_recordings(vault_runtime)
    assert result.overdue_after == 0
    assert {reload(session, r.id).state for r in recordings} == {"deleted"}
    assert not any(real.exists(n) for n in names)


def test_an_artifact_stored_after_phase_one_is_shredded_in_phase_two(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    recording = make_recording(expires_at=clock.now() - timedelta(hours=1))
    with transaction(vault_runtime.sessions) as tx:
        begin_deletion(
            tx,
            vault_runtime,
            Recording.id == recording.id,
            reason=DeletionReason.RETENTION,
            now=clock.now(),
        )
    # A transcription job that was already running finishes after phase 1.
    with transaction(vault_runtime.sessions) as tx:
        late = store_artifact(
            tx, vault_runtime, recording.id, "transcript", [b"late"], "application/json"
        )
    delete_expired_recordings(vault_runtime)
    assert artifact_kinds(session, recording.id) == []
    assert not vault_runtime.blobs.exists(late.blob_name)
    receipt = session.scalar(
        sa.select(DeletionReceipt).where(DeletionReceipt.recording_id == recording.id)
    )
    assert receipt is not None and receipt.deleted_at is not None


def _ids(recordings: Iterable[Recording]) -> set[uuid.UUID]:
    return {r.id for r in recordings}


def test_the_sweep_is_audited_with_ids_only(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    from callvault.audit.models import AuditEntry

    recordings = [make_recording(expires_at=clock.now() - timedelta(hours=1)) for _ in range(2)]
    delete_expired_recordings(vault_runtime)
    entries = list(
        session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "retention.delete"))
    )
    assert len(entries) == 1
    assert {uuid.UUID(i) for i in entries[0].details["recordings"]} == _ids(recordings)
    assert "+4670" not in json.dumps(entries[0].details)


@pytest.mark.parametrize(("days", "deleted"), [(89, False), (91, True)])
def test_consent_evidence_without_a_recording_goes_after_the_retention(
    session: Session,
    vault_runtime: Runtime,
    clock: FixedClock,
    make_recording: RecordingFactory,
    days: int,
    deleted: bool,
) -> None:
    recording = make_recording(expires_at=clock.now() + timedelta(days=5))
    orphan = ConsentEvidence(
        call_id="CA-never-recorded",
        digit="1",
        given_at=clock.now() - timedelta(days=days),
        policy_version_id=recording.policy_version_id,
        prompt_sha256="0" * 64,
        prompt_version="v1",
        language="sv",
        source="ivr",
        created_at=clock.now() - timedelta(days=days),
    )
    session.add(orphan)
    session.flush()
    orphan_id, kept_id = orphan.id, recording.consent_evidence_id

    result = delete_expired_recordings(vault_runtime)

    session.expire_all()
    assert (session.get(ConsentEvidence, orphan_id) is None) is deleted
    assert session.get(ConsentEvidence, kept_id) is not None
    assert result.consent_evidence_deleted == int(deleted)
