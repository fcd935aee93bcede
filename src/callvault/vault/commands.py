"""Vault commands: `callvault keys rotate` and `callvault fsck`."""

from __future__ import annotations

import json
from datetime import timedelta

import typer

keys_app = typer.Typer(help="Key-encryption keys.", no_args_is_help=True)


@keys_app.command("rotate")
def rotate() -> None:
    """Add a new key-encryption key and re-wrap every data key under it (audio untouched)."""
    from callvault.cli import runtime
    from callvault.vault.rotation import rotate_keys

    report = rotate_keys(runtime())
    typer.echo(
        f"active key {report.kek_id}: re-wrapped {report.data_keys} data keys and "
        f"{report.sealed_fields} sealed fields"
    )


@keys_app.command("epochs")
def epochs(as_json: bool = typer.Option(False, "--json", help="Print the epochs as JSON.")) -> None:
    """List the key epochs: week, recordings, and whether the KEK is live or destroyed.
    Lista nyckelepoker: vecka, inspelningar och om nyckeln lever eller är förstörd."""
    from callvault.cli import runtime
    from callvault.vault.epochs import summarise_epochs

    summaries = summarise_epochs(runtime())
    if as_json:
        typer.echo(json.dumps([s.as_dict() for s in summaries]))
        return
    for s in summaries:
        when = f" {s.destroyed_at}" if s.destroyed_at else ""
        typer.echo(
            f"{s.epoch}  {s.week_start}..{s.week_end}  {s.recordings:>7} recordings  "
            f"KEK {s.kek}{when}"
        )
    if not summaries:
        typer.echo("no key epochs yet / inga nyckelepoker ännu")


def fsck(
    repair: bool = typer.Option(False, "--repair", help="Remove orphans, not only report."),
    grace_minutes: float = typer.Option(
        10.0, help="Leave blobs younger than this alone (an ingest may still be committing)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check that every row has its blob and key and every blob its row; exit 1 if not."""
    from callvault.cli import runtime
    from callvault.vault.fsck import fsck as run_fsck

    report = run_fsck(runtime(), repair=repair, grace=timedelta(minutes=grace_minutes))
    if as_json:
        findings = [f.__dict__ for f in report.findings]
        typer.echo(
            json.dumps(
                {
                    "consistent": report.consistent,
                    "artifacts": report.artifacts,
                    "blobs": report.blobs,
                    "skipped_young": report.skipped_young,
                    "findings": findings,
                }
            )
        )
    else:
        for finding in report.findings:
            status = "removed" if finding.repaired else "found"
            typer.echo(f"{status}: {finding.kind} {finding.ref}")
        typer.echo(
            f"{report.artifacts} artifacts, {report.blobs} blobs, "
            f"{len(report.findings)} problems"
            + (f", {report.skipped_young} young blobs left alone" if report.skipped_young else "")
        )
    if not report.consistent:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.command("fsck")(fsck)
