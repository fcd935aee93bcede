"""Withdrawal: any form of the number finds the same recordings, at once, harmlessly twice."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.clock import FixedClock
from callvault.consent.models import ConsentEvidence
from callvault.errors import InvalidInput, InvalidPhoneNumber, NotFound
from callvault.recordings.models import Recording
from callvault.retention.models import DeletionReceipt
from callvault.runtime import Runtime
from callvault.vault.fields import phone_lookup_hash
from callvault.vault.service import open_artifact
from callvault.withdrawal.models import Withdrawal
from callvault.withdrawal.service import WithdrawalReceipt, withdraw, withdrawn_during
from callvault.worker.queue import huey, immediate
from tests.retention.factory import RecordingFactory

CALLER = "+46701234567"
OTHER = "+46709876543"


def states(session: Session, ids: list[uuid.UUID]) -> set[str]:
    session.expire_all()
    return set(session.scalars(sa.select(Recording.state).where(Recording.id.in_(ids))))


@pytest.fixture
def queue_in_memory() -> Iterator[None]:
    """Enqueued jobs land in memory and are not run (what the API does before a worker runs)."""
    before = huey.url
    huey.use("memory://")
    yield
    huey.use(before)


@pytest.mark.parametrize("written", ["070-123 45 67", "+46 70 123 45 67", "0046701234567"])
def test_withdrawal_by_any_form_of_the_number_finds_the_callers_recordings(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory, written: str
) -> None:
    mine = [make_recording(number=CALLER).id for _ in range(2)]
    theirs = [make_recording(number=OTHER).id]
    with immediate():
        withdraw(session, vault_runtime, number=written, actor="system", channel="cli")
        session.commit()
    assert states(session, mine) == {"deleted"}
    assert states(session, theirs) == {"ready"}


def test_keys_are_destroyed_in_the_same_transaction_before_any_job_runs(
    session: Session,
    vault_runtime: Runtime,
    make_recording: RecordingFactory,
    queue_in_memory: None,
) -> None:
    recording = make_recording(number=CALLER)
    withdraw(session, vault_runtime, number=CALLER, actor="system", channel="api")
    # Not committed, no job run: already unreadable inside the registering transaction.
    with pytest.raises(NotFound):
        open_artifact(session, vault_runtime, recording.id, "original")
    assert states(session, [recording.id]) == {"deleting"}
    session.commit()
    assert huey.pending_count() == 1  # the blob clean-up job, enqueued on commit


def test_the_queued_job_removes_the_blobs(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    from callvault.vault.models import Artifact

    recording = make_recording(number=CALLER)
    names = list(
        session.scalars(sa.select(Artifact.blob_name).where(Artifact.owner_id == recording.id))
    )
    with immediate():
        withdraw(session, vault_runtime, number=CALLER, actor="system", channel="api")
        session.commit()
    assert names and not any(vault_runtime.blobs.exists(n) for n in names)
    receipt = session.scalar(
        sa.select(DeletionReceipt).where(DeletionReceipt.recording_id == recording.id)
    )
    assert receipt is not None and receipt.reason == "withdrawal" and receipt.deleted_at


def test_withdrawal_by_call_reference_takes_every_recording_of_that_caller(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    first = make_recording(number=CALLER)
    second = make_recording(number=CALLER)
    other = make_recording(number=OTHER)
    with immediate():
        withdraw(
            session, vault_runtime, call_reference=first.call_id, actor="system", channel="cli"
        )
        session.commit()
    assert states(session, [first.id, second.id]) == {"deleted"}
    assert states(session, [other.id]) == {"ready"}


def test_withdrawal_by_recording_id_without_a_known_number_takes_that_recording(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    anonymous = make_recording(number=None)
    other = make_recording(number=None)
    with immediate():
        withdraw(
            session,
            vault_runtime,
            call_reference=str(anonymous.id),
            actor="system",
            channel="cli",
        )
        session.commit()
    assert states(session, [anonymous.id]) == {"deleted"}
    assert states(session, [other.id]) == {"ready"}


def test_withdrawing_twice_is_harmless(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    recording = make_recording(number=CALLER)
    with immediate():
        first = withdraw(session, vault_runtime, number=CALLER, actor="system", channel="api")
        session.commit()
        second = withdraw(session, vault_runtime, number=CALLER, actor="system", channel="api")
        session.commit()
    assert first.reference != second.reference
    assert states(session, [recording.id]) == {"deleted"}
    assert session.scalar(sa.select(sa.func.count()).select_from(DeletionReceipt)) == 1


def test_an_unknown_number_gets_the_same_answer_as_a_known_one(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    make_recording(number=CALLER)
    with immediate():
        known = withdraw(session, vault_runtime, number=CALLER, actor="system", channel="api")
        unknown = withdraw(session, vault_runtime, number=OTHER, actor="system", channel="api")
    assert isinstance(known, WithdrawalReceipt) and isinstance(unknown, WithdrawalReceipt)
    assert known.status == unknown.status == "registered"
    assert set(vars(known)) == set(vars(unknown))
    assert len(known.reference) == len(unknown.reference) == 11


def test_consent_evidence_without_a_recording_goes_too(
    session: Session, vault_runtime: Runtime, clock: FixedClock, make_recording: RecordingFactory
) -> None:
    recording = make_recording(number=CALLER)
    evidence = session.get(ConsentEvidence, recording.consent_evidence_id)
    assert evidence is not None
    evidence_id = evidence.id
    recording.consent_evidence_id = None  # as if ingest had not linked it yet
    session.flush()
    with immediate():
        withdraw(session, vault_runtime, number=CALLER, actor="system", channel="ivr")
        session.commit()
    session.expire_all()
    assert session.get(ConsentEvidence, evidence_id) is None


def test_the_withdrawal_is_audited_and_stores_no_number(
    session: Session, vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    from callvault.audit.models import AuditEntry

    recording = make_recording(number=CALLER)
    with immediate():
        receipt = withdraw(session, vault_runtime, number=CALLER, actor="system", channel="api")
    row = session.scalar(sa.select(Withdrawal).where(Withdrawal.reference == receipt.reference))
    assert row is not None
    assert row.caller_number_hash == phone_lookup_hash(vault_runtime.keyring, CALLER)
    entry = session.scalar(
        sa.select(AuditEntry).where(
            AuditEntry.action == "withdrawal.register", AuditEntry.object_id == str(row.id)
        )
    )
    assert entry is not None and entry.source == "api"
    assert entry.details["recordings"] == [str(recording.id)]
    assert CALLER not in str(entry.details)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, InvalidInput),
        ({"number": CALLER, "call_reference": "CA1"}, InvalidInput),
        ({"number": "not a number"}, InvalidPhoneNumber),
        ({"number": CALLER, "channel": "fax"}, InvalidInput),
    ],
)
def test_refuses_what_it_cannot_act_on(
    session: Session, vault_runtime: Runtime, kwargs: dict[str, str], error: type[Exception]
) -> None:
    args = {"actor": "system", "channel": "api", **kwargs}
    with pytest.raises(error):
        withdraw(session, vault_runtime, **args)  # type: ignore[arg-type,unused-ignore]


def test_withdrawn_during_tells_ingest_about_a_withdrawal_after_the_call_began(
    session: Session, vault_runtime: Runtime, clock: FixedClock
) -> None:
    started = clock.now()
    clock.advance(minutes=2)
    withdraw(session, vault_runtime, number=CALLER, actor="system", channel="ivr")
    number_hash = phone_lookup_hash(vault_runtime.keyring, CALLER)
    assert withdrawn_during(session, number_hash, started)
    assert not withdrawn_during(session, number_hash, clock.now() + timedelta(seconds=1))
