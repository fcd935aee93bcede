"""The `callvault worker` command: a huey consumer running every part's background jobs."""

from __future__ import annotations

import typer


def worker(
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Worker threads."),
    periodic: bool = typer.Option(
        True, "--periodic/--no-periodic", help="Also schedule periodic jobs (retention sweep)."
    ),
) -> None:
    """Run background jobs (retention, withdrawal clean-up, DSAR bundles) from the queue."""
    from callvault.runtime import get_runtime
    from callvault.worker.consumer import run_worker

    runtime = get_runtime()
    runtime.settings.check_production_ready()
    run_worker(runtime, workers=workers, periodic=periodic)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
