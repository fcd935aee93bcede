"""Ingest (§4, §7): only recordings with consent, kept encrypted, with purposes and expiry fixed."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

import sqlalchemy as sa
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from callvault.errors import (
    CallvaultError,
    Conflict,
    ConsentMissing,
    InvalidInput,
    RetentionExpired,
)
from callvault.phone import normalise_e164
from callvault.recordings import audio as audio_codec
from callvault.recordings.models import CALLER_CONTEXT, Recording, RecordingPurpose, RecordingState
from callvault.runtime import Runtime
from callvault.vault import service as vault
from callvault.vault.epochs import epoch_of
from callvault.vault.fields import keyed_hash, phone_lookup_hash, seal
from callvault.vault.fsck import INGEST_WORK_DIR

log = structlog.get_logger(__name__)

CONSENT_DIGIT = "1"
CONSENT_SKEW = timedelta(minutes=2)  # consent comes before the recording; allow clock skew
# Consent is given in the call (the prompt before the agent answers), not on some earlier day.
CONSENT_LEAD = timedelta(minutes=10)
FUTURE_SKEW = timedelta(minutes=5)
CHANNEL_LAYOUTS = {1: ["mixed"], 2: ["agent", "customer"]}
_TEXT_ID = re.compile(r"^[\w.:@/+-]{1,128}$")
# The called line: a phone number in any usual form, or a SIP/tel URI (sip:support@host:5060).
CALLED_MAX = 255
_CALLED = re.compile(r'^[^\x00-\x1f\x7f-\x9f<>"\\]{1,255}$')


class Agent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=200)


class Customer(BaseModel):
    """What the CRM knows; used only to find and mask these details in the recording."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    address: str | None = Field(default=None, max_length=400)


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digit: str | None = Field(default=None, max_length=4)
    prompt_version: str = Field(min_length=1, max_length=40)
    at: AwareDatetime


class IngestMetadata(BaseModel):
    """The JSON posted with a recording (see the README: "Ingest metadata")."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    call_id: str = Field(min_length=1, max_length=128)
    language: str = Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    from_: str | None = Field(default=None, alias="from", max_length=40)
    to: str | None = Field(default=None, max_length=CALLED_MAX)
    agent: Agent
    customer: Customer | None = None
    started_at: AwareDatetime
    consent: Consent | None = None
    purposes: list[str] | None = None
    team: str | None = Field(default=None, max_length=128)
    channel_layout: list[str] | None = None

    @field_validator("call_id")
    @classmethod
    def _plain_call_id(cls, value: str) -> str:
        if not _TEXT_ID.match(value):
            raise ValueError("call_id may hold letters, digits and . _ : @ / + - only")
        return value

    @field_validator("to")
    @classmethod
    def _plain_called(cls, value: str | None) -> str | None:
        if value is not None and not _CALLED.match(value):
            raise ValueError("to must be a phone number or a SIP/tel URI")
        return value

    def canonical_json(self) -> bytes:
        data = self.model_dump(mode="json", by_alias=True)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_metadata(raw: bytes | str) -> IngestMetadata:
    """Parse posted metadata; the error names fields and problems, never the values sent."""
    try:
        return IngestMetadata.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidInput(f"the metadata is not valid: {validation_problems(exc)}") from None


def validate_metadata(data: dict[str, object]) -> IngestMetadata:
    """`parse_metadata` for metadata built in the process (the telephony transfer)."""
    try:
        return IngestMetadata.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"the metadata is not valid: {validation_problems(exc)}") from None


def validation_problems(exc: ValidationError) -> str:
    """Field names and error types of a pydantic error, never the input values."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'metadata'}: {err['type']}"
        for err in exc.errors(include_input=False, include_url=False)
    )


@dataclass(frozen=True)
class IngestResult:
    id: uuid.UUID
    state: str
    created: bool


