"""`callvault retention run [--dry-run]`: the same sweep the worker runs, with a progress bar."""

from __future__ import annotations

import typer

retention_app = typer.Typer(help="Retention (§7): delete recordings whose time has run out.")


@retention_app.command("run")
def run(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what is due; delete nothing."),
    batch_size: int | None = typer.Option(
        None, "--batch-size", min=1, help="Recordings per batch (default: settings)."
    ),
) -> None:
    """Delete every recording past its expiry time, with everything derived from it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from callvault.retention.service import delete_expired_recordings
    from callvault.runtime import get_runtime

    console = Console()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=dry_run,
    ) as bar:
        task = bar.add_task("Deleting recordings", total=None)
        runtime = get_runtime()
        result = delete_expired_recordings(
            runtime,
            dry_run=dry_run,
            batch_size=batch_size or runtime.settings.retention_batch_size,
            progress=lambda n: bar.advance(task, n),
            on_total=lambda n: bar.update(task, total=n),
        )
    table = Table(title="Retention dry run" if dry_run else "Retention run")
    table.add_column("")
    table.add_column("recordings", justify="right")
    table.add_row("past their expiry time", str(result.due))
    if not dry_run:
        table.add_row("deletion begun", str(result.begun))
        table.add_row("deletion finished", str(result.finished))
        table.add_row("blobs deleted", str(result.blobs_deleted))
        table.add_row("consent evidence deleted", str(result.consent_evidence_deleted))
    table.add_row("still overdue", str(result.overdue_after))
    console.print(table)
    if not dry_run and result.overdue_after:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")
