"""Clips and their review (four eyes): cut, change, mark, hear, approve or reject.

Every step runs in the caller's transaction and is audited; a refusal raises before anything is
written, and a failure after (rendering, storage) rolls the whole step back, blobs included.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.access.models import Variant
from callvault.access.service import HIDDEN_STATES, NOT_FOUND, authorize
from callvault.accounts.auth import Principal
from callvault.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from callvault.policy.purposes import TRAINING, TRAINING_LIBRARY
from callvault.recordings.models import Recording
from callvault.runtime import Runtime
from callvault.training.access import find_clip
from callvault.training.models import (
    ClipState,
    TrainingClip,
    TrainingClipHearing,
    TrainingClipMark,
    TrainingClipNote,
    TrainingClipReview,
    TrainingClipTag,
    TrainingTag,
)
from callvault.training.render import NOT_READY, render_clip, source_ready

log = structlog.get_logger(__name__)

MAX_CLIP_S = 600.0
MAX_TITLE = 200
MAX_LESSON = 4000
MAX_COMMENT = 2000
MAX_NOTE = 1000
MAX_TAGS = 10
MAX_NOTES = 50
MAX_MARKS = 200
TAG_CODE = re.compile(r"^[^\W_][\w -]{0,38}[^\W_]$|^[^\W_]$", re.UNICODE)
MAX_TAG_LABEL = 80
EPSILON = 1e-6
APPROVE, REJECT = "approve", "reject"


@dataclass(frozen=True)
class NoteIn:
    at: float  # seconds into the clip
    text: str


# --- checks -----------------------------------------------------------------------------------


def _text(value: str | None, name: str, limit: int, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"the {name} cannot be empty")
    if len(text) > limit:
        raise InvalidInput(f"the {name} is longer than {limit} characters")
    return text


def _tags(session: Session, codes: Sequence[str]) -> list[str]:
    if len(codes) > MAX_TAGS:
        raise InvalidInput(f"a clip has at most {MAX_TAGS} tags")
    cleaned = list(dict.fromkeys(c.strip().lower() for c in codes))
    for code in cleaned:
        if len(code) > 40 or not TAG_CODE.match(code):
            raise InvalidInput("a tag is 1 to 40 letters, digits, spaces or hyphens")
    known = set(session.scalars(sa.select(TrainingTag.code).where(TrainingTag.code.in_(cleaned))))
    if set(cleaned) - known:
        raise InvalidInput("unknown tag: add it to the vocabulary first")
    return cleaned


def _range(start: float, end: float, duration: float) -> tuple[float, float]:
    if not (start >= 0 and end > start):
        raise InvalidInput("a clip needs 0 <= start < end (seconds)")
    if end - start > MAX_CLIP_S + EPSILON:
        raise InvalidInput("a clip is at most 10 minutes long")
    if end > duration + EPSILON:
        raise InvalidInput("the range lies outside the recording")
    return float(start), float(end)


def _notes(clip: TrainingClip, notes: Sequence[NoteIn], author: uuid.UUID, now: datetime) -> None:
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"a clip has at most {MAX_NOTES} notes")
    made = []
    for note in notes:
        if not 0 <= note.at <= clip.duration_s + EPSILON:
            raise InvalidInput("a note lies outside the clip")
        made.append(
            TrainingClipNote(
                at_s=clip.start_s + float(note.at),
                text=_text(note.text, "note", MAX_NOTE),
                created_by=author,
                created_at=now,
            )
        )
    clip.notes = made


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    clip: TrainingClip,
    source: str | None,
    details: dict[str, object] | None = None,
) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action=action,
        object_type="training_clip",
        object_id=str(clip.id),
        source=source,
        details={"recording": str(clip.recording_id), "version": clip.version, **(details or {})},
    )


def _live_recording(session: Session, recording_id: uuid.UUID, now: datetime) -> Recording:
    """The recording, locked against a deletion beginning while the clip is cut."""
    query = sa.select(Recording).where(Recording.id == recording_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    recording = session.scalars(query.execution_options(populate_existing=True)).first()
    if recording is None or recording.state in HIDDEN_STATES or recording.expires_at <= now:
        raise NotFound(NOT_FOUND)
    return recording


# --- cutting and changing ----------------------------------------------------------------------


def cut_clip(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    *,
    recording_id: uuid.UUID | str,
    start: float,
    end: float,
    title: str,
    tags: Sequence[str],
    lesson: str,
    notes: Sequence[NoteIn] = (),
    source: str | None = None,
) -> TrainingClip:
    """A new draft clip of the recording's pseudonymised variant (a training grant must cover
    the recording); 409 while that variant is not ready."""
    now = runtime.clock.now()
    title = _text(title, "title", MAX_TITLE)
    lesson = _text(lesson, "lesson", MAX_LESSON)
    codes = _tags(session, tags)
    authorize(
        session,
        runtime,
        principal,
        recording_id,
        variant=Variant.PSEUDONYMISED,
        purpose=TRAINING,
        reason=None,
        action="recording.view",
        source=source,
    )
    recording = _live_recording(session, uuid.UUID(str(recording_id)), now)
    if not source_ready(session, recording.id):
        raise Conflict(NOT_READY)
    first, last = _range(start, end, recording.duration_s)
    clip = TrainingClip(
        recording_id=recording.id,
        author_id=principal.id,
        start_s=first,
        end_s=last,
        title=title,
        lesson=lesson,
        state=ClipState.DRAFT,
        version=1,
        team=recording.team,
        recording_started_at=recording.started_at,
        created_at=now,
        changed_at=now,
    )
    clip.tags = [TrainingClipTag(tag_code=c) for c in codes]
    _notes(clip, notes, principal.id, now)
    session.add(clip)
    session.flush()
    render_clip(session, runtime, clip)
    _audit(session, principal, "training.clip_create", clip, source, {"tags": len(codes)})
    log.info("training_clip_cut", clip_id=str(clip.id), recording_id=str(recording.id))
    return clip


def _changed(clip: TrainingClip, now: datetime) -> None:
    """Range or marks changed: a new version that nobody has heard, back to review."""
    clip.version += 1
    clip.changed_at = now
    if clip.state in (ClipState.APPROVED, ClipState.REJECTED):
        clip.state = ClipState.DRAFT
        clip.approved_by = None
        clip.approved_at = None


def update_clip(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    clip_id: uuid.UUID | str,
    *,
    start: float | None = None,
    end: float | None = None,
    title: str | None = None,
    tags: Sequence[str] | None = None,
    lesson: str | None = None,
    notes: Sequence[NoteIn] | None = None,
    source: str | None = None,
) -> TrainingClip:
    """Change a clip; a new range sends it back to review and renders it again."""
    now = runtime.clock.now()
    clip, _ = find_clip(
        session, runtime, principal, clip_id, action="recording.view", source=source, lock=True
    )
    new_title = _text(title, "title", MAX_TITLE) if title is not None else clip.title
    new_lesson = _text(lesson, "lesson", MAX_LESSON) if lesson is not None else clip.lesson
    codes = _tags(session, tags) if tags is not None else None
    moved = False
    if start is not None or end is not None:
        recording = _live_recording(session, clip.recording_id, now)
        first, last = _range(
            clip.start_s if start is None else start,
            clip.end_s if end is None else end,
            recording.duration_s,
        )
        moved = (first, last) != (clip.start_s, clip.end_s)
        if moved and not source_ready(session, recording.id):
            raise Conflict(NOT_READY)
        clip.start_s, clip.end_s = first, last
    clip.title, clip.lesson = new_title, new_lesson
    if codes is not None:
        clip.tags = [TrainingClipTag(tag_code=c) for c in codes]
    if notes is not None:
        _notes(clip, notes, principal.id, now)
    if moved:
        _changed(clip, now)
    clip.changed_at = now
    session.flush()
    if moved:
        render_clip(session, runtime, clip)
    _audit(session, principal, "training.clip_update", clip, source, {"range_changed": moved})
    return clip


def add_marks(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    clip_id: uuid.UUID | str,
    ranges: Sequence[tuple[float, float]],
    *,
    origin: str = "review",
    source: str | None = None,
) -> TrainingClip:
    """Mask these clip-relative ranges at once: the clip is rendered again from the stored
    spans (no speech recognition) and goes back to review."""
    clip, _ = find_clip(
        session, runtime, principal, clip_id, action="recording.view", source=source, lock=True
    )
    if not ranges:
        raise InvalidInput("give at least one range to mark")
    if len(clip.marks) + len(ranges) > MAX_MARKS:
        raise InvalidInput(f"a clip has at most {MAX_MARKS} marks")
    for start, end in ranges:
        if not (0 <= start < end <= clip.duration_s + EPSILON):
            raise InvalidInput("the mark lies outside the clip")
    now = runtime.clock.now()
    mark_clip(
        session,
        runtime,
        clip,
        principal.id,
        [(clip.start_s + a, min(clip.end_s, clip.start_s + b)) for a, b in ranges],
        origin,
        now,
    )
    _audit(
        session,
        principal,
        "training.clip_mark",
        clip,
        source,
        {"marks": len(ranges), "origin": origin},
    )
    return clip


def mark_clip(
    session: Session,
    runtime: Runtime,
    clip: TrainingClip,
    author: uuid.UUID,
    ranges: Sequence[tuple[float, float]],
    origin: str,
    now: datetime,
) -> None:
    """Add marks (recording seconds) to a locked clip, bump its version and render it."""
    for start, end in ranges:
        clip.marks.append(
            TrainingClipMark(
                start_s=start, end_s=end, source=origin, created_by=author, created_at=now
            )
        )
    _changed(clip, now)
    session.flush()
    render_clip(session, runtime, clip)


# --- hearing and review ----------------------------------------------------------------------


def record_hearing(
    session: Session, clip: TrainingClip, account_id: uuid.UUID, now: datetime
) -> None:
    """This person fetched the clip's audio at its current version."""
    exists = session.get(TrainingClipHearing, (clip.id, account_id, clip.version))
    if exists is None:
        session.add(
            TrainingClipHearing(
                clip_id=clip.id, account_id=account_id, version=clip.version, at=now
            )
        )
        session.flush()


