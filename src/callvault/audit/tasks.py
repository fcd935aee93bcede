"""Audit jobs: sign the chain head every CALLVAULT_AUDIT_CHECKPOINT_MINUTES."""

from __future__ import annotations

from callvault.audit.checkpoints import checkpoint_now
from callvault.config import Settings
from callvault.runtime import get_runtime
from callvault.worker.queue import every_minutes, huey

CHECKPOINT_MINUTES = Settings().audit_checkpoint_minutes


@huey.periodic_task(every_minutes(CHECKPOINT_MINUTES), retries=2, retry_delay=60)  # type: ignore[untyped-decorator]
def audit_checkpoint() -> None:
    """Sign the newest entry, if there is one since the last checkpoint."""
    checkpoint_now(get_runtime())
