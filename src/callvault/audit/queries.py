"""Reading the audit trail: filtered newest-first pages, and refusals per user and day (DPO)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.audit.models import AuditEntry

MAX_LIMIT = 500


def search(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    before_seq: int | None = None,
) -> list[AuditEntry]:
    """Entries matching every given filter, newest first, at most `limit` (capped at 500).

    Keyset pagination: pass the last entry's `seq` as `before_seq` for the next page. `action`
    ending in ".*" matches a family ("recording.*"). `since` is inclusive, `until` exclusive.
    """
    query = sa.select(AuditEntry)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        if action.endswith(".*"):
            prefix = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(AuditEntry.action.like(f"{prefix}%", escape="\\"))
        else:
            query = query.where(AuditEntry.action == action)
    if object_type is not None:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    if outcome is not None:
        query = query.where(AuditEntry.outcome == outcome)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if before_seq is not None:
        query = query.where(AuditEntry.seq < before_seq)
    limit = max(1, min(limit, MAX_LIMIT))
    return list(session.scalars(query.order_by(AuditEntry.seq.desc()).limit(limit)))


@dataclass(frozen=True)
class RefusalCount:
    """How many refused attempts one actor made on one UTC day."""

    actor: str
    day: date
    count: int


def refusals_by_actor_and_day(
    session: Session, since: datetime, until: datetime
) -> list[RefusalCount]:
    """Refused attempts (outcome "refused") per actor and UTC day in [since, until), newest day
    first, then most refusals first."""
    if session.get_bind().dialect.name == "postgresql":
        day = sa.func.date(sa.func.timezone("UTC", AuditEntry.at))
    else:
        day = sa.func.date(AuditEntry.at)  # SQLite stores UTC text
    count = sa.func.count()
    rows = session.execute(
        sa.select(AuditEntry.actor, day.label("day"), count.label("n"))
        .where(AuditEntry.outcome == "refused", AuditEntry.at >= since, AuditEntry.at < until)
        .group_by(AuditEntry.actor, day)
        .order_by(day.desc(), count.desc(), AuditEntry.actor)
    ).all()
    return [
        RefusalCount(actor, d if isinstance(d, date) else date.fromisoformat(d), int(n))
        for actor, d, n in rows
    ]
