"""fsck for clips: a clip whose recording is gone (and no purpose keeps it) holds no keys."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.recordings.models import Recording, RecordingState
from callvault.runtime import Runtime
from callvault.training.lifecycle import FSCK, shred_clips_of
from callvault.training.models import ClipState, TrainingClip
from callvault.vault.fsck import Finding
from callvault.vault.service import delete_blobs_from


def check(session: Session, runtime: Runtime, *, repair: bool) -> list[Finding]:
    now = runtime.clock.now()
    live = sa.select(Recording.id).where(
        Recording.state.not_in((RecordingState.DELETING.value, RecordingState.DELETED.value))
    )
    orphans = session.execute(
        sa.select(TrainingClip.id, TrainingClip.recording_id).where(
            TrainingClip.state != ClipState.REMOVED,
            TrainingClip.recording_id.not_in(live),
            sa.or_(TrainingClip.retained_until.is_(None), TrainingClip.retained_until <= now),
        )
    ).all()
    if repair and orphans:
        names = shred_clips_of(session, {r for _, r in orphans}, reason=FSCK, now=now)
        delete_blobs_from(runtime.blobs, [n for group in names.values() for n in group])
    return [Finding("clip_without_recording", str(clip_id), repair) for clip_id, _ in orphans]
