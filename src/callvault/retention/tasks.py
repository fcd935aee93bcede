"""Retention jobs: the periodic sweep, and finishing deletions begun elsewhere (withdrawal)."""

from __future__ import annotations

import uuid

from callvault.config import Settings
from callvault.retention.service import delete_expired_recordings, finish_deletions
from callvault.runtime import get_runtime
from callvault.worker.queue import every_minutes, huey

RETENTION_INTERVAL_MINUTES = Settings().retention_interval_minutes


@huey.periodic_task(every_minutes(RETENTION_INTERVAL_MINUTES), retries=2, retry_delay=60)  # type: ignore[untyped-decorator]
def retention_sweep() -> None:
    """Every CALLVAULT_RETENTION_INTERVAL_MINUTES: delete what is due, finish what was begun."""
    runtime = get_runtime()
    delete_expired_recordings(runtime, batch_size=runtime.settings.retention_batch_size)


@huey.task(retries=5, retry_delay=30)  # type: ignore[untyped-decorator]
def finish_recording_deletions(recording_ids: list[str]) -> None:
    """Remove the blobs of recordings already made unreadable (keys destroyed) and mark them."""
    finish_deletions(get_runtime(), recording_ids=[uuid.UUID(i) for i in recording_ids])
