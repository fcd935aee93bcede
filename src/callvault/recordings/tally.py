"""The live-recording tally: adjusted in the same transaction as each change, read as a sum.

Every ORM change is seen by one session hook (a recording added live, moved out of the live
states, or deleted while live); bulk statements that move recordings out of the live states
(the retention claim) call `adjust` with their row count. Nothing else is needed from a new
piece of code that stores or deletes recordings through the ORM.
"""

from __future__ import annotations

import random
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callvault.recordings.models import TALLY_SLOTS, Recording, RecordingState, RecordingTally

LIVE: frozenset[str] = frozenset(
    {RecordingState.INGESTED, RecordingState.PROCESSING, RecordingState.READY}
)


def adjust(session: Session, delta: int) -> None:
    """Add `delta` to the live tally in the session's transaction (a row appears when needed)."""
    if delta == 0:
        return
    slot = random.randrange(TALLY_SLOTS)  # noqa: S311 (spreading writes, not secrecy)
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = RecordingTally.__table__
    stmt = insert(table).values(slot=slot, live=delta)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.slot], set_={"live": table.c.live + delta}
    )
    session.connection().execute(stmt)


def live_count(session: Session) -> int:
    """Recordings stored and live, exact as of the session's snapshot."""
    total = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(RecordingTally.live), 0)))
    return int(total or 0)


def _was_live(recording: Recording) -> bool | None:
    """Whether a changed recording was live before this flush (None: state did not change)."""
    history = sa.inspect(recording).attrs.state.history
    if not history.has_changes():
        return None
    before = history.deleted[0] if history.deleted else None
    return before in LIVE


@event.listens_for(Session, "after_flush")
def _count_changes(session: Session, _context: Any) -> None:
    delta = 0
    for obj in session.new:
        if isinstance(obj, Recording) and (obj.state or RecordingState.INGESTED) in LIVE:
            delta += 1
    for obj in session.dirty:
        if isinstance(obj, Recording):
            was = _was_live(obj)
            if was is not None and was != (obj.state in LIVE):
                delta += 1 if obj.state in LIVE else -1
    for obj in session.deleted:
        if isinstance(obj, Recording):
            was = _was_live(obj)
            if was if was is not None else obj.state in LIVE:
                delta -= 1
    adjust(session, delta)
