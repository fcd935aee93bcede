"""Bringing a finished provider recording into the vault, then deleting the provider's copy.

Steps, each committed before the next: fetch the media (pending -> fetched), ingest it with the
consent evidence saved when the caller pressed 1 and check duration and checksum (-> ingested),
delete the provider's copy (-> provider_deleted). A failure records an error code and the time
of the next attempt (exponential backoff, capped), and the job is retried until it succeeds:
giving up would leave either a lost recording or a copy with the vendor. After FAIL_AFTER
attempts the state reads "failed" so the IT dashboard shows it.

A refusal by the vault itself (metadata that does not validate, audio or consent it refuses) is
the same on every try, so it is not retried: the job turns "failed_permanently", which the IT
dashboard and `transfer_status` count as an alert. The consented recording stays at the provider
until its retention runs out (IT may fix the cause and `callvault telephony retry` it); then
`discard_expired_failures` deletes the provider's copy and the consent evidence.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import sqlalchemy as sa
import structlog
from pydantic import ValidationError
from sqlalchemy.orm import Session

from callvault.consent.models import ConsentEvidence
from callvault.consent.service import evidence_for_call
from callvault.db import transaction
from callvault.errors import CallvaultError, Conflict, IntegrityError, InvalidInput
from callvault.recordings.service import validation_problems
from callvault.runtime import Runtime
from callvault.telephony.ivr import call_key, write_intent
from callvault.telephony.models import (
    DONE_STATES,
    STOPPED_STATES,
    JobState,
    ProviderRecordingJob,
    TelephonyCall,
)
from callvault.telephony.provider import PROVIDER_ID, FetchedMedia, TelephonyProvider, provider_for
from callvault.telephony.verify import check_duration, check_stored_audio

log = structlog.get_logger(__name__)

BACKOFF_BASE_S = 30
BACKOFF_CAP_S = 3600
FAIL_AFTER = 5
LEASE = timedelta(minutes=15)
DEFAULT_RETENTION = timedelta(days=90)  # §7, when the call's policy version is unknown


class IngestRefused(CallvaultError):
    """The vault refused the fetched recording; trying again would give the same answer."""

    code = "ingest_refused"


@dataclass(frozen=True)
class StepResult:
    """How one pass over a job ended; `retry_in` is set when it must run again."""

    job_id: uuid.UUID
    state: str
    retry_in: float | None = None
    error_code: str | None = None


def backoff_seconds(attempts: int) -> float:
    """30 s, 60 s, 120 s, … capped at one hour."""
    return float(min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_CAP_S))


def register_recording(
    session: Session,
    runtime: Runtime,
    *,
    account_sid: str | None,
    call_sid: str,
    recording_sid: str,
    status: str,
    duration: str | None = None,
    channels: str | None = None,
    started: str | None = None,
) -> ProviderRecordingJob | None:
    """A recording-status callback: one job per RecordingSid, queued after commit (idempotent)."""
    from callvault.telephony.tasks import transfer_recording
    from callvault.worker.queue import enqueue_after_commit

    if not PROVIDER_ID.match(call_sid) or not PROVIDER_ID.match(recording_sid):
        raise InvalidInput("the callback has no usable CallSid or RecordingSid")
    configured = runtime.settings.twilio_account_sid
    if configured and account_sid and account_sid != configured:
        raise InvalidInput("the callback is for another account")
    if status != "completed":
        # "failed"/"absent": the provider has nothing to fetch; nothing to keep either.
        log.warning("provider_recording_not_completed", status=status[:20])
        return None
    write_intent(session)
    existing = session.scalar(
        sa.select(ProviderRecordingJob).where(ProviderRecordingJob.recording_sid == recording_sid)
    )
    if existing is not None:
        return existing
    now = runtime.clock.now()
    call = session.scalar(
        sa.select(TelephonyCall).where(TelephonyCall.call_key == call_key(runtime, call_sid))
    )
    job = ProviderRecordingJob(
        recording_sid=recording_sid,
        call_sid=call_sid,
        state=JobState.PENDING,
        called_number=call.called_number if call else None,
        recording_started_at=_parse_time(started),
        expected_duration_s=_number(duration),
        channels=int(_number(channels) or 0) or None,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(job)
    except sa.exc.IntegrityError:  # the same callback twice at once
        return session.scalar(
            sa.select(ProviderRecordingJob).where(
                ProviderRecordingJob.recording_sid == recording_sid
            )
        )
    job_id = str(job.id)
    enqueue_after_commit(session, lambda: transfer_recording(job_id))
    log.info("provider_recording_registered", job_id=job_id)
    return job


def advance_job(
    runtime: Runtime,
    job_id: uuid.UUID,
    provider: TelephonyProvider | None = None,
    *,
    retry_stopped: bool = False,
) -> StepResult:
    """One pass over the job: as far as it gets; on failure, when to try again.

    A job that failed permanently is passed over unless `retry_stopped` (IT's explicit retry).
    """
    if not _claim(runtime, job_id, retry_stopped=retry_stopped):
        with transaction(runtime.sessions) as session:
            job = session.get(ProviderRecordingJob, job_id)
            state = job.state if job else "missing"
        return StepResult(job_id, state)
    provider = provider or provider_for(runtime.settings)
    workdir = runtime.settings.data_dir / "tmp"
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(prefix="provider-", suffix=".wav", dir=workdir)
    os.close(fd)
    media_path = Path(name)
    try:
        return _run(runtime, job_id, provider, media_path)
    except IngestRefused as exc:
        return _failed_permanently(runtime, job_id, str(exc.context.get("reason", exc.code)))
    except CallvaultError as exc:
        return _failed(runtime, job_id, _error_code(exc))
    except ValidationError as exc:  # its text holds the input values: log field names only
        log.error(
            "provider_transfer_crashed",
            job_id=str(job_id),
            error="ValidationError",
            problems=validation_problems(exc),
        )
        return _failed_permanently(runtime, job_id, "validation")
    except Exception as exc:  # an unexpected bug must not lose the job either
        log.exception("provider_transfer_crashed", job_id=str(job_id))
        return _failed(runtime, job_id, f"crash:{type(exc).__name__}"[:64])
    finally:
        media_path.unlink(missing_ok=True)


def _run(
    runtime: Runtime, job_id: uuid.UUID, provider: TelephonyProvider, media_path: Path
) -> StepResult:
    with transaction(runtime.sessions) as session:
        job = _job(session, job_id)
        recording_sid, call_sid = job.recording_sid, job.call_sid
        ingested = job.recording_id is not None
        has_consent = evidence_for_call(session, call_sid) is not None
    if not ingested and not has_consent:
        # Recorded without consent evidence (should never happen): keep nothing, anywhere.
        provider.delete_recording(recording_sid)
        return _finish(runtime, job_id, JobState.DISCARDED, error_code="no_consent")
    if not ingested:
        media = provider.fetch_recording(recording_sid, media_path)
        with transaction(runtime.sessions) as session:
            job = _job(session, job_id)
            job.state = JobState.FETCHED
            job.media_sha256, job.media_bytes = media.sha256, media.size
            job.updated_at = runtime.clock.now()
        try:
            with transaction(runtime.sessions) as session:
                job = _job(session, job_id)
                job.recording_id = ingest_fetched(session, runtime, job, media)
                job.state = JobState.INGESTED
                job.updated_at = runtime.clock.now()
        except (InvalidInput, Conflict) as exc:
            # Refused by the vault (already audited as a refusal): the same media and metadata
            # would be refused again. The provider's copy stays until retention runs out.
            raise IngestRefused(str(exc), reason=_error_code(exc)) from None
        log.info("provider_recording_ingested", job_id=str(job_id))
    deleted_now = provider.delete_recording(recording_sid)
    with transaction(runtime.sessions) as session:
        job = _job(session, job_id)
        _audit_provider_delete(session, job, deleted_now)
    return _finish(runtime, job_id, JobState.PROVIDER_DELETED)


def ingest_fetched(
    session: Session, runtime: Runtime, job: ProviderRecordingJob, media: FetchedMedia
) -> uuid.UUID:
    """Ingest the fetched media with the call's consent evidence, then check what was stored.

    Runs inside the caller's transaction: a failed check rolls the ingest back and the job
    fetches again next time.
    """
    from callvault.recordings.models import Recording
    from callvault.recordings.service import ingest_recording, validate_metadata

    evidence = evidence_for_call(session, job.call_sid)
    if evidence is None:
        raise IntegrityError("the call's consent evidence is gone")
    meta = validate_metadata(_metadata(runtime, job, evidence, _channels(media)))
    with media.path.open("rb") as audio:
        result = ingest_recording(session, runtime, audio, meta, actor="system", source="worker")
    recording = session.get(Recording, result.id)
    if recording is None:
        raise IntegrityError("the ingested recording is missing")
    check_duration(job.expected_duration_s, recording.duration_s)
    if recording.content_sha256 != media.sha256:
        raise IntegrityError("the vault hashed other bytes than were downloaded")
    check_stored_audio(session, runtime, recording.id, media)
    return recording.id


def _channels(media: FetchedMedia) -> int | None:
    import soundfile as sf

    try:
        return int(sf.info(str(media.path)).channels)
    except (sf.LibsndfileError, RuntimeError):
        return None  # the vault's decoder refuses it with a proper error


def _metadata(
    runtime: Runtime, job: ProviderRecordingJob, evidence: ConsentEvidence, channels: int | None
) -> dict[str, object]:
    from callvault.vault.fields import unseal

    caller = (
        unseal(runtime.keyring, evidence.caller_number_enc, "consent.caller")
        if evidence.caller_number_enc
        else None
    )
    return {
        "call_id": job.call_sid,
        "language": evidence.language,
        "from": caller,
        "to": job.called_number,
        "agent": {"id": "telephony", "name": "Telephony"},
        "customer": None,
        # Twilio's dual-channel <Dial> recording: the caller's leg first, the agent's second.
        "channel_layout": ["customer", "agent"] if channels == 2 else None,
        "started_at": job.recording_started_at or evidence.given_at,
        "consent": {
            "digit": evidence.digit,
            "prompt_version": evidence.prompt_version,
            "at": evidence.given_at,
        },
        "purposes": None,
        "team": None,
    }


def _claim(runtime: Runtime, job_id: uuid.UUID, *, retry_stopped: bool = False) -> bool:
    """Take the job for one pass; False if it is done (or stopped) or another worker holds it."""
    now = runtime.clock.now()
    job = ProviderRecordingJob
    passed_over = DONE_STATES if retry_stopped else STOPPED_STATES
    with transaction(runtime.sessions) as session:
        claimed = session.execute(
            sa.update(job)
            .where(
                job.id == job_id,
                job.state.not_in([s.value for s in passed_over]),
                sa.or_(job.leased_until.is_(None), job.leased_until < now),
            )
            .values(leased_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _finish(
    runtime: Runtime, job_id: uuid.UUID, state: JobState, *, error_code: str | None = None
) -> StepResult:
    with transaction(runtime.sessions) as session:
        job = _job(session, job_id)
        now = runtime.clock.now()
        job.state = state
        job.last_error_code = error_code
        job.leased_until = None
        job.provider_deleted_at = now
        job.updated_at = now
    log.info("provider_recording_done", job_id=str(job_id), state=state.value)
    return StepResult(job_id, state.value)


def _failed(runtime: Runtime, job_id: uuid.UUID, code: str) -> StepResult:
    with transaction(runtime.sessions) as session:
        job = _job(session, job_id)
        now = runtime.clock.now()
        job.attempts += 1
        job.last_error_code = code
        delay = backoff_seconds(job.attempts)
        job.next_attempt_at = now + timedelta(seconds=delay)
        job.leased_until = None
        job.updated_at = now
        if job.attempts >= FAIL_AFTER:
            job.state = JobState.FAILED
        elif job.state == JobState.FETCHED and job.recording_id is None:
            job.state = JobState.PENDING  # the download is gone with the pass; fetch again
        state, attempts = job.state, job.attempts
    log.warning(
        "provider_transfer_failed",
        job_id=str(job_id),
        error=code,
        attempts=attempts,
        retry_in=delay,
    )
    return StepResult(job_id, state, retry_in=delay, error_code=code)


def _failed_permanently(runtime: Runtime, job_id: uuid.UUID, code: str) -> StepResult:
    """Stop retrying, and alert IT: the state is counted on the dashboard and by
    `transfer_status`, the audit trail says so, and the log has an error event."""
    from callvault.audit.service import record

    with transaction(runtime.sessions) as session:
        job = _job(session, job_id)
        now = runtime.clock.now()
        job.attempts += 1
        job.state = JobState.FAILED_PERMANENTLY
        job.last_error_code = code[:64]
        job.leased_until = None
        job.updated_at = now
        record(
            session,
            actor="system",
            action="recording.transfer_failed",
            object_type="provider_recording_job",
            object_id=str(job.id),
            source="worker",
            details={"error": job.last_error_code, "attempts": job.attempts},
            outcome="error",
            at=now,
        )
    log.error("provider_transfer_failed_permanently", job_id=str(job_id), error=code[:64])
    return StepResult(job_id, JobState.FAILED_PERMANENTLY.value, error_code=code[:64])


def discard_expired_failures(
    runtime: Runtime, provider: TelephonyProvider | None = None
) -> list[uuid.UUID]:
    """Permanently failed jobs whose recording's retention has run out (or whose consent is
    withdrawn): delete the provider's copy and the consent evidence; returns the jobs done.

    A provider that fails now is asked again on the next run; the job stays an alert meanwhile.
    """
    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        jobs = session.scalars(
            sa.select(ProviderRecordingJob).where(
                ProviderRecordingJob.state == JobState.FAILED_PERMANENTLY.value
            )
        ).all()
        due = [j.id for j in jobs if _retention_ends(session, j) <= now]
    done: list[uuid.UUID] = []
    for job_id in due:
        provider = provider or provider_for(runtime.settings)
        with transaction(runtime.sessions) as session:
            job = _job(session, job_id)
            sid = job.recording_sid
        try:
            deleted_now = provider.delete_recording(sid)
        except CallvaultError as exc:
            log.warning("provider_copy_delete_failed", job_id=str(job_id), error=_error_code(exc))
            continue
        with transaction(runtime.sessions) as session:
            job = _job(session, job_id)
            evidence = _forget_evidence(session, job.call_sid)
            _audit_provider_delete(session, job, deleted_now, reason="retention_after_failure")
            job.state = JobState.DISCARDED
            job.provider_deleted_at = job.updated_at = runtime.clock.now()
        log.info("failed_transfer_discarded", job_id=str(job_id), consent_evidence=evidence)
        done.append(job_id)
    return done


def _retention_ends(session: Session, job: ProviderRecordingJob) -> datetime:
    """When the recording would have been deleted had it been ingested: its start plus the
    longest retention of the consent's policy version. No evidence left (withdrawn): now."""
    from callvault.policy.models import PolicyPurpose

    evidence = evidence_for_call(session, job.call_sid)
    if evidence is None:
        return job.created_at
    days = session.scalar(
        sa.select(sa.func.max(PolicyPurpose.retention_days)).where(
            PolicyPurpose.policy_version_id == evidence.policy_version_id
        )
    )
    keep = timedelta(days=int(days)) if days else DEFAULT_RETENTION
    return (job.recording_started_at or evidence.given_at) + keep


