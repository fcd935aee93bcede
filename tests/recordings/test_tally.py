"""The live tally equals a count of live recordings after ingest, state changes, the retention
sweep (a bulk UPDATE) and withdrawal, so the dashboard can read it instead of counting."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.clock import FixedClock
from callvault.db import transaction
from callvault.recordings.models import Recording
from callvault.recordings.service import ingest_recording
from callvault.recordings.tally import LIVE, live_count
from callvault.retention.service import delete_expired_recordings
from callvault.runtime import Runtime
from tests.recordings.synthetic import meta, wav


def _counted(session: Session) -> int:
    query = sa.select(sa.func.count()).select_from(Recording).where(Recording.state.in_(LIVE))
    return int(session.scalar(query) or 0)


def _ingest(runtime: Runtime, call_id: str, started: datetime) -> None:
    with transaction(runtime.sessions) as session:
        ingest_recording(
            session, runtime, io.BytesIO(wav(0.5)), meta(call_id, started), actor="system",
            source="test",
        )  # fmt: skip


def test_the_tally_follows_ingest_and_the_retention_sweep(
    ingest_runtime: Runtime, session: Session, clock: FixedClock, started: datetime
) -> None:
    for n in range(3):
        _ingest(ingest_runtime, f"tally-old-{n}", started - timedelta(days=89))
    for n in range(2):
        _ingest(ingest_runtime, f"tally-new-{n}", started)
    _ingest(ingest_runtime, "tally-new-0", started)  # a repeat counts once
    assert live_count(session) == _counted(session) == 5

    clock.advance(days=2)  # the three old ones are now past their 90 days
    result = delete_expired_recordings(ingest_runtime)
    assert result.begun == 3
    session.expire_all()
    assert live_count(session) == _counted(session) == 2


def test_a_refused_ingest_leaves_the_tally_alone(
    ingest_runtime: Runtime, session: Session, started: datetime
) -> None:
    import pytest

    from callvault.errors import CallvaultError

    with pytest.raises(CallvaultError), transaction(ingest_runtime.sessions) as s:
        ingest_recording(
            s, ingest_runtime, io.BytesIO(b"not audio"), meta("tally-bad", started),
            actor="system", source="test",
        )  # fmt: skip
    assert live_count(session) == _counted(session) == 0
