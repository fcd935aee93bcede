"""Jobs: transfer a provider recording into the vault, retry due transfers, forget old state."""

from __future__ import annotations

import uuid

import structlog

from callvault.db import transaction
from callvault.runtime import get_runtime
from callvault.telephony.housekeeping import due_jobs, purge_finished
from callvault.telephony.transfer import advance_job, discard_expired_failures
from callvault.worker.queue import every_minutes, huey

log = structlog.get_logger(__name__)


@huey.task()  # type: ignore[untyped-decorator]
def transfer_recording(job_id: str) -> None:
    """One pass over the job; if it failed, the next pass is scheduled with backoff.

    The job row, not this message, is the record: if the message is lost, the sweep below
    finds the job when its next attempt falls due.
    """
    result = advance_job(get_runtime(), uuid.UUID(job_id))
    if result.retry_in is not None:
        transfer_recording.schedule((job_id,), delay=result.retry_in)


@huey.periodic_task(every_minutes(5))  # type: ignore[untyped-decorator]
def sweep_recording_transfers() -> None:
    """Queue every unfinished transfer whose next attempt is due."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        due = due_jobs(session, runtime.clock.now())
    for job_id in due:
        transfer_recording(str(job_id))
    if due:
        log.info("provider_transfers_requeued", count=len(due))


@huey.periodic_task(every_minutes(60))  # type: ignore[untyped-decorator]
def purge_telephony_state() -> None:
    """Call states after two days, finished transfer jobs after thirty, unused evidence."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        calls, jobs, evidence = purge_finished(session, runtime.clock.now())
    log.info("telephony_state_purged", calls=calls, jobs=jobs, evidence=evidence)


@huey.periodic_task(every_minutes(60))  # type: ignore[untyped-decorator]
def discard_expired_transfer_failures() -> None:
    """Permanently failed transfers past retention: delete the provider's copy and evidence."""
    done = discard_expired_failures(get_runtime())
    if done:
        log.info("failed_transfers_discarded", count=len(done))
