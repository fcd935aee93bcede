"""Quality jobs: evaluation results kept past their recording are deleted when their time is up."""

from __future__ import annotations

from callvault.db import transaction
from callvault.quality.dependents import delete_expired_results
from callvault.runtime import get_runtime
from callvault.worker.queue import every_minutes, huey


@huey.periodic_task(every_minutes(60), retries=2, retry_delay=60)  # type: ignore[untyped-decorator]
def expired_results_sweep() -> None:
    """Hourly: delete evaluation results whose registered longer retention has run out."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        delete_expired_results(session, runtime.clock.now())
