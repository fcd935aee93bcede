"""A consented call's recording goes from the provider into the vault, checked, and the
provider's copy is deleted; failures are retried with backoff and never lost."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import numpy as np
import pytest
import soundfile as sf
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.consent.models import ConsentEvidence
from callvault.recordings.models import Recording
from callvault.telephony.models import ProviderRecordingJob
from callvault.telephony.status import transfer_status
from callvault.telephony.tasks import sweep_recording_transfers
from callvault.telephony.transfer import FAIL_AFTER
from callvault.telephony.verify import pcm_sha256
from callvault.worker.queue import huey
from tests.telephony.conftest import (
    ACCOUNT_SID,
    CALLER,
    Twilio,
    call_sid,
    recording_sid,
)
from tests.telephony.provider_server import ProviderState


def stereo_wav(seconds: float = 3.0) -> bytes:
    t = np.arange(int(8000 * seconds)) / 8000
    samples = np.stack([0.3 * np.sin(2 * np.pi * 300 * t), 0.3 * np.sin(2 * np.pi * 500 * t)], 1)
    buffer = io.BytesIO()
    sf.write(buffer, samples, 8000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def run_queue() -> int:
    """Execute what is queued now (not what is scheduled for later); returns how many provider
    transfers ran. Everything queued runs: an ingest also queues the pseudonymisation job."""
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += task.name == "transfer_recording"
    return ran


def run_scheduled() -> int:
    """Execute every scheduled retry as if its time had come."""
    run_queue()  # a retry enqueued with a delay moves to the schedule when dequeued early
    later = datetime(2100, 1, 1)
    due = huey.read_schedule(later)
    for task in due:
        huey.execute(task, timestamp=later)
    return len(due)


def consented_call(
    twilio: Twilio, provider: ProviderState, n: int = 1, caller: str = CALLER
) -> None:
    twilio.voice(call_sid(n), caller=caller)
    twilio.press(call_sid(n), "1", caller=caller)
    provider.recordings[recording_sid(n)] = stereo_wav()
    assert twilio.recording_done(call_sid(n), recording_sid(n)).status_code == 204


def job(session: Session, n: int = 1) -> ProviderRecordingJob:
    session.expire_all()
    return session.scalars(
        sa.select(ProviderRecordingJob).where(
            ProviderRecordingJob.recording_sid == recording_sid(n)
        )
    ).one()


def recordings(session: Session) -> list[Recording]:
    return list(session.scalars(sa.select(Recording)))


def test_consented_recording_is_ingested_and_the_provider_copy_deleted(
    twilio: Twilio, provider: ProviderState, session: Session
) -> None:
    consented_call(twilio, provider)
    assert run_queue() == 1

    done = job(session)
    assert (done.state, done.attempts, done.last_error_code) == ("provider_deleted", 0, None)
    assert provider.deleted == [recording_sid()]
    assert provider.recordings == {}
    assert all(authorised for _, _, authorised in provider.requests)
    (recording,) = recordings(session)
    evidence = session.scalars(sa.select(ConsentEvidence)).one()
    assert recording.consent_evidence_id == evidence.id  # the evidence saved at digit 1
    assert evidence.source == "ivr"
    assert recording.call_id == call_sid()
    assert recording.channel_layout == ["customer", "agent"]
    assert recording.duration_s == pytest.approx(3.0)
    assert done.recording_id == recording.id
    assert done.media_sha256 == recording.content_sha256
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "recording.provider_delete")
        )
        == 1
    )


def test_failed_fetch_is_retried_with_backoff_and_never_lost(
    twilio: Twilio, provider: ProviderState, session: Session, clock: FixedClock
) -> None:
    provider.fail_fetches = 2
    consented_call(twilio, provider)

    run_queue()
    first = job(session)
    assert (first.state, first.attempts, first.last_error_code) == (
        "pending",
        1,
        "provider_error:http_503",
    )
    assert first.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert recordings(session) == [] and recording_sid() in provider.recordings

    assert run_scheduled() == 1
    second = job(session)
    assert second.attempts == 2
    assert second.next_attempt_at == clock.now() + timedelta(seconds=60)

    assert run_scheduled() == 1
    assert job(session).state == "provider_deleted"
    assert len(recordings(session)) == 1
    assert provider.fetches() == 3 and provider.deleted == [recording_sid()]


def test_a_lost_queue_message_is_found_by_the_sweep(
    twilio: Twilio, provider: ProviderState, session: Session, clock: FixedClock
) -> None:
    provider.fail_fetches = 1
    consented_call(twilio, provider)
    run_queue()
    huey.flush()  # the worker's queue is lost with the retry in it
    assert huey.scheduled_count() == 0

    sweep_recording_transfers.call_local()
    assert run_queue() == 0  # not due yet: the sweep respects the backoff
    clock.advance(seconds=31)
    sweep_recording_transfers.call_local()
    assert run_queue() == 1
    assert job(session).state == "provider_deleted"
    assert len(recordings(session)) == 1


def test_a_truncated_download_is_fetched_again(
    twilio: Twilio, provider: ProviderState, session: Session
) -> None:
    provider.truncate_fetches = 1
    consented_call(twilio, provider)
    run_queue()
    assert job(session).last_error_code == "provider_error:transport"
    assert recordings(session) == []
    run_scheduled()
    assert job(session).state == "provider_deleted"
    assert len(recordings(session)) == 1


def test_a_failed_delete_is_retried_without_ingesting_again(
    twilio: Twilio, provider: ProviderState, session: Session
) -> None:
    provider.fail_deletes = 1
    consented_call(twilio, provider)
    run_queue()
    stuck = job(session)
    assert (stuck.state, stuck.last_error_code) == ("ingested", "provider_error:http_500")
    status = transfer_status(session)
    assert status.pending_provider_deletions == 1
    assert [(p.ingested, p.attempts) for p in status.failed] == [(True, 1)]

    run_scheduled()
    assert job(session).state == "provider_deleted"
    assert provider.fetches() == 1 and len(recordings(session)) == 1
    assert transfer_status(session).pending_provider_deletions == 0


def test_repeated_failures_show_as_failed_and_are_still_retried(
    twilio: Twilio, provider: ProviderState, session: Session
) -> None:
    provider.fail_fetches = FAIL_AFTER
    consented_call(twilio, provider)
    run_queue()
    for _ in range(FAIL_AFTER - 1):
        run_scheduled()
    failed = job(session)
    assert (failed.state, failed.attempts) == ("failed", FAIL_AFTER)
    status = transfer_status(session)
    assert status.counts["failed"] == 1 and not status.healthy
    assert status.failed[0].last_error_code == "provider_error:http_503"

    run_scheduled()
    assert job(session).state == "provider_deleted"


def test_duplicate_recording_callbacks_make_one_job(
    twilio: Twilio, provider: ProviderState, session: Session
) -> None:
    consented_call(twilio, provider)
    assert twilio.recording_done(call_sid(), recording_sid()).status_code == 204
    assert session.scalar(sa.select(sa.func.count()).select_from(ProviderRecordingJob)) == 1
    assert run_queue() == 1
    assert twilio.recording_done(call_sid(), recording_sid()).status_code == 204
    assert run_queue() == 0
    assert len(recordings(session)) == 1 and provider.fetches() == 1


def test_a_recording_without_consent_is_deleted_at_the_provider_not_kept(
    twilio: Twilio, provider: ProviderState, session: Session
) -> None:
    twilio.voice(call_sid())
    twilio.press(call_sid(), "2")
    provider.recordings[recording_sid()] = stereo_wav()
    twilio.recording_done(call_sid(), recording_sid())
    run_queue()
    discarded = job(session)
    assert (discarded.state, discarded.last_error_code) == ("discarded", "no_consent")
    assert provider.deleted == [recording_sid()] and provider.fetches() == 0
    assert recordings(session) == []


def test_consent_withdrawn_before_the_transfer_leaves_nothing(
    twilio: Twilio, provider: ProviderState, session: Session
) -> None:
    consented_call(twilio, provider)
    twilio.voice(call_sid(2))
    twilio.press(call_sid(2), "9")  # the same caller withdraws on a second call
    run_queue()
    assert job(session).state == "discarded"
    assert provider.deleted == [recording_sid()] and recordings(session) == []


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [("RecordingStatus", "absent", 204), ("AccountSid", "AC" + "9" * 32, 422)],
)
def test_callbacks_that_bring_nothing_make_no_job(
    twilio: Twilio, session: Session, field: str, value: str, status: int
) -> None:
    twilio.voice(call_sid())
    twilio.press(call_sid(), "1")
    params = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid(),
        "RecordingSid": recording_sid(),
        "RecordingStatus": "completed",
        field: value,
    }
    assert twilio.post("/telephony/twilio/recording-status", params).status_code == status
    assert session.scalar(sa.select(sa.func.count()).select_from(ProviderRecordingJob)) == 0


def test_pcm_checksum_matches_flac_of_the_same_samples(tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    wav_path, flac_path, other = base / "a.wav", base / "a.flac", base / "b.flac"
    wav_path.write_bytes(stereo_wav())
    data, rate = sf.read(wav_path, dtype="int16")
    sf.write(flac_path, data, rate, format="FLAC")
    data[100, 0] += 1
    sf.write(other, data, rate, format="FLAC")
    assert pcm_sha256(wav_path) == pcm_sha256(flac_path)
    assert pcm_sha256(wav_path) != pcm_sha256(other)


def test_evidence_of_a_call_that_was_never_recorded_is_forgotten(
    twilio: Twilio, provider: ProviderState, session: Session, clock: FixedClock
) -> None:
    from callvault.telephony.housekeeping import purge_finished
    from callvault.telephony.tasks import purge_telephony_state

    consented_call(twilio, provider, 1)  # recorded and transferred
    run_queue()
    twilio.voice(call_sid(2))
    twilio.press(call_sid(2), "1")  # consented, but the agent never answered: no recording
    consented_call(twilio, provider, 3)  # recorded, transfer still failing
    provider.fail_fetches = 99
    run_queue()
    assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEvidence)) == 3

    assert purge_finished(session, clock.now() + timedelta(days=1))[2] == 0  # too early
    clock.advance(days=3)
    purge_telephony_state.call_local()
    session.expire_all()
    kept = set(session.scalars(sa.select(ConsentEvidence.call_id)))
    assert kept == {call_sid(1), call_sid(3)}
