"""Recorded consent prompts the DPO uploads per version and language, played with <Play>.

Stored as plain blobs, not through the vault's encryption: the prompt is the organisation's own
announcement, played to every caller from a public URL the telephony provider fetches, so
encrypting it would protect nothing, while its integrity does matter. Each upload is kept with
its SHA-256 (the value consent evidence holds), checked again whenever it is served, and never
replaced, so every audio a caller ever heard stays demonstrable.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.errors import IntegrityError, InvalidAudio, NotFound, TooLarge
from callvault.policy.models import PolicyPromptAudio, PolicyVersion
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

MAX_PROMPT_BYTES = 20 * 1024 * 1024
#: What Twilio-compatible <Play> accepts.
MEDIA_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/mpeg", "audio/mp3"})
LANGUAGES = frozenset({"sv", "en"})


@dataclass(frozen=True)
class PromptAudio:
    """Audio bytes ready to serve, checked against the hash recorded at upload."""

    id: uuid.UUID
    media_type: str
    sha256: str
    data: bytes


def upload_prompt_audio(
    session: Session,
    runtime: Runtime,
    version: PolicyVersion,
    language: str,
    *,
    data: bytes,
    media_type: str,
    uploaded_by: uuid.UUID,
) -> PolicyPromptAudio:
    """Keep a recording of `version`'s prompt in `language`; from now on it is played."""
    if language not in LANGUAGES:
        raise InvalidAudio("the prompt language must be sv or en")
    media_type = media_type.split(";")[0].strip().lower()
    if media_type not in MEDIA_TYPES:
        raise InvalidAudio("upload the prompt as WAV or MP3 (audio/wav, audio/mpeg)")
    if len(data) > MAX_PROMPT_BYTES:
        raise TooLarge("a prompt recording may be at most 20 MiB")
    if not _looks_like(media_type, data):
        raise InvalidAudio("the upload is not WAV or MP3 audio")
    audio_id = uuid.uuid4()
    name = f"policy-prompt-{audio_id.hex}"
    size = runtime.blobs.put(name, [data])
    row = PolicyPromptAudio(
        id=audio_id,
        policy_version_id=version.id,
        language=language,
        blob_name=name,
        media_type="audio/mpeg" if "mp" in media_type else "audio/wav",
        size=size,
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=uploaded_by,
        uploaded_at=runtime.clock.now(),
    )
    session.add(row)
    session.flush()
    _audit(session, uploaded_by, row)
    log.info("prompt_audio_uploaded", prompt_audio_id=str(row.id), policy_version=version.number)
    return row


def current_prompt_audio(
    session: Session, version_id: uuid.UUID, language: str
) -> PolicyPromptAudio | None:
    """The newest upload for that version and language, if any (then <Play> replaces <Say>)."""
    return session.scalar(
        sa.select(PolicyPromptAudio)
        .where(
            PolicyPromptAudio.policy_version_id == version_id,
            PolicyPromptAudio.language == language,
        )
        .order_by(PolicyPromptAudio.uploaded_at.desc(), PolicyPromptAudio.id)
        .limit(1)
    )


def read_prompt_audio(session: Session, runtime: Runtime, audio_id: uuid.UUID) -> PromptAudio:
    """The audio with that id, refused if it no longer matches its recorded SHA-256."""
    row = session.get(PolicyPromptAudio, audio_id)
    if row is None:
        raise NotFound("no such prompt audio")
    data = b"".join(_chunks(runtime, row.blob_name))
    if hashlib.sha256(data).hexdigest() != row.sha256:
        log.error("prompt_audio_tampered", prompt_audio_id=str(row.id))
        raise IntegrityError("the prompt audio does not match its recorded checksum")
    return PromptAudio(id=row.id, media_type=row.media_type, sha256=row.sha256, data=data)


def _chunks(runtime: Runtime, name: str) -> Iterable[bytes]:
    try:
        return list(runtime.blobs.get(name))
    except NotFound:
        raise IntegrityError("the prompt audio is missing from storage") from None


def _looks_like(media_type: str, data: bytes) -> bool:
    if "wav" in media_type or "wave" in media_type:
        return data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    return data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def _audit(session: Session, uploaded_by: uuid.UUID, row: PolicyPromptAudio) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor=f"account:{uploaded_by}",
        action="policy.prompt_audio",
        object_type="policy_version",
        object_id=str(row.policy_version_id),
        details={"prompt_audio_id": str(row.id), "language": row.language, "sha256": row.sha256},
    )
