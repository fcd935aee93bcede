"""Leak reports: "I heard an identifier here". The clip leaves the library at once, gets a mark
of ±1.5 s, is rendered again and goes back to review; the recording's pseudonymised variant
gets the same mark (a sensitive mark for every later run, and its stored variant re-masked)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.access.models import Variant
from callvault.access.service import authorize
from callvault.accounts.auth import Principal
from callvault.db import transaction
from callvault.errors import InvalidInput, NotFound
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from callvault.training.access import find_clip
from callvault.training.models import ClipState, LeakReport, TrainingClip
from callvault.training.service import EPSILON, mark_clip
from callvault.training.transcript import MARK_LABEL

log = structlog.get_logger(__name__)

LEAK_PAD_S = 1.5


def report_leak_in_clip(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    clip_id: uuid.UUID | str,
    *,
    at: float,
    source: str | None = None,
) -> LeakReport:
    """`at` is seconds into the clip."""
    clip, _ = find_clip(
        session, runtime, principal, clip_id, action="recording.view", source=source, lock=True
    )
    if not 0 <= at <= clip.duration_s + EPSILON:
        raise InvalidInput("the moment lies outside the clip")
    return _report(
        session, runtime, principal, clip.recording_id, clip.start_s + at, clip.id, source
    )


def report_leak_in_recording(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    recording_id: uuid.UUID | str,
    *,
    at: float,
    source: str | None = None,
) -> LeakReport:
    """`at` is seconds into the pseudonymised recording (any pseudonymised grant covering it)."""
    authorize(
        session,
        runtime,
        principal,
        recording_id,
        variant=Variant.PSEUDONYMISED,
        purpose=None,
        reason=None,
        action="recording.view",
        source=source,
    )
    recording = session.get(Recording, uuid.UUID(str(recording_id)))
    assert recording is not None
    if not 0 <= at <= recording.duration_s + EPSILON:
        raise InvalidInput("the moment lies outside the recording")
    return _report(session, runtime, principal, recording.id, float(at), None, source)


def _report(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    recording_id: uuid.UUID,
    at_s: float,
    clip_id: uuid.UUID | None,
    source: str | None,
) -> LeakReport:
    from callvault.audit.service import record
    from callvault.redaction.service import add_mark
    from callvault.worker.queue import enqueue_after_commit

    now = runtime.clock.now()
    start, end = max(0.0, at_s - LEAK_PAD_S), at_s + LEAK_PAD_S
    report = LeakReport(
        recording_id=recording_id,
        clip_id=clip_id,
        at_s=at_s,
        reported_by=principal.id,
        reported_at=now,
    )
    session.add(report)
    # Every live clip of the recording that holds the moment: out of the library, marked.
    clips = session.scalars(
        sa.select(TrainingClip)
        .where(
            TrainingClip.recording_id == recording_id,
            TrainingClip.state != ClipState.REMOVED,
            TrainingClip.start_s < end,
            TrainingClip.end_s > start,
        )
        .with_for_update()
    ).all()
    for clip in clips:
        mark_clip(
            session,
            runtime,
            clip,
            principal.id,
            [(max(start, clip.start_s), min(end, clip.end_s))],
            "leak_report",
            now,
        )
    recording = session.get(Recording, recording_id)
    if recording is not None:
        add_mark(
            session,
            runtime,
            call_id=recording.call_id,
            start_s=start,
            end_s=min(end, max(recording.duration_s, start + 0.01)),
            channel=None,
            created_by=principal.actor,
        )
    session.flush()
    record(
        session,
        actor=principal.actor,
        action="training.leak_report",
        object_type="recording",
        object_id=str(recording_id),
        source=source,
        details={
            "clip": str(clip_id) if clip_id else None,
            "clips_marked": len(clips),
            "at": round(at_s, 2),
        },
    )
    rid = str(recording_id)

    def _queue() -> None:
        from callvault.training.tasks import remask_pseudonymised_variant

        remask_pseudonymised_variant(rid)

    enqueue_after_commit(session, _queue)
    log.info("training_leak_reported", recording_id=rid, clips=len(clips))
    return report


def remask_variant(runtime: Runtime, recording_id: uuid.UUID) -> int:
    """Apply the call's sensitive marks to its stored pseudonymised variant (audio and
    transcript), without speech recognition; returns how many marks were applied."""
    from callvault.redaction.audio import decode_audio, encode_audio
    from callvault.redaction.masking import mask_audio
    from callvault.redaction.service import marks_for
    from callvault.vault.service import has_artifact, open_artifact, store_artifact

    with transaction(runtime.sessions) as session:
        recording = session.get(Recording, recording_id, with_for_update=True)
        if recording is None or not has_artifact(session, recording_id, "pseudonymised_audio"):
            raise NotFound("no pseudonymised variant to mark")
        marks = marks_for(session, recording.call_id)
        audio = decode_audio(
            open_artifact(session, runtime, recording_id, "pseudonymised_audio").read()
        )
        intervals = [
            (ch, m.start, m.end)
            for m in marks
            for ch in (range(audio.channels) if m.channel is None else [m.channel])
        ]
        masked = mask_audio(audio, intervals, runtime.settings.redaction_mask)
        transcript = json.loads(
            open_artifact(session, runtime, recording_id, "pseudonymised_transcript").read()
        )
        for channel in transcript.get("channels", []):
            words: list[dict[str, object]] = []
            for word in channel.get("words", []):
                mid = (float(word["start"]) + float(word["end"])) / 2
                hit = any(
                    m.start <= mid <= m.end and m.channel in (None, channel.get("channel"))
                    for m in marks
                )
                if hit:
                    if words and words[-1]["text"] == MARK_LABEL:
                        words[-1]["end"] = word["end"]
                        continue
                    word = {**word, "text": MARK_LABEL}
                words.append(word)
            channel["words"] = words
            channel["text"] = " ".join(str(w["text"]) for w in words)
        store_artifact(
            session,
            runtime,
            recording_id,
            "pseudonymised_audio",
            [encode_audio(masked, "FLAC")],
            "audio/flac",
        )
        store_artifact(
            session,
            runtime,
            recording_id,
            "pseudonymised_transcript",
            [json.dumps(transcript, ensure_ascii=False).encode("utf-8")],
            "application/json",
        )
    log.info("pseudonymised_variant_remasked", recording_id=str(recording_id), marks=len(marks))
    return len(marks)


def leak_reports_per_week(
    session: Session, now: datetime, weeks: int = 12
) -> list[tuple[str, int]]:
    """(ISO week, reports) for the last `weeks` weeks, oldest first, zeros included."""
    since = now - timedelta(weeks=weeks)
    times = session.scalars(
        sa.select(LeakReport.reported_at).where(LeakReport.reported_at >= since)
    )
    counts: dict[str, int] = {}
    for at in times:
        year, week, _ = at.astimezone(UTC).isocalendar()
        key = f"{year}-W{week:02d}"
        counts[key] = counts.get(key, 0) + 1
    out = []
    for n in range(weeks - 1, -1, -1):
        year, week, _ = (now - timedelta(weeks=n)).isocalendar()
        key = f"{year}-W{week:02d}"
        out.append((key, counts.get(key, 0)))
    return out


@dataclass(frozen=True)
class TrainingFigures:
    """The DPO dashboard's training section: no titles, no people, counts only."""

    weeks: list[tuple[str, int]]
    reports_total: int
    clips_by_state: dict[str, int]


def dashboard_figures(session: Session, now: datetime) -> TrainingFigures:
    weeks = leak_reports_per_week(session, now)
    by_state = dict(
        session.execute(
            sa.select(TrainingClip.state, sa.func.count()).group_by(TrainingClip.state)
        ).all()
    )
    return TrainingFigures(
        weeks=weeks,
        reports_total=sum(n for _, n in weeks),
        clips_by_state={s.value: int(by_state.get(s.value, 0)) for s in ClipState},
    )
