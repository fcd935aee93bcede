"""`callvault users …` and `callvault tokens …`: the same service functions the API uses."""

from __future__ import annotations

import sys

import typer

from callvault.accounts import service
from callvault.accounts.roles import Role
from callvault.db import transaction
from callvault.runtime import Runtime

users = typer.Typer(
    help="People's accounts: create, list, change role, disable.", no_args_is_help=True
)
tokens = typer.Typer(help="API tokens for integrations (service accounts).", no_args_is_help=True)

CLI_ACTOR = "system"


def _runtime() -> Runtime:
    from callvault.cli import runtime

    return runtime()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(
        typer.prompt(
            "Password (12 characters or more)",
            hide_input=True,
            confirmation_prompt="Repeat the password",
        )
    )


@users.command("create")
def create(
    email: str = typer.Option(..., "--email", help="The person's work email (their login)."),
    role: Role = typer.Option(
        ..., "--role", help="dpo, training_manager, qa_manager, agent, it_admin."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    language: str = typer.Option("sv", "--language", help="sv or en."),
) -> None:
    """Create an account. Without --password-stdin the password is asked for twice."""
    rt = _runtime()
    password = _read_password(password_stdin)
    with transaction(rt.sessions) as session:
        account = service.create_account(
            session,
            rt,
            email=email,
            role=role.value,
            password=password,
            actor=CLI_ACTOR,
            source="cli",
            language=language,
        )
        account_id, account_role = account.id, account.role
    typer.echo(f"created account {account_id} ({account_role})")
    if account_role in (Role.DPO, Role.IT_ADMIN):
        typer.echo("this role must enrol a TOTP second factor at first sign-in")


@users.command("list")
def list_(
    all_: bool = typer.Option(True, "--all/--active", help="Include disabled accounts."),
) -> None:
    """List accounts: id, email, role, second factor, state."""
    rt = _runtime()
    with transaction(rt.sessions) as session:
        rows = [
            (
                str(a.id),
                a.email,
                a.role,
                "totp" if a.totp_enabled_at else "-",
                "disabled" if a.disabled_at else "active",
            )
            for a in service.list_accounts(session, include_disabled=all_)
        ]
    for row in rows:
        typer.echo("\t".join(row))
    if not rows:
        typer.echo("no accounts")


@users.command("disable")
def disable(
    email: str = typer.Option(..., "--email", help="The account to disable."),
) -> None:
    """Disable an account; its open sessions end at once."""
    rt = _runtime()
    with transaction(rt.sessions) as session:
        account = service.find_account(session, email=email)
        service.disable_account(session, rt, account, actor=CLI_ACTOR, source="cli")
        account_id = account.id
    typer.echo(f"disabled account {account_id}")


@users.command("set-role")
def set_role(
    email: str = typer.Option(..., "--email", help="The account whose role to change."),
    role: Role = typer.Option(
        ..., "--role", help="dpo, training_manager, qa_manager, agent, it_admin."
    ),
) -> None:
    """Change an account's role (any role, the DPO's too); its open sessions end at once."""
    rt = _runtime()
    with transaction(rt.sessions) as session:
        account = service.find_account(session, email=email)
        before = account.role
        service.change_role(
            session, rt, actor_principal=None, account_id=account.id, role=role.value, source="cli"
        )
        account_id, after = account.id, account.role
    if before == after:
        typer.echo(f"account {account_id} already has the role {after}")
        return
    typer.echo(f"account {account_id}: {before} -> {after}; its sessions have ended")
    if after in (Role.DPO, Role.IT_ADMIN):
        typer.echo("this role must enrol a TOTP second factor at its next sign-in")


@users.command("reset-totp")
def reset_totp(
    email: str = typer.Option(..., "--email", help="The account whose second factor to remove."),
) -> None:
    """Remove an account's TOTP second factor; it enrols again at next sign-in."""
    rt = _runtime()
    with transaction(rt.sessions) as session:
        account = service.find_account(session, email=email)
        service.reset_totp(session, rt, account, actor=CLI_ACTOR, source="cli")
        account_id = account.id
    typer.echo(f"second factor removed for account {account_id}")


@tokens.command("create")
def create_token(
    name: str = typer.Option(..., "--name", help="A name for the integration."),
    scope: str = typer.Option(..., "--scope", help="ingest, telephony or metrics."),
) -> None:
    """Create a service account and print its API token once (only its hash is stored)."""
    from callvault.accounts.tokens import TOKEN_SCOPES, create_service_token
    from callvault.errors import InvalidInput

    checked = next((s for s in TOKEN_SCOPES if s == scope), None)
    if checked is None:
        raise InvalidInput("the scope is ingest, telephony or metrics")
    rt = _runtime()
    with transaction(rt.sessions) as session:
        issued = create_service_token(session, rt.clock, name=name, scope=checked)
        from callvault.audit.service import record

        record(
            session,
            actor=CLI_ACTOR,
            action="service_account.create",
            object_type="service_account",
            object_id=issued.account_id,
            source="cli",
            details={"scope": checked},
        )
    typer.echo(f"service account {issued.account_id} ({checked})")
    typer.echo("API token (shown once; send as 'Authorization: Bearer <token>'):")
    typer.echo(issued.token)


def register(app: typer.Typer) -> None:
    app.add_typer(users, name="users")
    app.add_typer(tokens, name="tokens")
