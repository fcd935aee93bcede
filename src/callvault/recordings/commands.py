"""`callvault ingest AUDIO --meta META.json`: the same ingest as the API, from a shell."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from callvault.errors import CallvaultError, InvalidInput


def _read_metadata(meta: Path) -> bytes:
    try:
        return meta.read_bytes()
    except OSError:
        raise InvalidInput("the metadata file cannot be read") from None


def ingest(
    audio: Path = typer.Argument(..., dir_okay=False, help="WAV, FLAC, Ogg/Opus or MP3."),
    meta: Path = typer.Option(..., "--meta", dir_okay=False, help="Metadata JSON."),
    as_json: bool = typer.Option(
        False,
        "--json",
        help='Print {id, state, created} as JSON; errors as {"error", "message"}, exit code 2.',
    ),
) -> None:
    """Ingest one consented recording and print its id."""
    try:
        document = _ingest(audio, meta)
    except CallvaultError as exc:
        if not as_json:
            raise
        # Scripts read one JSON document from stdout whatever happened; the exit code says which.
        typer.echo(json.dumps(exc.as_document()))
        raise typer.Exit(2) from None
    typer.echo(json.dumps(document) if as_json else document["id"])


def _ingest(audio: Path, meta: Path) -> dict[str, object]:
    from callvault.cli import runtime
    from callvault.db import transaction
    from callvault.recordings.service import ingest_recording, parse_metadata

    rt = runtime()
    metadata = parse_metadata(_read_metadata(meta))
    try:
        handle = audio.open("rb")
    except OSError:
        raise InvalidInput("the audio file cannot be read") from None
    with handle, transaction(rt.sessions) as session:
        result = ingest_recording(session, rt, handle, metadata, actor="system", source="cli")
    return {"id": str(result.id), "state": str(result.state), "created": result.created}


def import_(
    manifest: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help='JSON Lines, one call per line: {"audio": PATH, "meta": {…}} (ingest format).',
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Import calls from a previous recorder, with every ingest check; safe to stop and rerun.

    Ends with a report: imported, already there, refused (line number and reason) and expired
    (past retention, not imported). Exits 1 when a line was refused.
    """
    from dataclasses import asdict

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    from rich.table import Table

    from callvault.cli import runtime
    from callvault.recordings.importer import count_lines, import_manifest

    rt = runtime()
    console = Console(stderr=as_json)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("Importing calls", total=count_lines(manifest))
        report = import_manifest(rt, manifest, progress=lambda n: bar.advance(task, n))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "imported": report.imported,
                    "already_there": report.already_there,
                    "refused": [asdict(p) for p in report.refused],
                    "expired": [asdict(p) for p in report.expired],
                }
            )
        )
    else:
        table = Table(title="Import")
        table.add_column("")
        table.add_column("calls", justify="right")
        table.add_row("imported", str(report.imported))
        table.add_row("already there", str(report.already_there))
        table.add_row("refused", str(len(report.refused)))
        table.add_row("expired (past retention, not imported)", str(len(report.expired)))
        console.print(table)
        for problem in report.refused:
            console.print(
                f"line {problem.line}: refused, {problem.code}: {problem.message}", soft_wrap=True
            )
        for problem in report.expired:
            console.print(
                f"line {problem.line}: expired, {problem.code}: {problem.message}", soft_wrap=True
            )
    if report.refused:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("import")(import_)
