"""`callvault redact`: pseudonymise an audio file from another system with its metadata."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from callvault.errors import CallvaultError


def register(app: typer.Typer) -> None:
    app.command("redact")(redact)


def redact(
    source: Path = typer.Argument(..., help="Call audio (WAV, FLAC, or anything FFmpeg reads)."),
    meta: Path = typer.Option(..., "--meta", help="Call metadata JSON (CALL.meta.json format)."),
    out: Path = typer.Option(..., "--out", help="Redacted audio to write (.wav or .flac)."),
    transcript: Path | None = typer.Option(
        None, "--transcript", help="Also write the pseudonymised transcript (JSON)."
    ),
) -> None:
    """Remove names and other direct identifiers from a call's audio (and transcript)."""
    from callvault.redaction.files import redact_file
    from callvault.runtime import get_runtime

    started = time.monotonic()

    def progress(stage: str, fraction: float) -> None:
        elapsed = time.monotonic() - started
        print(f"redact: {stage} {fraction:4.0%} ({elapsed:.1f}s)", file=sys.stderr, flush=True)

    try:
        result = redact_file(
            source,
            meta,
            out,
            settings=get_runtime().settings,
            transcript=transcript,
            progress=progress,
        )
    except CallvaultError:
        raise
    except Exception as exc:  # the CLI shows a callvault error, never a vendor traceback
        raise CallvaultError("redaction failed") from exc
    masked = sum(s.end - s.start for s in result.spans)
    typer.echo(
        f"redacted {result.audio.duration_s:.1f}s of audio: {len(result.spans)} spans, "
        f"{masked:.1f}s masked -> {out}",
        err=True,
    )
