"""`callvault withdraw --number …` / `--call-reference …`: the same withdrawal as the API."""

from __future__ import annotations

import typer


def withdraw_command(
    number: str | None = typer.Option(None, "--number", help="The caller's number, any form."),
    call_reference: str | None = typer.Option(
        None, "--call-reference", help="The call id or recording id."
    ),
) -> None:
    """Register a caller's withdrawal of consent; their recordings become unreadable at once."""
    from callvault.db import transaction
    from callvault.retention.service import finish_deletions
    from callvault.runtime import get_runtime
    from callvault.withdrawal.service import withdraw

    if (number is None) == (call_reference is None):
        raise typer.BadParameter("give either --number or --call-reference")
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        receipt = withdraw(
            session,
            runtime,
            number=number,
            call_reference=call_reference,
            actor="system",
            channel="cli",
        )
    # The queued job would do this too; from the command line there may be no worker running.
    finish_deletions(runtime)
    typer.echo(f"Withdrawal registered. Reference: {receipt.reference}")
    typer.echo("Any recordings are unreadable and removed now.")


def register(app: typer.Typer) -> None:
    app.command("withdraw")(withdraw_command)
