"""While a restore has not finished its replay, the worker runs no job (it would act on a
database that is being replaced); the periodic sweep does their work once it has."""

from __future__ import annotations

from typing import Any

import structlog
from huey.exceptions import CancelExecution

from callvault.backup.marker import restore_unfinished
from callvault.runtime import get_runtime
from callvault.worker.queue import huey

log = structlog.get_logger(__name__)


@huey.pre_execute()  # type: ignore[untyped-decorator]
def hold_jobs_while_restoring(task: Any) -> None:
    if restore_unfinished(get_runtime()):
        log.warning("job_held_restore_unfinished", task=getattr(task, "name", "?"))
        raise CancelExecution(retry=True)
