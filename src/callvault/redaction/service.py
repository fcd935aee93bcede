"""Pseudonymising a stored recording: read it from the vault, run the pipeline, store the variant.

A failure at any step leaves no pseudonymised variant (an older one is withdrawn too, since it
may lack a newer mark), the job row says `failed` with an error code, and the original is
never touched.

Memory does not grow with the call's length beyond the recogniser's input: the original is
decrypted and decoded block by block as it is read, one channel at a time is resampled for
speech recognition, and the masked audio is encoded block by block into an anonymous
temporary file (as ingest does) that is then encrypted into the vault in chunks.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

import numpy as np
import soundfile as sf
import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.db import transaction
from callvault.errors import CallvaultError, InvalidInput, NotFound
from callvault.metrics.instruments import PSEUDONYMISATION_FAILURES
from callvault.recordings.models import Recording, RecordingState
from callvault.redaction.asr import Recogniser, shared_recogniser
from callvault.redaction.audio import Samples, StreamedAudio
from callvault.redaction.files import options_from
from callvault.redaction.masking import mask_blocks
from callvault.redaction.models import JobStatus, RedactionJob, SensitiveMark
from callvault.redaction.pipeline import CallAnalysis, CallMetadata, Mark, analyse_call
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

PSEUDONYMISED_KINDS = ("pseudonymised_audio", "pseudonymised_transcript")
DERIVED_KINDS = ("transcript", "detections", *PSEUDONYMISED_KINDS)
CHANNEL_ROLES = {"agent": 0, "customer": 1}
# A running job whose worker died keeps no heartbeat: its claim (started_at) is its lease. The
# pipeline runs at several times real time, so a claim older than the base plus the call's own
# length is a lost worker, not a slow one.
LEASE_BASE = timedelta(minutes=30)
MAX_ATTEMPTS = 3  # claims a recording may use up before a lost worker counts as a failure
WORKER_LOST = "worker_lost"
# Ingest queues its own job at once; the sweep only backs up the ones still waiting after this.
SWEEP_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class JobView:
    """What the web and API may show about a recording's pseudonymisation (no personal data)."""

    recording_id: uuid.UUID
    status: str
    error_code: str | None
    attempts: int
    spans: int | None
    masked_s: float | None
    started_at: datetime | None
    finished_at: datetime | None


def job_status(session: Session, recording_id: uuid.UUID) -> JobView | None:
    """The latest pseudonymisation job of a recording, or None if none was started."""
    job = session.scalar(sa.select(RedactionJob).where(RedactionJob.recording_id == recording_id))
    if job is None:
        return None
    return JobView(
        job.recording_id,
        job.status,
        job.error_code,
        job.attempts,
        job.spans,
        job.masked_s,
        job.started_at,
        job.finished_at,
    )


def failed_jobs(session: Session, limit: int = 100) -> list[JobView]:
    """Recordings whose pseudonymisation failed, newest first (for the DPO's overview)."""
    ids = session.scalars(
        sa.select(RedactionJob.recording_id)
        .where(RedactionJob.status == JobStatus.FAILED)
        .order_by(RedactionJob.finished_at.desc())
        .limit(limit)
    ).all()
    return [v for i in ids if (v := job_status(session, i)) is not None]


def _job(session: Session, recording_id: uuid.UUID) -> RedactionJob | None:
    return session.scalar(sa.select(RedactionJob).where(RedactionJob.recording_id == recording_id))


def lease_for(duration_s: float) -> timedelta:
    """How long a claimed job may run before its worker counts as lost."""
    return LEASE_BASE + timedelta(seconds=max(duration_s, 0.0))


def _holds_lease(job: RedactionJob, duration_s: float, runtime: Runtime) -> bool:
    return (
        job.status == JobStatus.RUNNING
        and job.started_at is not None
        and job.started_at > runtime.clock.now() - lease_for(duration_s)
    )