def ingest_recording(
    session: Session,
    runtime: Runtime,
    audio: BinaryIO,
    meta: IngestMetadata,
    *,
    actor: str,
    source: str,
) -> IngestResult:
    """Accept one consented recording, or refuse it leaving nothing behind.

    Refused (and audited as refused): no consent or not the digit 1; audio that is not
    accepted, corrupt, truncated or empty; over the size or duration limit; retention already
    run out; the same call id with different content (409). The same call id with the same
    content returns the existing recording.
    """
    try:
        return _ingest(session, runtime, audio, meta, actor=actor, source=source)
    except CallvaultError as exc:
        _audit_refusal(runtime, exc, actor=actor, source=source)
        raise


def _ingest(
    session: Session,
    runtime: Runtime,
    audio: BinaryIO,
    meta: IngestMetadata,
    *,
    actor: str,
    source: str,
) -> IngestResult:
    settings = runtime.settings
    now = runtime.clock.now()
    consent = meta.consent
    if consent is None or consent.digit != CONSENT_DIGIT:
        raise ConsentMissing("no consent: the caller must have pressed 1")
    if consent.at > meta.started_at + CONSENT_SKEW:
        raise ConsentMissing("consent was given after the recording started")
    if consent.at < meta.started_at - CONSENT_LEAD and not _pressed_in_this_call(
        session, meta, settings.max_duration_s
    ):
        raise ConsentMissing(
            "consent was given more than 10 minutes before the call started: "
            "consent must be given in the call itself"
        )
    if meta.started_at > now + FUTURE_SKEW:
        raise InvalidInput("started_at is in the future")
    caller = normalise_e164(meta.from_) if meta.from_ else None
    if caller is not None:
        from callvault.withdrawal.service import withdrawn_during

        caller_hash = phone_lookup_hash(runtime.keyring, caller)
        if withdrawn_during(session, caller_hash, meta.started_at):
            # §7: a withdrawal during the call (or before its transfer) covers this recording.
            raise ConsentMissing("the caller withdrew consent during or after this call")

    limits = audio_codec.AudioLimits(settings.max_upload_bytes, settings.max_duration_s)
    work_dir = settings.data_dir / INGEST_WORK_DIR
    upload = audio_codec.measure_upload(audio, limits, work_dir)
    try:
        metadata_hmac = keyed_hash(runtime.keyring, "recording.metadata", meta.canonical_json())
        existing = _existing(session, meta.call_id, upload.sha256, metadata_hmac)
        if existing is not None:
            return _repeat(session, existing, actor=actor, source=source)

        from callvault.policy.service import retention_days, select_purposes, version_in_force

        version = version_in_force(session, meta.started_at)
        purposes = select_purposes(version, meta.purposes)
        expires_at = meta.started_at + timedelta(days=retention_days(purposes))
        if expires_at <= now:
            raise RetentionExpired("the retention period of this recording has already run out")

        decoded = audio_codec.decode_to_flac(
            upload, limits, work_dir, write_flac=not settings.keep_original_format
        )
        try:
            layout = meta.channel_layout or CHANNEL_LAYOUTS[decoded.channels]
            if len(layout) != decoded.channels or len(set(layout)) != len(layout):
                raise InvalidInput("channel_layout must name each channel of the audio once")
            return _store(
                session,
                runtime,
                meta,
                upload,
                decoded,
                version=version,
                purposes=[p.code for p in purposes],
                expires_at=expires_at,
                caller=caller,
                layout=layout,
                metadata_hmac=metadata_hmac,
                actor=actor,
                source=source,
            )
        finally:
            if decoded.flac_file is not None:
                decoded.flac_file.close()
    finally:
        if upload.file is not audio:
            upload.file.close()


def _pressed_in_this_call(session: Session, meta: IngestMetadata, max_call_s: float) -> bool:
    """The consent is the key press our IVR saved during this very call (bound to its call id),
    and the recording started when an agent answered, after any wait in a queue: then the
    press may come earlier than CONSENT_LEAD, as long as it is within one call's length."""
    from callvault.consent.service import evidence_for_call

    assert meta.consent is not None
    evidence = evidence_for_call(session, meta.call_id)
    return (
        evidence is not None
        and evidence.source == "ivr"
        and evidence.given_at == meta.consent.at
        and meta.consent.at >= meta.started_at - timedelta(seconds=max_call_s)
    )


