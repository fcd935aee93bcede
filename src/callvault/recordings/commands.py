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


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
