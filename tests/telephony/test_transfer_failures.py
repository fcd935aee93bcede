"""A SIP-addressed call is transferred; a recording the vault refuses is not retried for ever:
IT is alerted, and the provider's copy and the consent evidence go when retention runs out."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.consent.models import ConsentEvidence
from callvault.health.service import alert_counts
from callvault.policy.models import PolicyVersion
from callvault.recordings.service import CALLED_MAX
from callvault.runtime import Runtime
from callvault.telephony.models import TelephonyCall
from callvault.telephony.status import transfer_status
from callvault.telephony.tasks import (
    discard_expired_transfer_failures,
    purge_telephony_state,
    sweep_recording_transfers,
)
from callvault.telephony.transfer import advance_job, discard_expired_failures
from callvault.withdrawal.service import withdraw
from tests.telephony.conftest import CALLER, Twilio, call_sid, recording_sid
from tests.telephony.provider_server import ProviderState
from tests.telephony.test_transfer import job, recordings, run_queue, run_scheduled, stereo_wav

SIP_LINE = "sip:support@callvault-prod.sip.twilio.com:5060"
# The recording starts at 09:00:05 on the fixed clock's day (see Twilio.recording_done).
RETENTION_ENDS = timedelta(days=90, seconds=5)


def call_to(twilio: Twilio, provider: ProviderState, to: str, media: bytes) -> None:
    assert twilio.voice(call_sid(), to=to).status_code == 200
    twilio.press(call_sid(), "1")
    provider.recordings[recording_sid()] = media
    assert twilio.recording_done(call_sid(), recording_sid()).status_code == 204


@pytest.mark.parametrize(
    "to",
    [SIP_LINE, "sip:+46812345600@sip.example.test;transport=tls", "+46 8 123 456 00 ankn. 12345"],
    ids=["sip-uri", "sip-uri-params", "long-number"],
)
def test_a_call_to_a_sip_uri_or_long_number_is_ingested(
    twilio: Twilio, provider: ProviderState, session: Session, to: str
) -> None:
    call_to(twilio, provider, to, stereo_wav())

    assert run_queue() == 1

    done = job(session)
    assert (done.state, done.last_error_code) == ("provider_deleted", None)
    assert done.called_number == to
    assert len(recordings(session)) == 1
    assert provider.deleted == [recording_sid()]


def test_the_called_line_columns_hold_the_longest_accepted_value(session: Session) -> None:
    for table in ("telephony_calls", "telephony_recording_jobs"):
        column = sa.inspect(session.get_bind()).get_columns(table)
        width = next(c["type"].length for c in column if c["name"] == "called_number")
        assert width >= CALLED_MAX


def refused(twilio: Twilio, provider: ProviderState, session: Session) -> None:
    """A consented call whose media the vault refuses (not audio at all)."""
    call_to(twilio, provider, SIP_LINE, b"RIFF" + b"\x00" * 400)
    assert run_queue() == 1
    failed = job(session)
    assert failed.state == "failed_permanently"


def test_a_refused_ingest_stops_retrying_and_alerts_it(
    twilio: Twilio, provider: ProviderState, session: Session, clock: FixedClock, runtime: Runtime
) -> None:
    refused(twilio, provider, session)
    failed = job(session)
    assert failed.attempts == 1 and failed.last_error_code.startswith("invalid_audio")

    assert run_scheduled() == 0  # no retry was scheduled
    clock.advance(days=2)
    sweep_recording_transfers.call_local()
    assert run_queue() == 0  # and the sweep does not requeue it
    assert advance_job(runtime, failed.id).state == "failed_permanently"  # a stale message
    assert provider.fetches() == 1

    status = transfer_status(session)
    assert status.failed_permanently == 1 and not status.healthy
    assert [p.recording_sid for p in status.permanent] == [recording_sid()]
    assert status.pending_provider_deletions == 1  # the copy is still there, for now
    assert alert_counts(runtime) == {"transfers_failed_permanently": 1}
    audited = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "recording.transfer_failed")
    ).one()
    assert audited.outcome == "error" and audited.object_id == str(failed.id)
    assert recordings(session) == [] and recording_sid() in provider.recordings


def test_metadata_that_does_not_validate_fails_permanently_without_logging_values(
    twilio: Twilio,
    provider: ProviderState,
    session: Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    odd_line = 'sip:"support"@callvault.example.test'  # quotes are refused in `to`
    call_to(twilio, provider, odd_line, stereo_wav())

    run_queue()

    failed = job(session)
    assert failed.state == "failed_permanently"
    assert failed.last_error_code == "invalid_input"
    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert "input_value" not in text and "support" not in text and CALLER not in text
    assert "provider_transfer_failed_permanently" in text


def test_the_provider_copy_and_evidence_go_when_retention_runs_out(
    twilio: Twilio, provider: ProviderState, session: Session, clock: FixedClock, runtime: Runtime
) -> None:
    refused(twilio, provider, session)
    start = clock.now()

    clock.set(start + RETENTION_ENDS - timedelta(seconds=1))
    assert discard_expired_failures(runtime) == []
    purge_telephony_state.call_local()  # the evidence of a refused transfer is not "unused"
    assert recording_sid() in provider.recordings
    assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEvidence)) == 1

    clock.set(start + RETENTION_ENDS)
    discard_expired_transfer_failures.call_local()

    gone = job(session)
    assert (gone.state, gone.provider_deleted_at) == ("discarded", clock.now())
    assert gone.last_error_code is not None  # the cause stays readable
    assert provider.deleted == [recording_sid()] and provider.recordings == {}
    assert session.scalar(sa.select(sa.func.count()).select_from(ConsentEvidence)) == 0
    assert session.scalar(sa.select(TelephonyCall.consent_evidence_id)) is None
    deletion = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "recording.provider_delete")
    ).one()
    assert deletion.details["reason"] == "retention_after_failure"
    assert transfer_status(session).failed_permanently == 0


def test_a_withdrawal_deletes_the_provider_copy_of_a_refused_transfer_at_once(
    twilio: Twilio, provider: ProviderState, session: Session, runtime: Runtime
) -> None:
    refused(twilio, provider, session)
    withdraw(session, runtime, number=CALLER, actor="system", channel="web")
    session.commit()

    assert discard_expired_failures(runtime) == [job(session).id]

    assert provider.deleted == [recording_sid()]


def test_a_failing_provider_delete_is_tried_again_next_run(
    twilio: Twilio, provider: ProviderState, session: Session, clock: FixedClock, runtime: Runtime
) -> None:
    refused(twilio, provider, session)
    clock.advance(days=91)
    provider.fail_deletes = 1

    assert discard_expired_failures(runtime) == []
    assert job(session).state == "failed_permanently"
    assert [uuid.UUID(str(i)) for i in discard_expired_failures(runtime)] == [job(session).id]
    assert job(session).state == "discarded"


def test_it_may_retry_a_permanent_failure_once_the_cause_is_fixed(
    twilio: Twilio, provider: ProviderState, session: Session, runtime: Runtime
) -> None:
    refused(twilio, provider, session)
    provider.recordings[recording_sid()] = stereo_wav()  # say, the provider re-rendered it

    result = advance_job(runtime, job(session).id, retry_stopped=True)

    assert result.state == "provider_deleted"
    assert len(recordings(session)) == 1


def test_a_caller_who_waited_in_the_queue_after_pressing_1_is_recorded(
    twilio: Twilio,
    provider: ProviderState,
    session: Session,
    clock: FixedClock,
    version: PolicyVersion,
) -> None:
    """Consent at 08:40, the agent answers (the recording starts) at 09:00:05: the press was
    saved by our IVR in this very call, so the 10-minute rule for posted consent is no bar."""
    answered = clock.now()
    version.effective_from = answered - timedelta(days=1)
    session.commit()
    clock.set(answered - timedelta(minutes=20))
    twilio.voice(call_sid())
    twilio.press(call_sid(), "1")
    clock.set(answered)
    provider.recordings[recording_sid()] = stereo_wav()
    assert twilio.recording_done(call_sid(), recording_sid()).status_code == 204

    run_queue()

    assert job(session).state == "provider_deleted"
    assert len(recordings(session)) == 1
