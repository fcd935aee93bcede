"""What `/metrics` answers: the in-process instruments plus figures read from the store and the
queue at scrape time (each taken from the part that owns it)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import structlog
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.orm import Session

from callvault.db import transaction
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class StoreFigures:
    """The figures an operator alerts on; counts and ages only, nothing about a person."""

    deletions_overdue: int = 0
    pseudonymisation_backlog: int = 0
    pseudonymisation_oldest_at: datetime | None = None
    provider_deletions_pending: int = 0
    provider_deletions_oldest_at: datetime | None = None
    jobs: dict[str, tuple[int, float | None]] = field(default_factory=dict)
    queue_readable: bool = True


def pseudonymisation_backlog(session: Session) -> tuple[int, datetime | None]:
    """Recordings still waiting for their pseudonymised variant (failed runs excluded: they are
    counted by the failure counter and shown on the IT dashboard), and the oldest one's time."""
    from callvault.recordings.models import Recording, RecordingState
    from callvault.redaction.models import JobStatus, RedactionJob

    waiting = (
        sa.select(sa.func.count(), sa.func.min(Recording.created_at))
        .select_from(Recording)
        .outerjoin(RedactionJob, RedactionJob.recording_id == Recording.id)
        .where(Recording.state.in_([RecordingState.INGESTED, RecordingState.PROCESSING]))
        .where(sa.or_(RedactionJob.id.is_(None), RedactionJob.status != JobStatus.FAILED))
    )
    count, oldest = session.execute(waiting).one()
    return int(count or 0), oldest


def store_figures(runtime: Runtime) -> StoreFigures:
    from callvault.retention.service import overdue_count
    from callvault.telephony.status import transfer_status
    from callvault.worker.queue import queued_jobs

    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        overdue = overdue_count(session, now)
        backlog, backlog_oldest = pseudonymisation_backlog(session)
        transfers = transfer_status(session, limit=0)
    try:
        jobs, readable = queued_jobs(), True
    except Exception as exc:  # a broken queue is reported, it does not hide the other figures
        log.warning("metrics_queue_unreadable", error=type(exc).__name__)
        jobs, readable = {}, False
    return StoreFigures(
        deletions_overdue=overdue,
        pseudonymisation_backlog=backlog,
        pseudonymisation_oldest_at=backlog_oldest,
        provider_deletions_pending=transfers.pending_provider_deletions,
        provider_deletions_oldest_at=transfers.oldest_unfinished_at,
        jobs=jobs,
        queue_readable=readable,
    )


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


class StoreCollector:
    """Gauges computed from the database and the queue each time Prometheus scrapes."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        figures = store_figures(self.runtime)
        now = self.runtime.clock.now()
        yield _gauge(
            "callvault_deletions_overdue",
            "Recordings past their retention and not yet fully deleted (must be 0).",
            figures.deletions_overdue,
        )
        yield _gauge(
            "callvault_pseudonymisation_backlog",
            "Recordings waiting for pseudonymisation.",
            figures.pseudonymisation_backlog,
        )
        yield _gauge(
            "callvault_pseudonymisation_backlog_oldest_age_seconds",
            "How long the oldest recording waiting for pseudonymisation has waited (0: none).",
            _age(now, figures.pseudonymisation_oldest_at),
        )
        yield _gauge(
            "callvault_provider_deletions_pending",
            "Recordings whose copy at the telephony provider is not deleted yet.",
            figures.provider_deletions_pending,
        )
        yield _gauge(
            "callvault_provider_deletions_oldest_age_seconds",
            "How long the oldest copy left at the provider has been there (0: none).",
            _age(now, figures.provider_deletions_oldest_at),
        )
        queued = GaugeMetricFamily(
            "callvault_jobs_queued", "Jobs waiting in the queue, by task.", labels=["task"]
        )
        oldest = GaugeMetricFamily(
            "callvault_job_oldest_age_seconds",
            "How long the oldest waiting job of each task has waited since first queued.",
            labels=["task"],
        )
        wall = time.time()
        for task, (count, first_at) in sorted(figures.jobs.items()):
            queued.add_metric([task], count)
            oldest.add_metric([task], max(0.0, wall - first_at) if first_at else 0.0)
        yield queued
        yield oldest
        yield _gauge(
            "callvault_queue_readable",
            "1 when the job queue could be read for these figures, 0 when not.",
            1 if figures.queue_readable else 0,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class _ThisProcess:
    """The default registry's metrics (this process's instruments, platform collectors)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def scrape_registry(runtime: Runtime) -> CollectorRegistry:
    """A registry holding everything `/metrics` shows: the instruments (summed over every
    process of the host in multiprocess mode) and the store's figures."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(StoreCollector(runtime))
    return registry


def exposition(runtime: Runtime) -> bytes:
    """The Prometheus text exposition of `scrape_registry`."""
    return generate_latest(scrape_registry(runtime))
