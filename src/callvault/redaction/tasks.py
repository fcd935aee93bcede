"""Background pseudonymisation: one job per recording id, and a sweep for any that were missed."""

from __future__ import annotations

import uuid

import structlog

from callvault.db import transaction
from callvault.errors import InvalidInput, NotFound, ProcessingError
from callvault.redaction.model import ModelUnavailable
from callvault.redaction.service import (
    pseudonymise_recording,
    queue_job,
    reclaim_stale_jobs,
    recordings_to_pseudonymise,
    withdraw_failed,
)
from callvault.runtime import get_runtime
from callvault.worker.queue import every_minutes, huey

log = structlog.get_logger(__name__)

# Failures that another try cannot fix: the job row keeps the error code for people to see.
PERMANENT = (InvalidInput, NotFound, ModelUnavailable, ProcessingError)


@huey.task(retries=2, retry_delay=60)  # type: ignore[untyped-decorator]
def pseudonymise(recording_id: str) -> None:
    """Pseudonymise one recording (takes an id only, never personal data)."""
    try:
        pseudonymise_recording(get_runtime(), uuid.UUID(recording_id))
    except PERMANENT as exc:
        log.warning("redaction_not_retried", recording_id=recording_id, error_code=exc.code)


@huey.periodic_task(every_minutes(1))  # type: ignore[untyped-decorator]
def pseudonymise_pending() -> None:
    """Queue every ingested recording that has no pseudonymisation job yet, and take back the
    jobs a crashed worker left running (their recordings would stay `processing` forever)."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        reclaimed = reclaim_stale_jobs(session, runtime)
        ids = recordings_to_pseudonymise(session, runtime.clock.now())
        for recording_id in ids:
            queue_job(session, runtime, recording_id)
        ids += reclaimed.requeued
    withdraw_failed(runtime, reclaimed.failed)
    for recording_id in ids:
        pseudonymise(str(recording_id))
