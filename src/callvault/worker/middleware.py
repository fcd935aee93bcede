"""Starts the embedded huey consumer with `callvault serve` and stops it on shutdown."""

from __future__ import annotations

import structlog
from fastapi import FastAPI

from callvault.runtime import Runtime
from callvault.worker.consumer import EmbeddedWorker
from callvault.worker.queue import huey, is_redis

log = structlog.get_logger(__name__)


def should_embed(runtime: Runtime) -> bool:
    """Embed a consumer when configured to, with the local SQLite queue, outside tests.

    With a Redis queue the jobs belong to `callvault worker` processes (set
    CALLVAULT_EMBEDDED_WORKER=false to say so explicitly). Tests run tasks with
    `callvault.worker.queue.immediate()` instead, so a background thread never touches a
    test's rolled-back transaction.
    """
    settings = runtime.settings
    if not settings.embedded_worker or settings.env == "test" or huey.immediate:
        return False
    if is_redis(settings.resolved_queue_url):
        log.info("embedded_worker_off", reason="redis queue; run `callvault worker`")
        return False
    return True


def install(app: FastAPI) -> None:
    """Add startup and shutdown hooks that run the embedded worker when it should run."""
    runtime: Runtime = app.state.runtime
    worker = EmbeddedWorker(runtime)
    app.state.embedded_worker = worker

    def _start() -> None:
        if should_embed(runtime):
            worker.start()

    app.router.add_event_handler("startup", _start)
    app.router.add_event_handler("shutdown", worker.stop)
