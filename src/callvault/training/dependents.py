"""Clips go with their recording (§7): retention, withdrawal and fsck reach them through
`retention.service.delete_dependents`, in the transaction that destroys the recording's keys."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from callvault.training.lifecycle import shred_clips_of


def delete_with_recordings(
    session: Session, recording_ids: Sequence[uuid.UUID], now: datetime, *, reason: str
) -> dict[uuid.UUID, list[str]]:
    """Shred these recordings' clips (an approved clip a policy purpose keeps longer survives
    retention until its own time); returns their blob names per recording."""
    return shred_clips_of(session, recording_ids, reason=reason, now=now)