def queue_job(session: Session, runtime: Runtime, recording_id: uuid.UUID) -> RedactionJob:
    """Make (or reset) the job row of a recording as queued; the caller enqueues the task."""
    job = _job(session, recording_id)
    if job is None:
        job = RedactionJob(recording_id=recording_id, created_at=runtime.clock.now())
        session.add(job)
    job.status = JobStatus.QUEUED
    job.error_code = None
    session.flush()
    return job


def add_mark(
    session: Session,
    runtime: Runtime,
    *,
    call_id: str,
    start_s: float,
    end_s: float,
    channel: str | None,
    created_by: str,
) -> SensitiveMark:
    """Record a sensitive interval of a call (seconds from the start of the recording)."""
    if not (0 <= start_s < end_s) or end_s - start_s > 4 * 3600:
        raise InvalidInput("a mark needs 0 <= start < end (seconds)")
    if channel is not None and channel not in CHANNEL_ROLES:
        raise InvalidInput("channel must be agent, customer or absent (both)")
    mark = SensitiveMark(
        call_id=call_id,
        channel=CHANNEL_ROLES[channel] if channel else None,
        start_s=float(start_s),
        end_s=float(end_s),
        created_by=created_by[:64],
        created_at=runtime.clock.now(),
    )
    session.add(mark)
    session.flush()
    return mark


def marks_for(session: Session, call_id: str) -> list[Mark]:
    """The call's marks that apply (see `redaction.marks.mark_counts`)."""
    from callvault.redaction.marks import mark_counts

    rows = session.scalars(sa.select(SensitiveMark).where(SensitiveMark.call_id == call_id)).all()
    recording = session.scalar(sa.select(Recording).where(Recording.call_id == call_id))
    return [Mark(r.start_s, r.end_s, r.channel) for r in rows if mark_counts(session, r, recording)]


def pseudonymise_recording(
    runtime: Runtime, recording_id: uuid.UUID, *, recogniser: Recogniser | None = None
) -> JobView:
    """Run the pipeline on a stored recording and store its pseudonymised variant.

    Three short transactions: claim (→ processing), the pipeline outside any transaction, then
    store (→ ready) or record the failure (→ ingested, variant withdrawn, error code kept).
    """
    with transaction(runtime.sessions) as session:
        recording = session.get(Recording, recording_id)
        if recording is None or recording.state in (
            RecordingState.DELETING,
            RecordingState.DELETED,
        ):
            raise NotFound("no such recording")
        current = _job(session, recording_id)
        if current is not None and _holds_lease(current, recording.duration_s, runtime):
            # A second delivery of the same job (ingest and the sweep both queued it).
            log.info("redaction_already_running", recording_id=str(recording_id))
            view = job_status(session, recording_id)
            assert view is not None
            return view
        job = queue_job(session, runtime, recording_id)
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = runtime.clock.now()
        job.finished_at = None
        _set_state(session, recording, RecordingState.PROCESSING)
        call_id = recording.call_id
    log.info("redaction_started", recording_id=str(recording_id))
    try:
        result = _run(runtime, recording_id, call_id, recogniser)
        try:
            _store(runtime, recording_id, result)
        finally:
            result.audio_file.close()
    except Exception as exc:
        code = exc.code if isinstance(exc, CallvaultError) else "internal_error"
        _fail(runtime, recording_id, code)
        log.warning("redaction_failed", recording_id=str(recording_id), error_code=code)
        raise
    log.info("redaction_done", recording_id=str(recording_id), spans=len(result.analysis.spans))
    with runtime.sessions() as session:
        view = job_status(session, recording_id)
    assert view is not None
    return view


@dataclass(frozen=True)
class _Pseudonymised:
    analysis: CallAnalysis
    audio_file: BinaryIO  # the masked audio as FLAC, in an anonymous temporary file
    duration_s: float


