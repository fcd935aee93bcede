"""The `callvault` command. Every command calls the same service functions as the API and worker."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import typer

from callvault import __version__
from callvault.config import Settings
from callvault.errors import CallvaultError
from callvault.log import configure_logging
from callvault.parts import part_modules
from callvault.runtime import Runtime, get_runtime, set_runtime, settle_garbage_collector

app = typer.Typer(
    name="callvault",
    help="callvault: consent-first call recording. Samtycke först.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"callvault {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit. Skriv ut versionen.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug events."),
    json_logs: bool = typer.Option(False, "--json-logs", help="Log events as JSON lines."),
) -> None:
    configure_logging("DEBUG" if verbose else "INFO", json=json_logs)


def runtime() -> Runtime:
    """The CLI's runtime, built once from CALLVAULT_* settings."""
    return get_runtime()


IDENTITY_LINES = ("organisation: ", "warning: the organisation's identity is still")


@app.command()
def init(
    organisation_name: str = typer.Option(
        None, "--organisation-name", help="The organisation's legal name (the controller)."
    ),
    organisation_short_name: str = typer.Option(
        None, "--organisation-short-name", help="The name callers know it by."
    ),
    organisation_website: str = typer.Option(
        None, "--organisation-website", help="Where its privacy notice is, e.g. www.exempel.se."
    ),
    dpo_contact: str = typer.Option(
        None, "--dpo-contact", help="How to reach the data protection officer."
    ),
    policy_effective: datetime | None = typer.Option(
        None,
        "--policy-effective",
        formats=["%Y-%m-%d"],
        help="YYYY-MM-DD: the day the organisation's policy took effect (Stockholm time); "
        "calls from that day on can be imported. Dagen policyn började gälla.",
    ),
) -> None:
    """Create the data directory, keys and schema (safe to run again); record the
    organisation's identity (asked for on a terminal while it is the bundled example)."""
    from callvault.policy.commands import ask_identity
    from callvault.setup import initialise

    rt = runtime()
    effective = policy_effective.date() if policy_effective else None
    given = {
        "legal_name": organisation_name,
        "short_name": organisation_short_name,
        "website": organisation_website,
        "dpo_contact": dpo_contact,
    }
    for line in initialise(rt, policy_effective=effective):
        # With identity options, the identity is reported once it is recorded (below); the
        # example's name and its warning first only confused (`init --organisation-name …`
        # printed "organisation: Verisure Arlo Europe DAC … warning: … still the example").
        if any(given.values()) and line.startswith(IDENTITY_LINES):
            continue
        typer.echo(line)
    for line in ask_identity(rt, {k: v for k, v in given.items() if v}):
        typer.echo(line)
    typer.echo(f"callvault is initialised in {rt.settings.data_dir}")


def served_settings(settings: Settings, host: str, port: int) -> Settings:
    """Without CALLVAULT_PUBLIC_URL, links the server hands out (password reset) point to where
    it listens: the default's port 8000 was wrong for `serve --port 8840` or `make run PORT=…`."""
    if "public_url" in settings.model_fields_set:
        return settings
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - compared, not bound
    shown = f"[{shown}]" if ":" in shown else shown
    return settings.model_copy(update={"public_url": f"http://{shown}:{port}"})


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    init_first: bool = typer.Option(True, "--init/--no-init", help="Run `init` before serving."),
) -> None:
    """Serve the web interface and API, with the embedded worker unless a queue URL is set."""
    import uvicorn

    from callvault.app import create_app
    from callvault.setup import initialise

    rt = runtime()
    rt.settings.check_production_ready()
    rt.settings = served_settings(rt.settings, host, port)
    if init_first:
        for line in initialise(rt):
            typer.echo(line)
    from callvault.db import transaction
    from callvault.policy.identity import check_identity_ready

    with transaction(rt.sessions) as session:
        check_identity_ready(session, rt.settings)
    typer.echo(f"callvault serving on http://{host}:{port}")
    asgi = create_app(rt)
    # Full garbage-collector passes over what start-up loaded stalled requests for 100 ms and
    # more: keep it out of the collector, and full passes rare (see the function).
    settle_garbage_collector()
    uvicorn.run(asgi, host=host, port=port, **UVICORN_OPTIONS)


# No access log: query strings can carry an access reason, which is free text from a person.
# No proxy headers from uvicorn (it believes them from 127.0.0.1): callvault.edge believes them
# only from CALLVAULT_TRUSTED_PROXIES.
UVICORN_OPTIONS: dict[str, Any] = {"log_level": "info", "access_log": False, "proxy_headers": False}


for _module in part_modules("commands"):
    _module.register(app)


def main() -> None:
    # Everything callvault writes (database, keys, blobs, queue) is private to its user.
    os.umask(0o077)
    try:
        app()
    except CallvaultError as exc:
        typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None


__all__ = ["app", "main", "runtime", "set_runtime", "Settings"]
