"""`callvault qa report --team T [--csv]`: the same report the API and pages show."""

from __future__ import annotations

import json
from datetime import date

import typer

qa_app = typer.Typer(help="Quality assurance (§2): reports.")


@qa_app.command("report")
def report(
    team: str | None = typer.Option(None, "--team", help="The team (default: every team)."),
    as_csv: bool = typer.Option(False, "--csv", help="CSV instead of JSON."),
    week_from: str | None = typer.Option(None, "--from", help="First day, YYYY-MM-DD."),
    week_to: str | None = typer.Option(None, "--to", help="Last day, YYYY-MM-DD."),
    language: str = typer.Option("sv", "--language", help="Labels in sv or en."),
) -> None:
    """Averages, counts and fail rates per week, team, agent, form and question (last twelve
    weeks by default). Run on the server, it sees every team; the run is audited."""
    from callvault.audit.service import record
    from callvault.db import transaction
    from callvault.quality import reports
    from callvault.runtime import get_runtime

    def day(value: str | None, name: str) -> date | None:
        try:
            return date.fromisoformat(value) if value else None
        except ValueError:
            raise typer.BadParameter(f"{name} is a date, YYYY-MM-DD") from None

    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        start, end = reports.period(
            day(week_from, "--from"), day(week_to, "--to"), runtime.clock.now()
        )
        result = reports.team_report(
            session, reports.EVERYTHING, team=team, start=start, end=end, language=language
        )
        record(
            session,
            actor="system",
            action="qa.report.view",
            object_type="qa_report",
            source="cli",
            details={"weeks": len(result["weeks"]), "agents": len(result["by_agent"])},
        )
    if as_csv:
        typer.echo(reports.report_csv(result), nl=False)
    else:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    app.add_typer(qa_app, name="qa")
