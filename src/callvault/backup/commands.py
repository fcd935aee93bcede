"""`callvault backup create OUT`, `backup verify OUT`, `backup restore IN --yes`."""

from __future__ import annotations

from pathlib import Path

import typer

backup_app = typer.Typer(
    help="Backups and restores that never bring an erased call back. / Säkerhetskopior.",
    no_args_is_help=True,
)


@backup_app.command("create")
def create(out: Path = typer.Argument(..., help="A new directory for the backup.")) -> None:
    """Take a consistent backup while callvault runs. / Ta en säkerhetskopia."""
    from callvault.backup.service import create_backup
    from callvault.cli import runtime

    with typer.progressbar(length=0, label="blobs / filer") as bar:

        def total(n: int) -> None:
            bar.length = n

        summary = create_backup(runtime(), out, on_total=total, progress=bar.update)
    where = "included" if summary.blobs_included else "listed only (s3: versioning holds them)"
    typer.echo(
        f"backup {summary.backup_id} written to {summary.path}: "
        f"{summary.blobs} blobs {where}; no key-encryption key is in it"
    )


@backup_app.command("verify")
def verify(path: Path = typer.Argument(..., help="The backup directory.")) -> None:
    """Check every file of a backup against its signed checksum manifest. / Kontrollera."""
    from callvault.backup.service import verify_backup
    from callvault.cli import runtime

    result = verify_backup(runtime(), path)
    for problem in result.problems:
        typer.echo(f"problem: {problem}")
    if not result.ok:
        typer.echo("backup is NOT intact / säkerhetskopian är INTE hel")
        raise typer.Exit(1)
    typer.echo(
        f"backup {result.manifest['backup_id']} is intact: "
        f"{len(result.manifest['files'])} files checked / säkerhetskopian är hel"
    )


@backup_app.command("restore")
def restore(
    path: Path = typer.Argument(..., help="The backup directory."),
    yes: bool = typer.Option(False, "--yes", help="Replace the configured database. / Ersätt."),
    without_journal: bool = typer.Option(
        False,
        "--without-journal",
        help="Restore without replaying the erasure journal (audited; shown to the DPO).",
    ),
) -> None:
    """Restore a backup, then replay every erasure since, before anything is served."""
    from callvault.backup.restore import restore_backup
    from callvault.cli import runtime

    if not yes:
        typer.echo(
            "restore replaces the configured database; run again with --yes / "
            "återställningen ersätter databasen; kör igen med --yes",
            err=True,
        )
        raise typer.Exit(2)
    summary = restore_backup(
        runtime(),
        path,
        without_journal=without_journal,
        progress=lambda step: typer.echo(f"restoring: {step}"),
    )
    if summary.without_journal:
        typer.secho(
            "restored WITHOUT the erasure journal: erasures since the backup were not replayed "
            "(audited) / återställd UTAN raderingsjournalen",
            fg=typer.colors.YELLOW,
        )
    elif summary.replay is not None:
        typer.echo(
            f"replayed {summary.replay.entries} journal entries: "
            f"{summary.replay.recordings_erased} recordings erased again"
        )
    if summary.beyond_use:
        typer.echo(
            f"{summary.beyond_use} recordings in this backup are beyond use: their key epoch "
            "was destroyed, so no audio of theirs can be read / "
            f"{summary.beyond_use} inspelningar kan aldrig läsas: nyckeln är förstörd"
        )
    typer.echo(
        f"backup {summary.backup_id} restored; {summary.swept} recordings past retention "
        f"deleted; {summary.blobs_restored} blobs put back"
        + (f", {summary.blobs_missing} missing" if summary.blobs_missing else "")
    )


def register(app: typer.Typer) -> None:
    app.add_typer(backup_app, name="backup")
