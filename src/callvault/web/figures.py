"""The dashboards' figures, each taken from the part that owns it; the few plain counts no part
offers (recordings stored, due within a week, storage used) are read-only aggregates here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.runtime import Runtime

WEEKS_SHOWN = 8
SOON = timedelta(days=7)


@dataclass(frozen=True)
class WeekRate:
    week: str  # ISO week, "2026-W09"
    accepted: int
    refused: int
    no_answer: int
    withdrawals: int = 0

    @property
    def offered(self) -> int:
        return self.accepted + self.refused + self.no_answer

    @property
    def rate(self) -> float | None:
        return self.accepted / self.offered if self.offered else None


@dataclass
class DpoFigures:
    stored: int = 0
    due_soon: int = 0
    counted_at: datetime | None = None
    overdue: int = 0
    weeks: list[WeekRate] = field(default_factory=list)
    open_dsars: list[Any] = field(default_factory=list)
    refusals: list[Any] = field(default_factory=list)
    refusals_total: int = 0
    expiring_grants: list[Any] = field(default_factory=list)
    restores_without_journal: list[Any] = field(default_factory=list)


def live_recording_counts(session: Session, now: datetime) -> tuple[int, int]:
    """(recordings stored, of which due for deletion within a week), exact and current.

    Stored is the live tally kept in the same transaction as every change (a sum of a few
    rows); due is a narrow range of the (state, expires_at) index.
    """
    from callvault.recordings.models import Recording
    from callvault.recordings.tally import live_count
    from callvault.retention.service import LIVE_STATES

    live = Recording.state.in_(LIVE_STATES)
    stored = live_count(session)
    due = session.scalar(
        sa.select(sa.func.count())
        .select_from(Recording)
        .where(live, Recording.expires_at > now, Recording.expires_at <= now + SOON)
    )
    return int(stored or 0), int(due or 0)


def weekly_consent(session: Session, today: date, weeks: int = WEEKS_SHOWN) -> list[WeekRate]:
    """The consent service's daily counts, summed per ISO week (oldest first)."""
    from callvault.consent.rate import consent_rate

    monday = today - timedelta(days=today.weekday())
    start = monday - timedelta(weeks=weeks - 1)
    totals: dict[str, list[int]] = {}
    for index in range(weeks):
        year, week, _ = (start + timedelta(weeks=index)).isocalendar()
        totals[f"{year}-W{week:02d}"] = [0, 0, 0, 0]
    for row in consent_rate(session, start, today).rows:
        if row.day is None:
            continue
        year, week, _ = row.day.isocalendar()
        bucket = totals.setdefault(f"{year}-W{week:02d}", [0, 0, 0, 0])
        bucket[0] += row.accepted
        bucket[1] += row.refused
        bucket[2] += row.no_answer
        bucket[3] += row.withdrawals
    return [WeekRate(week, *counts) for week, counts in totals.items()]


def dpo_figures(session: Session, runtime: Runtime, principal: Any) -> DpoFigures:
    from callvault.access.grants import list_grants
    from callvault.access.service import refusals_by_user_and_day
    from callvault.backup.queries import restores_without_journal
    from callvault.dsar.service import ACTIVE, list_requests
    from callvault.retention.service import overdue_count

    now = runtime.clock.now()
    figures = DpoFigures()
    figures.stored, figures.due_soon = live_recording_counts(session, now)
    figures.counted_at = now
    figures.overdue = overdue_count(session, now)
    figures.weeks = weekly_consent(session, now.date())
    figures.open_dsars = [r for r in list_requests(session) if r.status in ACTIVE]
    figures.refusals = refusals_by_user_and_day(
        session, since=now - timedelta(days=7), until=now + timedelta(seconds=1)
    )
    figures.refusals_total = sum(r.count for r in figures.refusals)
    figures.expiring_grants = [
        g
        for g in list_grants(session, runtime, principal, active_only=True)
        if g.valid_until <= now + SOON
    ]
    figures.restores_without_journal = restores_without_journal(session)
    return figures


def consent_chart(weeks: list[WeekRate], labels: dict[str, str]) -> str:
    """Chart.js data for the consent outcomes per week (stacked bars)."""
    return json.dumps(
        {
            "type": "bar",
            "stacked": True,
            "data": {
                "labels": [w.week for w in weeks],
                "datasets": [
                    {"label": labels[key], "data": [getattr(w, key) for w in weeks], "stack": stack}
                    # Withdrawals are not offers of the prompt: a bar of their own beside them.
                    for key, stack in (
                        ("accepted", "offers"),
                        ("refused", "offers"),
                        ("no_answer", "offers"),
                        ("withdrawals", "withdrawals"),
                    )
                ],
            },
        }
    )


# --- IT ----------------------------------------------------------------------------------------


@dataclass
class ItFigures:
    health: dict[str, str] = field(default_factory=dict)
    queue_url: str = ""
    queue_pending: int | None = None
    queue_scheduled: int | None = None
    queue_error: str | None = None
    storage_bytes: int = 0
    artifacts: int = 0
    overdue: int = 0
    unfinished_deletions: int = 0
    last_sweep: datetime | None = None
    last_sweep_deleted: int = 0
    last_sweep_pending: int = 0
    transfers: Any = None
    last_verify: Any = None
    last_checkpoint: Any = None


def _queue(figures: ItFigures) -> None:
    from callvault.worker.queue import huey, is_redis

    figures.queue_url = "redis" if is_redis(huey.url) else "sqlite"
    try:
        figures.queue_pending = int(huey.pending_count())
        figures.queue_scheduled = int(huey.scheduled_count())
    except Exception as exc:  # the dashboard reports a broken queue, it does not crash
        figures.queue_error = type(exc).__name__


def it_figures(session: Session, runtime: Runtime) -> ItFigures:
    from callvault.audit.models import AuditCheckpoint
    from callvault.audit.queries import search
    from callvault.health.service import check_health
    from callvault.retention.models import DeletionReason, DeletionReceipt
    from callvault.retention.service import count_unfinished, overdue_count
    from callvault.telephony.status import transfer_status
    from callvault.vault.models import Artifact

    now = runtime.clock.now()
    figures = ItFigures(health=check_health(runtime).checks)
    _queue(figures)
    size, count = session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(Artifact.plain_size), 0), sa.func.count()
        ).select_from(Artifact)
    ).one()
    figures.storage_bytes, figures.artifacts = int(size), int(count)
    figures.overdue = overdue_count(session, now)
    figures.unfinished_deletions = count_unfinished(session)
    latest = session.scalar(
        sa.select(sa.func.max(DeletionReceipt.started_at)).where(
            DeletionReceipt.reason == DeletionReason.RETENTION
        )
    )
    figures.last_sweep = latest
    if latest is not None:
        batch = sa.and_(
            DeletionReceipt.reason == DeletionReason.RETENTION,
            DeletionReceipt.started_at >= latest - timedelta(minutes=5),
        )
        figures.last_sweep_deleted = int(
            session.scalar(
                sa.select(sa.func.count())
                .select_from(DeletionReceipt)
                .where(batch, DeletionReceipt.deleted_at.is_not(None))
            )
            or 0
        )
        figures.last_sweep_pending = int(
            session.scalar(
                sa.select(sa.func.count())
                .select_from(DeletionReceipt)
                .where(batch, DeletionReceipt.deleted_at.is_(None))
            )
            or 0
        )
    figures.transfers = transfer_status(session, limit=10)
    verified = search(session, action="audit.verify", limit=1)
    figures.last_verify = verified[0] if verified else None
    figures.last_checkpoint = session.scalar(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    )
    return figures
