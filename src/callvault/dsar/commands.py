"""`callvault dsar export --number … --out bundle.zip`: open a request and write its bundle."""

from __future__ import annotations

from pathlib import Path

import typer

dsar_app = typer.Typer(help="Data-subject access requests (§6, GDPR Art. 15).")


@dsar_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="Where to write the ZIP bundle."),
    number: str | None = typer.Option(None, "--number", help="A caller's number, any form."),
    account_email: str | None = typer.Option(
        None, "--account-email", help="An employee, by their account's e-mail."
    ),
    language: str = typer.Option("sv", "--language", help="The report's language: sv or en."),
) -> None:
    """Open a request for a caller or employee, build the bundle and write it to --out."""
    import sqlalchemy as sa

    from callvault.accounts.models import Account
    from callvault.db import transaction
    from callvault.dsar.service import BUNDLE_KIND, build_bundle, open_request
    from callvault.runtime import get_runtime
    from callvault.vault.service import open_artifact

    if (number is None) == (account_email is None):
        raise typer.BadParameter("give either --number or --account-email")
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        account_id = None
        if account_email is not None:
            account_id = session.scalar(
                sa.select(Account.id).where(Account.email == account_email.strip().lower())
            )
            if account_id is None:
                raise typer.BadParameter("no account with that e-mail")
        request = open_request(
            session,
            runtime,
            number=number,
            account_id=account_id,
            language=language,
            actor="system",
            source="cli",
        )
        built = build_bundle(session, runtime, request.id, actor="system", source="cli")
        reader = open_artifact(session, runtime, request.id, BUNDLE_KIND)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as target:
            for chunk in reader.iter():
                target.write(chunk)
        out.chmod(0o600)
    typer.echo(f"Request {request.reference}: bundle written to {out} ({built.size} bytes)")
    typer.echo(f"Answer due by {request.deadline_at:%Y-%m-%d}. Mark it delivered once sent.")


@dsar_app.command("list")
def list_command(
    due_soon: bool = typer.Option(False, "--due-soon", help="Only those due within a week."),
) -> None:
    """List access requests with their status and deadline."""
    from callvault.db import transaction
    from callvault.dsar.service import due_soon as find_due_soon
    from callvault.dsar.service import is_due_soon, list_requests
    from callvault.runtime import get_runtime

    runtime = get_runtime()
    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        found = find_due_soon(session, now) if due_soon else list_requests(session)
        for r in found:
            flag = "  DUE SOON" if is_due_soon(r, now) else ""
            typer.echo(
                f"{r.reference}  {r.subject_kind:<8}  {r.status:<11}  "
                f"due {r.deadline_at:%Y-%m-%d}{flag}"
            )


def register(app: typer.Typer) -> None:
    app.add_typer(dsar_app, name="dsar")