def _forget_evidence(session: Session, call_sid: str) -> int:
    """Delete the call's consent evidence (call states that point at it let go first)."""
    ids = list(
        session.scalars(sa.select(ConsentEvidence.id).where(ConsentEvidence.call_id == call_sid))
    )
    if not ids:
        return 0
    session.execute(
        sa.update(TelephonyCall)
        .where(TelephonyCall.consent_evidence_id.in_(ids))
        .values(consent_evidence_id=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.delete(ConsentEvidence)
        .where(ConsentEvidence.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return len(ids)


def _error_code(exc: CallvaultError) -> str:
    reason = exc.context.get("reason")
    return f"{exc.code}:{reason}"[:64] if reason else exc.code[:64]


def _job(session: Session, job_id: uuid.UUID) -> ProviderRecordingJob:
    write_intent(session)  # every job transaction writes the job row
    job = session.get(ProviderRecordingJob, job_id)
    if job is None:
        raise InvalidInput("no such provider recording job")
    return job


def _audit_provider_delete(
    session: Session, job: ProviderRecordingJob, deleted_now: bool, *, reason: str | None = None
) -> None:
    from callvault.audit.service import record

    details: dict[str, object] = {"job_id": str(job.id), "already_gone": not deleted_now}
    if reason is not None:
        details["reason"] = reason
    record(
        session,
        actor="system",
        action="recording.provider_delete",
        object_type="recording",
        object_id=str(job.recording_id) if job.recording_id else None,
        source="worker",
        details=details,
    )


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else None
