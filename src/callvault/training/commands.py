"""`callvault training list [--state S] [--json]`: the clips of the training library."""

from __future__ import annotations

import json

import typer

training_app = typer.Typer(help="The training library (§1, §3): reviewed, pseudonymised clips.")


@training_app.command("list")
def list_command(
    state: str | None = typer.Option(
        None, "--state", help="draft, approved, rejected or removed (default: all)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON array instead of a table."),
) -> None:
    """List clips: id, state, title, tags, length and version (no audio, no transcript)."""
    from callvault.db import transaction
    from callvault.errors import InvalidInput
    from callvault.runtime import get_runtime
    from callvault.training.library import all_clips

    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        try:
            clips = all_clips(session, state)
        except InvalidInput as exc:
            raise typer.BadParameter(exc.message, param_hint="--state") from None
        rows = [
            {
                "id": str(c.id),
                "state": c.state,
                "title": c.title,
                "tags": c.tag_codes,
                "recording_id": str(c.recording_id),
                "start": c.start_s,
                "end": c.end_s,
                "version": c.version,
                "created_at": c.created_at.isoformat(),
            }
            for c in clips
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Utbildningsklipp / Training clips")
    for column in ("id", "state", "title", "tags", "length", "version"):
        table.add_column(column)
    for row in rows:
        tags = row["tags"]
        length = float(str(row["end"])) - float(str(row["start"]))
        table.add_row(
            str(row["id"]),
            str(row["state"]),
            str(row["title"]),
            ", ".join(tags if isinstance(tags, list) else []),
            f"{length:.1f} s",
            str(row["version"]),
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(training_app, name="training")