def has_heard(session: Session, clip: TrainingClip, account_id: uuid.UUID) -> bool:
    return session.get(TrainingClipHearing, (clip.id, account_id, clip.version)) is not None


def library_retention(session: Session, at: datetime) -> timedelta | None:
    """How long approved clips are kept beyond their recording: only if the policy version in
    force registers the training-library purpose (§2); version 1 does not."""
    from callvault.policy.service import version_in_force

    version = version_in_force(session, at)
    purpose = next((p for p in version.purposes if p.code == TRAINING_LIBRARY), None)
    return timedelta(days=purpose.retention_days) if purpose is not None else None


def review_clip(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    clip_id: uuid.UUID | str,
    *,
    decision: str,
    comment: str,
    source: str | None = None,
) -> TrainingClipReview:
    """A second person's decision: never the author (403), only on the version they heard (409)."""
    if decision not in (APPROVE, REJECT):
        raise InvalidInput("the decision is approve or reject")
    text = _text(comment, "comment", MAX_COMMENT, required=decision == REJECT)
    clip, _ = find_clip(
        session, runtime, principal, clip_id, action="recording.view", source=source, lock=True
    )
    if clip.author_id == principal.id:
        raise PermissionDenied("the author of a clip never reviews it (four eyes)")
    if clip.state != ClipState.DRAFT:
        raise Conflict("this clip is not waiting for review")
    if not has_heard(session, clip, principal.id):
        raise Conflict("listen to the clip as it is now before deciding")
    now = runtime.clock.now()
    review = TrainingClipReview(
        clip_id=clip.id,
        reviewer_id=principal.id,
        version=clip.version,
        decision=decision,
        comment=text,
        at=now,
    )
    session.add(review)
    if decision == APPROVE:
        clip.state = ClipState.APPROVED
        clip.approved_by, clip.approved_at = principal.id, now
        kept = library_retention(session, now)
        if kept is not None:
            from callvault.vault.service import move_to_epoch

            clip.retained_until = now + kept
            # Its keys leave the recording's key epoch for the epoch of its own retention, so
            # retiring the recording's epoch does not take the clip with it.
            move_to_epoch(session, runtime, clip.id, clip.retained_until)
    else:
        clip.state = ClipState.REJECTED
    session.flush()
    _audit(session, principal, "training.clip_review", clip, source, {"decision": decision})
    return review


