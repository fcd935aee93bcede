"""`callvault policy versions|show|art13`: the published policy from the command line."""

from __future__ import annotations

import json

import typer

from callvault.runtime import Runtime

policy = typer.Typer(help="The call-recording policy: versions, purposes, Art. 13 information.")


@policy.command("versions")
def versions() -> None:
    """Every approved version with its dates, purposes and change note."""
    from callvault.db import transaction
    from callvault.policy.service import published_versions
    from callvault.runtime import get_runtime

    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        now = runtime.clock.now()
        in_force = published_versions(session, now)
        current = in_force[0].id if in_force else None
        for v in published_versions(session):
            mark = "in force" if v.id == current else ("upcoming" if v.effective_from > now else "")
            purposes = ", ".join(f"{p.code} {p.retention_days} d" for p in v.purposes)
            typer.echo(f"v{v.number}  from {v.effective_from:%Y-%m-%d %H:%M} UTC  {mark}")
            typer.echo(f"    purposes: {purposes}")
            typer.echo(f"    note: {v.change_note}")


@policy.command("show")
def show(
    number: int = typer.Argument(None, help="Version number; the one in force when left out."),
    language: str = typer.Option("sv", "--language", "-l", help="sv or en"),
    prompt: bool = typer.Option(False, "--prompt", help="Show the consent prompt instead."),
) -> None:
    """A version's policy text (or its consent prompt)."""
    from callvault.db import transaction
    from callvault.policy.service import version_by_number, version_in_force
    from callvault.runtime import get_runtime

    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        v = (
            version_by_number(session, number)
            if number
            else version_in_force(session, runtime.clock.now())
        )
        from callvault.policy.identity import played_prompt, version_text

        if prompt:
            typer.echo(played_prompt(session, runtime.settings, v, language, runtime.clock.now()))
        else:
            typer.echo(version_text(session, runtime.settings, v, language))


@policy.command("art13")
def art13(
    audience: str = typer.Option("caller", help="caller or employee"),
    language: str = typer.Option("sv", "--language", "-l", help="sv or en"),
) -> None:
    """The Art. 13 information as JSON."""
    from callvault.db import transaction
    from callvault.policy.art13 import art13_information
    from callvault.runtime import get_runtime

    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        info = art13_information(session, runtime, audience, language)
    typer.echo(json.dumps(info, ensure_ascii=False, indent=2))


QUESTIONS = {
    "legal_name": "The organisation's legal name (e.g. Exempel AB)",
    "short_name": "The name callers know it by (e.g. Exempel)",
    "website": "Its website, where the privacy notice is (e.g. www.exempel.se)",
    "dpo_contact": "How to reach the data protection officer (e.g. dpo@exempel.se)",
}


def on_terminal() -> bool:
    """Whether a person can answer questions (stdin is a terminal, not a pipe or a service)."""
    import sys

    return sys.stdin.isatty()


def ask_identity(runtime: Runtime, given: dict[str, str]) -> list[str]:
    """`callvault init`'s identity step: the options given, or (none given, on a terminal,
    while the identity is still the example) the answers to four questions; recorded and
    audited. Returns the lines to show."""
    from callvault.db import transaction
    from callvault.policy.identity import example_fields, identity_in_force
    from callvault.policy.setup import identity_lines, sync_identity

    with transaction(runtime.sessions) as session:
        current = identity_in_force(session, runtime.settings)
        if not given and on_terminal() and example_fields(current):
            given = {
                name: str(typer.prompt(question, default=getattr(current, name))).strip()
                for name, question in QUESTIONS.items()
            }
        if not given:
            return []
        changed = sync_identity(session, runtime, given)
        identity = identity_in_force(session, runtime.settings)
    head = "organisation identity recorded" if changed else "organisation identity unchanged"
    return [head, *identity_lines(identity)]


def register(app: typer.Typer) -> None:
    app.add_typer(policy, name="policy")
