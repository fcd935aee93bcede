"""One audit entry per listen (§6): the player fetches a recording in many Range requests, and a
data subject's access log should show one play per person, recording and reason, with the parts
that were played, not one entry per request.

A listen is the plays by one person of one recording under one purpose, variant and reason,
until 30 minutes pass without another range. Its first range writes the `recording.play` entry
(the trail is append-only); later ranges are merged into its `PlaySession` row. Downloads and
transcripts stay one entry per request.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.access.models import AccessGrant, PlaySession
from callvault.accounts.auth import Principal
from callvault.runtime import Runtime

LISTEN_WINDOW = timedelta(minutes=30)  # since the listen's last range
MAX_RANGES = 200  # merged ranges kept per listen; beyond that the last one is widened


def listen_key(
    runtime: Runtime, actor: str, recording_id: uuid.UUID, grant: AccessGrant, reason: str
) -> str:
    """A keyed hash of who, what and why: the reason is free text and stays in the trail only."""
    text = "\x1f".join((actor, str(recording_id), grant.purpose_code, grant.variant, reason))
    secret = runtime.settings.session_secret()
    return hmac.new(secret, b"listen:" + text.encode(), hashlib.sha256).hexdigest()


def merged(ranges: list[list[int]], start: int, end: int) -> list[list[int]]:
    """`ranges` with [start, end) added, overlapping and touching ranges joined, sorted."""
    result: list[list[int]] = []
    for lo, hi in sorted([*ranges, [start, end]]):
        if result and lo <= result[-1][1]:
            result[-1][1] = max(result[-1][1], hi)
        else:
            result.append([lo, hi])
    while len(result) > MAX_RANGES:
        last = result.pop()
        result[-1][1] = last[1]
    return result


def record_play(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    *,
    recording_id: uuid.UUID,
    grant: AccessGrant,
    reason: str,
    played: tuple[int, int],
    source: str | None,
) -> PlaySession:
    """Add the bytes [start, end) to this person's open listen, or begin a new one (audited)."""
    now = runtime.clock.now()
    key = listen_key(runtime, principal.actor, recording_id, grant, reason)
    listen = _open(session, key)
    if listen is not None and listen.last_at >= now - LISTEN_WINDOW:
        return _extend(session, listen, played, now)
    if listen is not None:
        listen.open_key = None  # the window has passed: that listen is over
        session.flush()
    fresh = PlaySession(
        key=key,
        open_key=key,
        actor=principal.actor,
        recording_id=recording_id,
        started_at=now,
        last_at=now,
        ranges=[list(played)],
    )
    try:
        with session.begin_nested():
            session.add(fresh)
    except sa.exc.IntegrityError:  # a parallel range of the same listen opened it first
        listen = _open(session, key)
        if listen is None:
            raise
        return _extend(session, listen, played, now)
    from callvault.audit.service import record

    entry = record(
        session,
        actor=principal.actor,
        action="recording.play",
        object_type="recording",
        object_id=str(recording_id),
        reason=f"{grant.purpose_code}: {reason}" if reason else None,
        source=source,
        details={
            "grant": str(grant.id),
            "variant": grant.variant,
            "purpose": grant.purpose_code,
            "listen": str(fresh.id),
        },
    )
    fresh.audit_seq = entry.seq
    session.flush()
    return fresh


def _open(session: Session, key: str) -> PlaySession | None:
    stmt = sa.select(PlaySession).where(PlaySession.open_key == key).with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def _extend(
    session: Session, listen: PlaySession, played: tuple[int, int], now: datetime
) -> PlaySession:
    listen.ranges = merged([list(r) for r in listen.ranges], *played)
    listen.last_at = now
    session.flush()
    return listen


def ranges_by_entry(session: Session, seqs: list[int]) -> dict[int, list[list[int]]]:
    """The byte ranges of the listens that began with these `recording.play` entries."""
    if not seqs:
        return {}
    rows = session.execute(
        sa.select(PlaySession.audit_seq, PlaySession.ranges).where(PlaySession.audit_seq.in_(seqs))
    ).all()
    return {int(seq): list(ranges) for seq, ranges in rows if seq is not None}
