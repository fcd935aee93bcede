"""Rights (Art. 15): the clips cut from a data subject's calls, for the DSAR bundle."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.training.models import ClipState, TrainingClip


def clips_of_recordings(session: Session, recording_ids: Sequence[uuid.UUID]) -> list[TrainingClip]:
    """The clips (still holding keys) cut from these recordings, in order."""
    if not recording_ids:
        return []
    return list(
        session.scalars(
            sa.select(TrainingClip)
            .where(
                TrainingClip.recording_id.in_(list(recording_ids)),
                TrainingClip.state != ClipState.REMOVED,
            )
            .order_by(TrainingClip.recording_started_at, TrainingClip.start_s, TrainingClip.id)
        )
    )


def clip_json(clip: TrainingClip) -> dict[str, Any]:
    """What a clip is, without audio or transcript (those go only to the caller)."""
    return {
        "clip_id": str(clip.id),
        "recording_id": str(clip.recording_id),
        "start_s": clip.start_s,
        "end_s": clip.end_s,
        "title": clip.title,
        "tags": clip.tag_codes,
        "state": clip.state,
        "created_at": clip.created_at.isoformat(),
        "approved_at": clip.approved_at.isoformat() if clip.approved_at else None,
        "retained_until": clip.retained_until.isoformat() if clip.retained_until else None,
    }