def reviews_of(session: Session, clip_id: uuid.UUID) -> list[TrainingClipReview]:
    return list(
        session.scalars(
            sa.select(TrainingClipReview)
            .where(TrainingClipReview.clip_id == clip_id)
            .order_by(TrainingClipReview.at)
        )
    )


# --- the tag vocabulary ------------------------------------------------------------------------


def list_tags(session: Session) -> list[TrainingTag]:
    return list(session.scalars(sa.select(TrainingTag).order_by(TrainingTag.code)))


def add_tag(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    *,
    code: str,
    label_sv: str,
    label_en: str,
    source: str | None = None,
) -> TrainingTag:
    """Managers may add situation tags (code, Swedish and English labels)."""
    cleaned = code.strip().lower()
    if len(cleaned) > 40 or not TAG_CODE.match(cleaned):
        raise InvalidInput("a tag is 1 to 40 letters, digits, spaces or hyphens")
    sv = _text(label_sv, "Swedish label", MAX_TAG_LABEL)
    en = _text(label_en, "English label", MAX_TAG_LABEL)
    if session.get(TrainingTag, cleaned) is not None:
        raise Conflict("that tag already exists")
    tag = TrainingTag(
        code=cleaned,
        label_sv=sv,
        label_en=en,
        created_by=principal.actor[:64],
        created_at=runtime.clock.now(),
    )
    session.add(tag)
    session.flush()
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action="training.tag_create",
        object_type="training_tag",
        object_id=None,
        source=source,
        details={},
    )
    return tag