def _run(
    runtime: Runtime, recording_id: uuid.UUID, call_id: str, recogniser: Recogniser | None
) -> _Pseudonymised:
    from callvault.policy.identity import identity_in_force
    from callvault.vault.service import open_artifact

    with transaction(runtime.sessions) as session:
        original = open_artifact(session, runtime, recording_id, "original")
        try:
            raw_meta = b"".join(open_artifact(session, runtime, recording_id, "metadata").iter())
            meta_data = json.loads(raw_meta)
        except NotFound:
            meta_data = {"call_id": call_id}
        marks = marks_for(session, call_id)
        identity = identity_in_force(session, runtime.settings)
    meta = CallMetadata.from_mapping(meta_data if isinstance(meta_data, dict) else {})
    audio = StreamedAudio(original.open)
    options = options_from(
        runtime.settings, organisation=(identity.legal_name, identity.short_name)
    )
    analysis = analyse_call(
        audio,
        meta,
        recogniser or shared_recogniser(runtime.settings),
        options=options,
        marks=marks,
    )
    masked = mask_blocks(
        audio.blocks(),
        audio.sample_rate,
        audio.frames,
        audio.channels,
        analysis.intervals,
        options.mask,
    )
    return _Pseudonymised(analysis, _encode_flac(runtime, masked, audio), audio.duration_s)


def _encode_flac(runtime: Runtime, blocks: Iterator[Samples], audio: StreamedAudio) -> BinaryIO:
    """Encode the masked blocks as 16-bit FLAC into an anonymous temporary file (the kernel
    frees it even if the process is killed), rewound for reading."""
    from callvault.vault.fsck import INGEST_WORK_DIR

    work_dir = runtime.settings.data_dir / INGEST_WORK_DIR
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    out = tempfile.TemporaryFile(dir=work_dir)  # noqa: SIM115 (the caller closes it)
    try:
        with sf.SoundFile(
            out,
            "w",
            samplerate=audio.sample_rate,
            channels=audio.channels,
            format="FLAC",
            subtype="PCM_16",
            closefd=False,
        ) as writer:
            for block in blocks:
                writer.write(np.clip(block, -1.0, 1.0))
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out


def _chunks(file: BinaryIO, size: int = 1024 * 1024) -> Iterator[bytes]:
    while chunk := file.read(size):
        yield chunk


def _store(runtime: Runtime, recording_id: uuid.UUID, result: _Pseudonymised) -> None:
    from callvault.vault.service import store_artifact

    def js(data: object) -> list[bytes]:
        return [json.dumps(data, ensure_ascii=False).encode("utf-8")]

    analysis = result.analysis
    with transaction(runtime.sessions) as session:
        store_artifact(session, runtime, recording_id, "transcript", js(analysis.transcript),
                       "application/json")  # fmt: skip
        store_artifact(session, runtime, recording_id, "detections", js(analysis.detections()),
                       "application/json")  # fmt: skip
        store_artifact(session, runtime, recording_id, "pseudonymised_transcript",
                       js(analysis.pseudonymised), "application/json")  # fmt: skip
        store_artifact(session, runtime, recording_id, "pseudonymised_audio",
                       _chunks(result.audio_file), "audio/flac")  # fmt: skip
        job = session.scalar(
            sa.select(RedactionJob).where(RedactionJob.recording_id == recording_id)
        )
        assert job is not None
        job.status = JobStatus.DONE
        job.error_code = None
        job.spans = len(analysis.spans)
        job.masked_s = round(sum(s.end - s.start for s in analysis.spans), 2)
        job.duration_s = round(result.duration_s, 2)
        job.finished_at = runtime.clock.now()
        recording = session.get(Recording, recording_id)
        assert recording is not None
        _set_state(session, recording, RecordingState.READY)


