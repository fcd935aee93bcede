"""`callvault telephony transfers|retry`: provider transfers for IT, as the worker runs them."""

from __future__ import annotations

import uuid

import typer

telephony = typer.Typer(help="The consent IVR and the transfer of provider recordings.")


@telephony.command("transfers")
def transfers() -> None:
    """Unfinished transfers: failures with their error codes and copies left at the provider."""
    from callvault.db import transaction
    from callvault.runtime import get_runtime
    from callvault.telephony.status import transfer_status

    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        status = transfer_status(session)
    counts = ", ".join(f"{state} {count}" for state, count in status.counts.items())
    typer.echo(f"transfers: {counts}")
    typer.echo(f"copies still at the provider: {status.pending_provider_deletions}")
    typer.echo(f"failed permanently (not retried): {status.failed_permanently}")
    for problem in [*status.permanent, *status.failed]:
        step = "delete provider copy" if problem.ingested else "fetch and ingest"
        if problem.state == "failed_permanently":
            step = "refused by the vault: fix, then `telephony retry`"
        typer.echo(
            f"  {problem.job_id} {problem.state:<9} attempts {problem.attempts:<3} "
            f"{problem.last_error_code or '-':<28} next {problem.next_attempt_at:%Y-%m-%d %H:%M} "
            f"({step})"
        )


@telephony.command("retry")
def retry(
    job_id: str = typer.Argument(None, help="One job's id; all unfinished jobs when left out."),
) -> None:
    """Run transfers now, in this process, without waiting for their backoff (permanently
    failed ones too: after IT has fixed the cause)."""
    import sqlalchemy as sa

    from callvault.db import transaction
    from callvault.runtime import get_runtime
    from callvault.telephony.models import DONE_STATES, ProviderRecordingJob
    from callvault.telephony.transfer import advance_job

    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        if job_id:
            ids = [uuid.UUID(job_id)]
        else:
            ids = list(
                session.scalars(
                    sa.select(ProviderRecordingJob.id).where(
                        ProviderRecordingJob.state.not_in([s.value for s in DONE_STATES])
                    )
                )
            )
    for one in ids:
        result = advance_job(runtime, one, retry_stopped=True)
        typer.echo(f"{one} {result.state} {result.error_code or ''}".rstrip())


def register(app: typer.Typer) -> None:
    app.add_typer(telephony, name="telephony")
