"""Accounts jobs: forget old login counts and sessions once an hour."""

from __future__ import annotations

import structlog

from callvault.accounts.service import purge_login_records
from callvault.db import transaction
from callvault.runtime import get_runtime
from callvault.worker.queue import every_minutes, huey

log = structlog.get_logger(__name__)


@huey.periodic_task(every_minutes(60), retries=1, retry_delay=300)  # type: ignore[untyped-decorator]
def purge_login_records_task() -> None:
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        purged = purge_login_records(session, runtime.clock.now())
    log.info(
        "login_records_purged",
        failures=purged.failures,
        throttles=purged.throttles,
        sessions=purged.sessions,
    )
