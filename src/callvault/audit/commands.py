"""`callvault audit verify | checkpoint | tail | refusals`: check and read the audit trail."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

audit_app = typer.Typer(help="The audit trail (§6, §8): verify, checkpoint and read it.")


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@audit_app.command("verify")
def verify(
    key: Path | None = typer.Option(
        None, "--key", help="Signing key or its .pub.pem (default: CALLVAULT_AUDIT_SIGNING_KEY)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check every entry's hash and link and every checkpoint; exit 1 at the first damage."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from callvault.audit.signing import CheckpointVerifier, load_verifier
    from callvault.audit.verify import verification_connection, verify_chain
    from callvault.errors import KeyringError
    from callvault.runtime import get_runtime

    runtime = get_runtime()
    console = Console(stderr=True)
    verifier: CheckpointVerifier | None
    try:
        verifier = load_verifier(key or runtime.settings.resolved_audit_signing_key)
    except KeyringError as exc:
        console.print(f"[yellow]warning:[/] {exc.message}; checkpoint signatures are not checked")
        verifier = None
    with verification_connection(runtime) as connection:
        total = connection.exec_driver_sql("SELECT seq FROM audit_head WHERE id = 1").scalar()
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=as_json or not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task("Verifying audit trail", total=total or None)
            report = verify_chain(connection, verifier, on_progress=lambda n: bar.advance(task, n))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    elif report.ok:
        typer.echo(
            f"audit trail OK: {report.entries} entries, {report.checkpoints} checkpoints "
            f"(last at entry {report.last_checkpoint_seq})"
        )
    else:
        typer.echo(f"audit trail DAMAGED: first bad entry {report.first_bad_seq}")
        for problem in report.problems:
            typer.echo(f"  {problem.kind}: {problem.message}")
        if report.problem_count > len(report.problems):
            typer.echo(f"  ... {report.problem_count - len(report.problems)} more")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
def checkpoint(
    force: bool = typer.Option(False, "--force", help="Sign even if nothing is new."),
) -> None:
    """Sign the chain head now (the worker also does it every few minutes)."""
    from callvault.audit.checkpoints import checkpoint_now
    from callvault.runtime import get_runtime

    made = checkpoint_now(get_runtime(), force=force)
    if made is None:
        typer.echo("nothing new to sign")
    else:
        typer.echo(f"checkpoint signed at entry {made.seq} ({made.hash[:16]}…)")


@audit_app.command("tail")
def tail(
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=500),
    actor: str | None = typer.Option(None, help="account:<uuid>, service:<uuid>, system…"),
    action: str | None = typer.Option(None, help="e.g. recording.play, or recording.*"),
    object_type: str | None = typer.Option(None, "--object-type"),
    object_id: str | None = typer.Option(None, "--object-id"),
    outcome: str | None = typer.Option(None, help="ok, refused or error"),
    since: str | None = typer.Option(None, help="ISO time (UTC if no offset), inclusive"),
    until: str | None = typer.Option(None, help="ISO time, exclusive"),
    before_seq: int | None = typer.Option(None, "--before-seq", help="Page: entries before this"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """The newest entries, filtered, newest first."""
    from callvault.audit.api import entry_json
    from callvault.audit.queries import search
    from callvault.db import transaction
    from callvault.runtime import get_runtime

    with transaction(get_runtime().sessions) as session:
        entries = search(
            session,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            outcome=outcome,
            since=_when(since),
            until=_when(until),
            limit=limit,
            before_seq=before_seq,
        )
        for entry in entries:
            if as_json:
                typer.echo(json.dumps(entry_json(entry), ensure_ascii=False))
            else:
                obj = f"{entry.object_type}:{entry.object_id}" if entry.object_type else "-"
                reason = f' "{entry.reason}"' if entry.reason else ""
                typer.echo(
                    f"{entry.seq:>8} {entry.at:%Y-%m-%d %H:%M:%S}Z {entry.outcome:<7} "
                    f"{entry.action:<22} {entry.actor} {obj} {entry.source or '-'}{reason}"
                )


@audit_app.command("refusals")
def refusals(
    since: str | None = typer.Option(None, help="ISO time (default: 30 days ago)"),
    until: str | None = typer.Option(None, help="ISO time, exclusive (default: now)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Refused attempts per user and day (the DPO's list)."""
    from callvault.audit.queries import refusals_by_actor_and_day
    from callvault.db import transaction
    from callvault.runtime import get_runtime

    runtime = get_runtime()
    end = _when(until) or runtime.clock.now() + timedelta(seconds=1)
    start = _when(since) or end - timedelta(days=30)
    with transaction(runtime.sessions) as session:
        rows = refusals_by_actor_and_day(session, start, end)
    for row in rows:
        if as_json:
            typer.echo(json.dumps({"actor": row.actor, "day": str(row.day), "count": row.count}))
        else:
            typer.echo(f"{row.day} {row.count:>6} {row.actor}")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