def _existing(
    session: Session, call_id: str, content_sha256: str, metadata_hmac: str
) -> Recording | None:
    recording = session.scalar(sa.select(Recording).where(Recording.call_id == call_id))
    if recording is None:
        return None
    if recording.content_sha256 != content_sha256 or recording.metadata_hmac != metadata_hmac:
        raise Conflict("a recording with this call id exists with different content")
    return recording


def _repeat(session: Session, recording: Recording, *, actor: str, source: str) -> IngestResult:
    from callvault.audit.service import record

    record(
        session,
        actor=actor,
        action="recording.ingest",
        object_type="recording",
        object_id=str(recording.id),
        source=source,
        details={"repeat": True},
    )
    log.info("recording_ingest_repeated", recording_id=str(recording.id))
    return IngestResult(recording.id, recording.state, created=False)


def _store(
    session: Session,
    runtime: Runtime,
    meta: IngestMetadata,
    upload: audio_codec.Upload,
    decoded: audio_codec.DecodedAudio,
    *,
    version: object,
    purposes: list[str],
    expires_at: datetime,
    caller: str | None,
    layout: list[str],
    metadata_hmac: str,
    actor: str,
    source: str,
) -> IngestResult:
    """Blobs first (durable), then every row in one savepoint: all of it, or none of it."""
    from callvault.audit.service import record
    from callvault.consent.service import prompt_sha256, record_consent
    from callvault.policy.identity import played_prompt
    from callvault.policy.models import PolicyVersion

    assert isinstance(version, PolicyVersion)
    assert meta.consent is not None
    recording_id = uuid.uuid4()
    written: list[str] = []
    keep_original = runtime.settings.keep_original_format or decoded.flac_file is None
    try:
        with session.begin_nested():
            prompt = played_prompt(
                session, runtime.settings, version, meta.language, meta.consent.at
            )
            evidence = record_consent(
                session,
                runtime,
                call_id=meta.call_id,
                digit=meta.consent.digit,
                given_at=meta.consent.at,
                policy_version=version,
                prompt_version=meta.consent.prompt_version,
                played_prompt_sha256=prompt_sha256(prompt),
                language=meta.language,
                caller_e164=caller,
                source="ingest",
            )
            original = vault.store_artifact(
                session,
                runtime,
                recording_id,
                "original",
                audio_codec.iter_file(upload.file if keep_original else _flac(decoded)),
                decoded.source_media_type if keep_original else "audio/flac",
                expires_at=expires_at,
            )
            written.append(original.blob_name)
            metadata = vault.store_artifact(
                session,
                runtime,
                recording_id,
                "metadata",
                [meta.canonical_json()],
                "application/json",
                expires_at=expires_at,
            )
            written.append(metadata.blob_name)
            duration = timedelta(seconds=decoded.duration_s)
            recording = Recording(
                id=recording_id,
                call_id=meta.call_id,
                agent_id=meta.agent.id,
                team=meta.team,
                started_at=meta.started_at,
                ended_at=meta.started_at + duration,
                duration_s=decoded.duration_s,
                sample_rate=decoded.sample_rate,
                channel_layout=layout,
                caller_number_enc=seal(
                    runtime.keyring, caller, CALLER_CONTEXT, epoch_of(expires_at)
                )
                if caller
                else None,
                caller_number_hash=phone_lookup_hash(runtime.keyring, caller) if caller else None,
                language=meta.language,
                consent_evidence_id=evidence.id,
                policy_version_id=version.id,
                content_sha256=upload.sha256,
                metadata_hmac=metadata_hmac,
                source_format=decoded.source_format,
                expires_at=expires_at,
                state=RecordingState.INGESTED,
                created_at=runtime.clock.now(),
                purposes=[RecordingPurpose(purpose_code=code) for code in purposes],
            )
            session.add(recording)
            session.flush()
            record(
                session,
                actor=actor,
                action="recording.ingest",
                object_type="recording",
                object_id=str(recording_id),
                source=source,
                details={
                    "policy_version": version.number,
                    "purposes": purposes,
                    "consent_evidence_id": str(evidence.id),
                    "artifacts": ["metadata", "original"],
                    "duration_s": round(decoded.duration_s, 3),
                },
            )
    except sa.exc.IntegrityError:
        # Another ingest of the same call id committed first.
        _discard(session, runtime, written)
        existing = _existing(session, meta.call_id, upload.sha256, metadata_hmac)
        if existing is None:
            raise
        return IngestResult(existing.id, existing.state, created=False)
    except BaseException:
        _discard(session, runtime, written)
        raise
    log.info(
        "recording_ingested",
        recording_id=str(recording_id),
        duration_s=round(decoded.duration_s, 3),
        source_format=decoded.source_format,
    )
    _queue_pseudonymisation(session, recording_id)
    return IngestResult(recording_id, RecordingState.INGESTED, created=True)