def _fail(runtime: Runtime, recording_id: uuid.UUID, code: str) -> None:
    from callvault.vault.models import Artifact
    from callvault.vault.service import delete_blobs

    with transaction(runtime.sessions) as session:
        stale = session.scalars(
            sa.select(Artifact).where(
                Artifact.owner_id == recording_id, Artifact.kind.in_(PSEUDONYMISED_KINDS)
            )
        ).all()
        names = [a.blob_name for a in stale]
        for artifact in stale:
            session.delete(artifact)
        job = session.scalar(
            sa.select(RedactionJob).where(RedactionJob.recording_id == recording_id)
        )
        if job is not None:
            job.status = JobStatus.FAILED
            job.error_code = code[:64]
            job.finished_at = runtime.clock.now()
            PSEUDONYMISATION_FAILURES.inc()
        recording = session.get(Recording, recording_id)
        if recording is not None and recording.state == RecordingState.PROCESSING:
            _set_state(session, recording, RecordingState.INGESTED)
    if names:
        delete_blobs(runtime, names)


def _set_state(session: Session, recording: Recording, state: str) -> None:
    from callvault.recordings.service import set_state

    set_state(session, recording, state)


def recordings_to_pseudonymise(
    session: Session, now: datetime | None = None, limit: int = 20
) -> list[uuid.UUID]:
    """Ingested recordings with no job yet (the sweep's work list).

    Given `now`, only those ingested more than SWEEP_GRACE ago: ingest queues its own job, and
    the sweep is the backstop for a job that was never queued or was lost with the queue.
    """
    query = sa.select(Recording.id)
    if now is not None:
        query = query.where(Recording.created_at < now - SWEEP_GRACE)
    return list(
        session.scalars(
            query.outerjoin(RedactionJob, RedactionJob.recording_id == Recording.id)
            .where(Recording.state == RecordingState.INGESTED)
            .where(RedactionJob.id.is_(None))
            .order_by(Recording.created_at)
            .limit(limit)
        ).all()
    )


@dataclass(frozen=True)
class Reclaimed:
    """Jobs a lost worker left running: queued again, or failed after MAX_ATTEMPTS claims."""

    requeued: list[uuid.UUID]
    failed: list[uuid.UUID]


def reclaim_stale_jobs(session: Session, runtime: Runtime, limit: int = 20) -> Reclaimed:
    """Take back jobs whose claim outlived its lease (the worker crashed or was killed).

    Persisted in the caller's transaction and idempotent: a reclaimed job is no longer
    `running`, so a second sweep finds nothing. A job that used up its attempts is failed with
    `worker_lost` (a call that kills the worker every time must not loop forever); the caller
    then calls `withdraw_failed` for those after commit.
    """
    now = runtime.clock.now()
    rows = session.execute(
        sa.select(RedactionJob, Recording)
        .join(Recording, Recording.id == RedactionJob.recording_id)
        .where(RedactionJob.status == JobStatus.RUNNING)
        .where(RedactionJob.started_at < now - LEASE_BASE)
        .order_by(RedactionJob.started_at)
        .limit(limit)
        .with_for_update(of=RedactionJob, skip_locked=True)
    ).all()
    requeued: list[uuid.UUID] = []
    failed: list[uuid.UUID] = []
    for job, recording in rows:
        if _holds_lease(job, recording.duration_s, runtime):
            continue
        live = recording.state in (RecordingState.PROCESSING, RecordingState.INGESTED)
        if live and job.attempts < MAX_ATTEMPTS:
            job.status = JobStatus.QUEUED
            job.error_code = None
            _set_state(session, recording, RecordingState.INGESTED)
            requeued.append(recording.id)
        else:
            job.status = JobStatus.FAILED
            job.error_code = WORKER_LOST
            job.finished_at = now
            PSEUDONYMISATION_FAILURES.inc()
            failed.append(recording.id)
        log.warning(
            "redaction_worker_lost",
            recording_id=str(recording.id),
            attempts=job.attempts,
            requeued=live and job.attempts < MAX_ATTEMPTS,
        )
    session.flush()
    return Reclaimed(requeued, failed)


def withdraw_failed(runtime: Runtime, recording_ids: list[uuid.UUID]) -> None:
    """Finish failing reclaimed jobs: no pseudonymised variant, the recording back to ingested."""
    for recording_id in recording_ids:
        _fail(runtime, recording_id, WORKER_LOST)
