"""`callvault ingest AUDIO --meta META.json`: the same ingest as the API, from a shell."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def ingest(
    audio: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="WAV, FLAC, Ogg/Opus or MP3."
    ),
    meta: Path = typer.Option(..., "--meta", exists=True, dir_okay=False, help="Metadata JSON."),
    as_json: bool = typer.Option(False, "--json", help="Print {id, state, created} as JSON."),
) -> None:
    """Ingest one consented recording and print its id."""
    from callvault.cli import runtime
    from callvault.db import transaction
    from callvault.recordings.service import ingest_recording, parse_metadata

    rt = runtime()
    metadata = parse_metadata(meta.read_bytes())
    with audio.open("rb") as handle, transaction(rt.sessions) as session:
        result = ingest_recording(session, rt, handle, metadata, actor="system", source="cli")
    if as_json:
        typer.echo(
            json.dumps(
                {"id": str(result.id), "state": str(result.state), "created": result.created}
            )
        )
    else:
        typer.echo(str(result.id))


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
