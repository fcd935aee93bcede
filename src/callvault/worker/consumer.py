"""Running huey consumers: `callvault worker`, and the one embedded in `callvault serve`."""

from __future__ import annotations

import threading
from typing import Any

import structlog
from huey.consumer import Consumer

from callvault.runtime import Runtime
from callvault.worker.queue import huey, load_task_modules

log = structlog.get_logger(__name__)


class EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """A consumer that lives inside the web server's process and leaves its signals alone.

    huey's consumer installs SIGINT/SIGTERM handlers; inside uvicorn those belong to the server,
    which stops us through the app's shutdown hook instead.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.started = threading.Event()

    def start(self) -> None:
        super().start()
        self.started.set()

    def _set_signal_handlers(self) -> None:
        return None


def prepare(runtime: Runtime) -> list[str]:
    """Point the queue at the runtime's queue URL and import every part's tasks."""
    huey.use(runtime.settings.resolved_queue_url)
    return load_task_modules()


def run_worker(runtime: Runtime, *, workers: int = 1, periodic: bool = True) -> None:
    """Run a consumer in the foreground until SIGINT/SIGTERM (the `callvault worker` command)."""
    modules = prepare(runtime)
    log.info("worker_starting", workers=workers, periodic=periodic, task_modules=modules)
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=periodic, check_worker_health=True
    )
    consumer.run()


class EmbeddedWorker:
    """One consumer thread pool started with the app and stopped with it."""

    def __init__(self, runtime: Runtime, *, workers: int = 1, shutdown_timeout: float = 30.0):
        self.runtime = runtime
        self.workers = workers
        self.shutdown_timeout = shutdown_timeout
        self._consumer: EmbeddedConsumer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        modules = prepare(self.runtime)
        self._consumer = EmbeddedConsumer(
            huey,
            workers=self.workers,
            worker_type="thread",
            periodic=True,
            check_worker_health=True,
            shutdown_timeout=self.shutdown_timeout,
            # An idle worker polls at most every 2 s: cheap on SQLite, and shutdown (which
            # waits for a sleeping worker) and a withdrawal's clean-up job stay prompt.
            max_delay=2.0,
        )
        # Consumer.run() loops on its stop flag and restarts dead worker threads.
        self._thread = threading.Thread(
            target=self._consumer.run, name="callvault-embedded-worker", daemon=True
        )
        self._thread.start()
        log.info("embedded_worker_started", workers=self.workers, task_modules=modules)

    def stop(self, **_: Any) -> None:
        if self._consumer is None:
            return
        # A stop that races the start would join threads not yet started: let the start finish.
        self._consumer.started.wait(self.shutdown_timeout)
        self._consumer.stop(graceful=True)
        if self._thread is not None:
            self._thread.join(self.shutdown_timeout)
        self._consumer = None
        self._thread = None
        log.info("embedded_worker_stopped")
