"""Rendering a clip's artefacts: its audio (own data key) and its share of the transcript.

From the recording's pseudonymised variant with every mark applied; once the source is gone (a
clip kept longer by a policy purpose) a new mark is applied to the clip's own audio instead.
No speech recognition runs: the spans are the stored pseudonymisation plus the marks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.errors import Conflict
from callvault.redaction.audio import decode_audio
from callvault.runtime import Runtime
from callvault.training.audio import encode_clip, masked_clip, read_range
from callvault.training.models import TrainingClip, TrainingClipSearch
from callvault.training.transcript import clip_transcript, search_terms
from callvault.vault.models import Artifact
from callvault.vault.service import open_artifact, reader_for, store_artifact

CLIP_AUDIO = "clip_audio"
CLIP_TRANSCRIPT = "clip_transcript"
SOURCE_AUDIO = "pseudonymised_audio"
SOURCE_TRANSCRIPT = "pseudonymised_transcript"
NOT_READY = "the pseudonymised variant of this recording is not ready yet"


@dataclass(frozen=True)
class RenderStats:
    seconds: float
    segments_read: int
    from_source: bool


def clip_marks(clip: TrainingClip) -> list[tuple[float, float]]:
    """The clip's marks, clip-relative and cut to the clip."""
    out = []
    for mark in clip.marks:
        start, end = max(mark.start_s, clip.start_s), min(mark.end_s, clip.end_s)
        if end > start:
            out.append((start - clip.start_s, end - clip.start_s))
    return out


def _artifact(session: Session, owner: object, kind: str) -> Artifact | None:
    return session.scalar(
        sa.select(Artifact).where(Artifact.owner_id == owner, Artifact.kind == kind)
    )


def source_ready(session: Session, clip_or_recording_id: object) -> bool:
    kinds = set(
        session.scalars(
            sa.select(Artifact.kind).where(
                Artifact.owner_id == clip_or_recording_id,
                Artifact.kind.in_((SOURCE_AUDIO, SOURCE_TRANSCRIPT)),
            )
        )
    )
    return kinds == {SOURCE_AUDIO, SOURCE_TRANSCRIPT}


def render_clip(session: Session, runtime: Runtime, clip: TrainingClip) -> RenderStats:
    """(Re-)render the clip's audio and transcript in the caller's transaction."""
    began = time.perf_counter()
    marks = clip_marks(clip)
    mask = runtime.settings.redaction_mask
    source = _artifact(session, clip.recording_id, SOURCE_AUDIO)
    if source is not None:
        audio, segments = read_range(
            reader_for(runtime, source), source.segment_size, clip.start_s, clip.end_s
        )
        words: dict[str, Any] = _json(session, runtime, clip.recording_id, SOURCE_TRANSCRIPT)
        transcript = clip_transcript(words, clip.start_s, clip.end_s, marks)
    else:
        own = _artifact(session, clip.id, CLIP_AUDIO)
        if own is None:
            raise Conflict(NOT_READY)
        audio = decode_audio(reader_for(runtime, own).read())
        segments = 0
        previous = _json(session, runtime, clip.id, CLIP_TRANSCRIPT)
        transcript = clip_transcript(previous, 0.0, clip.duration_s, marks)
    rendered = masked_clip(audio, marks, mask)
    # The clip's keys sit in the key epoch of when it must be gone: its recording's deletion,
    # or its own retention when a policy purpose keeps it longer (re-wrapped on approval by
    # `vault.service.move_to_epoch`).
    expires = clip.retained_until or _recording_expiry(session, clip)
    store_artifact(
        session, runtime, clip.id, CLIP_AUDIO, [encode_clip(rendered)], "audio/flac",
        expires_at=expires,
    )  # fmt: skip
    body = json.dumps(transcript, ensure_ascii=False).encode("utf-8")
    store_artifact(
        session, runtime, clip.id, CLIP_TRANSCRIPT, [body], "application/json", expires_at=expires
    )
    terms = search_terms(runtime.keyring, transcript)
    if clip.search is None:
        clip.search = TrainingClipSearch(terms=terms)
    else:
        clip.search.terms = terms
    session.flush()
    return RenderStats(time.perf_counter() - began, segments, source is not None)


def _json(session: Session, runtime: Runtime, owner: Any, kind: str) -> dict[str, Any]:
    data = json.loads(open_artifact(session, runtime, owner, kind).read())
    return data if isinstance(data, dict) else {}


def clip_transcript_of(session: Session, runtime: Runtime, clip: TrainingClip) -> dict[str, Any]:
    return _json(session, runtime, clip.id, CLIP_TRANSCRIPT)


def source_detections(session: Session, runtime: Runtime, clip: TrainingClip) -> dict[str, Any]:
    """The recording's stored detections (times, kinds and scores; never words), if any."""
    if _artifact(session, clip.recording_id, "detections") is None:
        return {}
    return _json(session, runtime, clip.recording_id, "detections")


def source_transcript(session: Session, runtime: Runtime, clip: TrainingClip) -> dict[str, Any]:
    """The recording's pseudonymised transcript, or the clip's own once the source is gone."""
    if _artifact(session, clip.recording_id, SOURCE_TRANSCRIPT) is None:
        own = clip_transcript_of(session, runtime, clip)
        return _shifted(own, clip.start_s)
    return _json(session, runtime, clip.recording_id, SOURCE_TRANSCRIPT)


def _shifted(transcript: dict[str, Any], by: float) -> dict[str, Any]:
    channels = [
        {
            **ch,
            "words": [
                {**w, "start": w["start"] + by, "end": w["end"] + by} for w in ch.get("words", [])
            ],
        }
        for ch in transcript.get("channels", [])
    ]
    return {**transcript, "channels": channels}


def _recording_expiry(session: Session, clip: TrainingClip) -> datetime | None:
    from callvault.recordings.models import Recording

    return session.scalar(sa.select(Recording.expires_at).where(Recording.id == clip.recording_id))
