"""A clip lives as long as its source recording (§7): the deletion hooks of retention,
withdrawal and fsck, and the sweep for clips a policy purpose kept longer.

`shred_clips_of` is the one function they call, in the same transaction that destroys the
recording's own keys, so once that commits no clip of the recording can be decrypted either.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.training.models import ClipState, TrainingClip

log = structlog.get_logger(__name__)

RETENTION, WITHDRAWAL, FSCK, LIBRARY_EXPIRED = "retention", "withdrawal", "fsck", "library_expired"


def shred_clips_of(
    session: Session,
    recording_ids: Collection[uuid.UUID],
    *,
    reason: str,
    now: datetime,
) -> dict[uuid.UUID, list[str]]:
    """Destroy the keys of these recordings' clips; returns, per recording, the blob names to
    delete after commit. Under `retention`, an approved clip a policy purpose keeps longer
    survives until its own time (`expire_retained_clips`); withdrawal and fsck take every clip."""
    if not recording_ids:
        return {}
    condition: list[sa.ColumnElement[bool]] = [TrainingClip.recording_id.in_(list(recording_ids))]
    if reason == RETENTION:
        condition.append(
            sa.or_(TrainingClip.retained_until.is_(None), TrainingClip.retained_until <= now)
        )
    return _remove(session, condition, reason=reason, now=now)


def expire_retained_clips(session: Session, now: datetime) -> dict[uuid.UUID, list[str]]:
    """Clips kept past their recording whose own retention has run out (the sweep calls this)."""
    from callvault.recordings.models import Recording, RecordingState

    gone = sa.select(Recording.id).where(
        Recording.state.in_((RecordingState.DELETING.value, RecordingState.DELETED.value))
    )
    condition: list[sa.ColumnElement[bool]] = [
        TrainingClip.retained_until.is_not(None),
        TrainingClip.retained_until <= now,
        TrainingClip.recording_id.in_(gone),
    ]
    return _remove(session, condition, reason=LIBRARY_EXPIRED, now=now)


def _remove(
    session: Session,
    condition: list[sa.ColumnElement[bool]],
    *,
    reason: str,
    now: datetime,
) -> dict[uuid.UUID, list[str]]:
    from callvault.vault.service import shred_owner_keys

    clips = session.scalars(
        sa.select(TrainingClip)
        .where(*condition, TrainingClip.state != ClipState.REMOVED)
        .with_for_update()
    ).all()
    names: dict[uuid.UUID, list[str]] = {}
    for clip in clips:
        names.setdefault(clip.recording_id, []).extend(shred_owner_keys(session, clip.id))
        clip.state = ClipState.REMOVED
        clip.removed_at = now
        clip.removed_reason = reason
        clip.search = None  # its words' hashes go with it
    session.flush()
    if clips:
        log.info("training_clips_removed", clips=len(clips), reason=reason)
    return names
