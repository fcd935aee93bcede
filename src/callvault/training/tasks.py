"""Training jobs: re-mask a recording's pseudonymised variant after a leak report."""

from __future__ import annotations

import uuid

from callvault.runtime import get_runtime
from callvault.worker.queue import huey


@huey.task(retries=3, retry_delay=30)  # type: ignore[untyped-decorator]
def remask_pseudonymised_variant(recording_id: str) -> None:
    """The marks are stored; this job applies them to the stored variant (idempotent)."""
    from callvault.errors import NotFound
    from callvault.training.leaks import remask_variant

    try:
        remask_variant(get_runtime(), uuid.UUID(recording_id))
    except NotFound:
        return  # deleted meanwhile, or no variant yet: the next pseudonymisation applies the mark