def _queue_pseudonymisation(session: Session, recording_id: uuid.UUID) -> None:
    """Pseudonymise (§3) as soon as the recording is committed; redaction's periodic sweep is
    the backstop when this enqueue is lost. Imported here: redaction depends on recordings."""
    from callvault.redaction.tasks import pseudonymise
    from callvault.worker.queue import enqueue_after_commit

    enqueue_after_commit(session, lambda: pseudonymise(str(recording_id)))


def _flac(decoded: audio_codec.DecodedAudio) -> BinaryIO:
    assert decoded.flac_file is not None
    return decoded.flac_file


def _discard(session: Session, runtime: Runtime, names: list[str]) -> None:
    vault.delete_blobs_from(runtime.blobs, names)
    vault.forget_pending(session, names)


def _audit_refusal(runtime: Runtime, exc: CallvaultError, *, actor: str, source: str) -> None:
    from callvault.audit.service import record_isolated

    try:
        record_isolated(
            runtime,
            actor=actor,
            action="recording.ingest",
            object_type="recording",
            source=source,
            outcome="refused" if exc.status_code < 500 else "error",
            reason=exc.code,
            details={"status": exc.status_code},
        )
    except CallvaultError:
        log.exception("ingest_refusal_not_audited", code=exc.code)


ALLOWED_STATES: dict[str, frozenset[str]] = {
    RecordingState.INGESTED: frozenset({RecordingState.PROCESSING, RecordingState.DELETING}),
    RecordingState.PROCESSING: frozenset(
        {RecordingState.READY, RecordingState.INGESTED, RecordingState.DELETING}
    ),
    RecordingState.READY: frozenset({RecordingState.PROCESSING, RecordingState.DELETING}),
    RecordingState.DELETING: frozenset({RecordingState.DELETED}),
    RecordingState.DELETED: frozenset(),
}


def set_state(session: Session, recording: Recording, state: str) -> None:
    """Move a recording along ingested → processing → ready → deleting → deleted.

    Processing may fall back to ingested (a failed pipeline is retried) and ready may go back to
    processing (reprocessing); anything live may start deleting. Other moves are a Conflict.
    """
    target = RecordingState(state)
    if recording.state == target:
        return
    if target not in ALLOWED_STATES[RecordingState(recording.state)]:
        raise Conflict(f"a recording cannot go from {recording.state} to {target}")
    recording.state = target
    session.flush()
    log.info("recording_state", recording_id=str(recording.id), state=str(target))


def known_teams(session: Session) -> list[str]:
    """The teams that stored recordings name, sorted: what a team-scoped grant can cover."""
    from callvault.retention.service import LIVE_STATES

    query = (
        sa.select(Recording.team)
        .where(Recording.team.is_not(None), Recording.state.in_(LIVE_STATES))
        .distinct()
        .order_by(Recording.team)
    )
    return [team for team in session.scalars(query) if team]
