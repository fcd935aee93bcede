"""A DSAR bundle never outlives its request or the recordings it copies (§6, §7).

Every path that ends a bundle, on the fixed clock: closing, withdrawal, retention, 30 days after
delivery, 30 days after building when never delivered, and the hourly catch-up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.dsar.models import DataSubjectRequest
from callvault.dsar.service import (
    BUNDLE_KIND,
    build_bundle,
    close,
    delete_shredded_bundle_blobs,
    deliver,
    open_bundle,
    open_request,
    purge_expired_bundles,
)
from callvault.errors import Conflict, NotFound
from callvault.retention.service import delete_expired_recordings
from callvault.runtime import Runtime
from callvault.vault.models import Artifact
from callvault.vault.service import has_artifact
from callvault.withdrawal.models import Withdrawal
from callvault.withdrawal.service import withdraw
from callvault.worker.queue import immediate
from tests.dsar.test_api import client_as
from tests.retention.factory import RecordingFactory

SUBJECT = "+46701234567"


@pytest.fixture(autouse=True)
def _jobs_run_now() -> Iterator[None]:
    """Jobs queued after a commit (the blob deletion) run at once."""
    with immediate():
        yield


def built_request(session: Session, runtime: Runtime) -> tuple[DataSubjectRequest, str]:
    request = open_request(session, runtime, number=SUBJECT, actor="system", source="test")
    build_bundle(session, runtime, request.id, actor="system", source="test")
    session.commit()
    blob = session.scalar(sa.select(Artifact.blob_name).where(Artifact.owner_id == request.id))
    assert blob is not None
    return request, blob


def assert_gone(session: Session, runtime: Runtime, request_id: uuid.UUID, blob: str) -> None:
    session.expire_all()
    assert not has_artifact(session, request_id, BUNDLE_KIND)
    with pytest.raises(NotFound):
        open_bundle(session, runtime, request_id, actor="system", source="test")
    delete_shredded_bundle_blobs(runtime)  # what the queued job and the hourly purge do
    assert not runtime.blobs.exists(blob)
    refreshed = session.get(DataSubjectRequest, request_id)
    assert refreshed is not None and refreshed.bundle_deleted_at is not None
    assert refreshed.bundle_blobs_pending == []


def deletion_reasons(session: Session, request_id: uuid.UUID) -> list[object]:
    entries = session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.action == "dsar.bundle_delete", AuditEntry.object_id == str(request_id)
        )
    )
    return [entry.details.get("reason") for entry in entries]


def test_closing_an_undelivered_request_shreds_its_bundle(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    make_recording(number=SUBJECT)
    request, blob = built_request(session, vault_runtime)

    close(session, vault_runtime, request.id, actor="system", source="test")
    session.commit()

    assert_gone(session, vault_runtime, request.id, blob)
    assert deletion_reasons(session, request.id) == ["closed"]


def test_closing_a_delivered_request_shreds_its_bundle_before_the_30_days(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    make_recording(number=SUBJECT)
    request, blob = built_request(session, vault_runtime)
    deliver(session, vault_runtime, request.id, actor="system", source="test")
    close(session, vault_runtime, request.id, actor="system", source="test")
    session.commit()

    assert_gone(session, vault_runtime, request.id, blob)


def test_withdrawal_shreds_the_subjects_bundle(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    make_recording(number=SUBJECT)
    request, blob = built_request(session, vault_runtime)
    withdraw(session, vault_runtime, number="070-123 45 67", actor="system", channel="web")
    session.commit()

    assert_gone(session, vault_runtime, request.id, blob)
    assert deletion_reasons(session, request.id) == ["withdrawal"]


def test_withdrawal_of_a_caller_without_recordings_shreds_the_bundle_of_their_evidence(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    recording = make_recording(number=SUBJECT)
    request, blob = built_request(session, vault_runtime)
    # The recording went by retention already; the bundle still holds the consent evidence.
    recording.state = "deleted"
    recording.caller_number_hash = None
    session.flush()

    withdraw(session, vault_runtime, number=SUBJECT, actor="system", channel="web")
    session.commit()

    assert_gone(session, vault_runtime, request.id, blob)


def test_withdrawal_by_call_reference_shreds_the_bundle(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    recording = make_recording(number=SUBJECT)
    request, blob = built_request(session, vault_runtime)

    withdraw(
        session, vault_runtime, call_reference=recording.call_id, actor="system", channel="web"
    )
    session.commit()

    assert_gone(session, vault_runtime, request.id, blob)


def test_retention_of_a_copied_recording_shreds_the_bundle(
    session: Session,
    vault_runtime: Runtime,
    clock: FixedClock,
    make_recording: RecordingFactory,
) -> None:
    make_recording(number=SUBJECT, expires_at=clock.now() + timedelta(days=3))
    request, blob = built_request(session, vault_runtime)
    clock.advance(days=2)
    delete_expired_recordings(vault_runtime)
    session.expire_all()
    assert has_artifact(session, request.id, BUNDLE_KIND)  # not yet due

    clock.advance(days=1)
    delete_expired_recordings(vault_runtime)

    assert_gone(session, vault_runtime, request.id, blob)
    assert deletion_reasons(session, request.id) == ["retention"]


def test_retention_of_somebody_elses_recording_leaves_the_bundle(
    session: Session,
    vault_runtime: Runtime,
    clock: FixedClock,
    make_recording: RecordingFactory,
) -> None:
    make_recording(number=SUBJECT, expires_at=clock.now() + timedelta(days=60))
    make_recording(number="+46709876543", expires_at=clock.now() + timedelta(days=1))
    request, _ = built_request(session, vault_runtime)
    clock.advance(days=2)

    assert delete_expired_recordings(vault_runtime).begun == 1

    session.expire_all()
    assert has_artifact(session, request.id, BUNDLE_KIND)


@pytest.mark.parametrize(("offset_s", "purged"), [(-1, False), (1, True)])
def test_a_bundle_never_delivered_is_shredded_thirty_days_after_building(
    session: Session,
    vault_runtime: Runtime,
    clock: FixedClock,
    make_recording: RecordingFactory,
    offset_s: int,
    purged: bool,
) -> None:
    make_recording(number=SUBJECT, expires_at=clock.now() + timedelta(days=80))
    request, blob = built_request(session, vault_runtime)
    clock.advance(days=30, seconds=offset_s)

    assert purge_expired_bundles(vault_runtime) == int(purged)

    if purged:
        assert_gone(session, vault_runtime, request.id, blob)
        assert deletion_reasons(session, request.id) == ["undelivered_30_days"]
        with pytest.raises(Conflict):  # nothing left to deliver: build again first
            deliver(session, vault_runtime, request.id, actor="system", source="test")
    else:
        session.expire_all()
        assert has_artifact(session, request.id, BUNDLE_KIND)


def test_four_hundred_days_on_every_kind_of_bundle_is_gone(
    session: Session,
    vault_runtime: Runtime,
    clock: FixedClock,
    make_recording: RecordingFactory,
) -> None:
    """The review's reproduction: built and closed undelivered, built and delivered, built and
    left; 400 days on, nothing of any of them can be read and no blob is left."""
    make_recording(number=SUBJECT, expires_at=clock.now() + timedelta(days=500))
    left, left_blob = built_request(session, vault_runtime)
    delivered, delivered_blob = built_request(session, vault_runtime)
    deliver(session, vault_runtime, delivered.id, actor="system", source="test")
    session.commit()
    clock.advance(days=400)

    purge_expired_bundles(vault_runtime)

    for request, blob in ((left, left_blob), (delivered, delivered_blob)):
        assert_gone(session, vault_runtime, request.id, blob)


def test_a_build_racing_a_withdrawal_is_shredded_by_the_hourly_purge(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    """A bundle that committed after the withdrawal's shredding ran (it read the recordings
    before they were erased) is found by the purge: a withdrawal at or after its building."""
    make_recording(number=SUBJECT)
    request, blob = built_request(session, vault_runtime)
    assert request.subject_number_hash is not None
    session.add(
        Withdrawal(
            reference="W-TEST-0001",
            caller_number_hash=request.subject_number_hash,
            by="number",
            channel="web",
            actor="system",
            registered_at=vault_runtime.clock.now(),
        )
    )
    session.commit()

    assert purge_expired_bundles(vault_runtime) == 1

    assert_gone(session, vault_runtime, request.id, blob)


def test_a_rebuild_after_shredding_is_readable_again(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    make_recording(number=SUBJECT, expires_at=clock.now() + timedelta(days=80))
    request, blob = built_request(session, vault_runtime)
    clock.advance(days=31)
    purge_expired_bundles(vault_runtime)
    assert_gone(session, vault_runtime, request.id, blob)

    build_bundle(session, vault_runtime, request.id, actor="system", source="test")

    assert open_bundle(session, vault_runtime, request.id, actor="system", source="test").size
    assert deliver(session, vault_runtime, request.id, actor="system", source="test").delivered_at


def _built_over_http(client: TestClient) -> str:
    opened = client.post("/api/v1/dsars", json={"subject": "caller", "number": SUBJECT})
    dsar = str(opened.json()["id"])
    assert client.post(f"/api/v1/dsars/{dsar}/build").status_code == 202
    assert client.get(f"/api/v1/dsars/{dsar}/bundle").status_code == 200
    return dsar


def test_the_api_gives_no_bundle_after_closing(
    vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    make_recording(number=SUBJECT)
    client = client_as(vault_runtime, "dpo")
    dsar = _built_over_http(client)

    closed = client.post(f"/api/v1/dsars/{dsar}/close").json()

    assert closed["bundle_deleted_at"] is not None
    assert client.get(f"/api/v1/dsars/{dsar}/bundle").status_code == 404


def test_the_api_gives_no_bundle_after_the_subject_withdraws(
    vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    make_recording(number=SUBJECT)
    client = client_as(vault_runtime, "dpo")
    dsar = _built_over_http(client)
    with vault_runtime.sessions() as session, session.begin():
        withdraw(session, vault_runtime, number=SUBJECT, actor="system", channel="web")

    assert client.get(f"/api/v1/dsars/{dsar}/bundle").status_code == 404
