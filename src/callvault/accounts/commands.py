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
    own_password: bool = typer.Option(
        False,
        "--own-password",
        help="The person is typing their own password; otherwise they must change it at "
        "first sign-in (someone else chose it).",
    ),
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
            password_must_change=not own_password,
        )
        account_id, account_role = account.id, account.role
    typer.echo(f"created account {account_id} ({account_role})")
    if account_role in (Role.DPO, Role.IT_ADMIN):
        typer.echo("this role must enrol a TOTP second factor at first sign-in")
    if not own_password:
        typer.echo("the person must choose their own password at first sign-in")


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


@users.command("enable")
def enable(
    email: str = typer.Option(..., "--email", help="The disabled account to enable again."),
) -> None:
    """Undo `users disable`: the person can sign in again."""
    rt = _runtime()
    with transaction(rt.sessions) as session:
        account = service.find_account(session, email=email)
        service.enable_account(session, rt, account, actor=CLI_ACTOR, source="cli")
        account_id = account.id
    typer.echo(f"enabled account {account_id}")


@users.command("reset-password")
def reset_password(
    email: str = typer.Option(..., "--email", help="The account whose password was forgotten."),
) -> None:
    """Print a one-time link (valid 24 hours) to pass on; the person chooses a new password
    there. Their current password keeps working until then."""
    from callvault.accounts.recovery import issue_password_reset

    rt = _runtime()
    with transaction(rt.sessions) as session:
        account = service.find_account(session, email=email)
        issued = issue_password_reset(session, rt, account, actor=CLI_ACTOR, source="cli")
    typer.echo(
        "one-time password reset link (pass it on safely; valid until "
        f"{issued.expires_at:%Y-%m-%d %H:%M} UTC):"
    )
    typer.echo(issued.url)


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
    from callvault.accounts import tokens as service_tokens

    rt = _runtime()
    with transaction(rt.sessions) as session:
        issued = service_tokens.create_token(
            session, rt.clock, name=name, scope=scope, actor=CLI_ACTOR, source="cli"
        )
    typer.echo(f"service account {issued.account_id} ({scope})")
    typer.echo("API token (shown once; send as 'Authorization: Bearer <token>'):")
    typer.echo(issued.token)


@tokens.command("list")
def list_tokens(
    as_json: bool = typer.Option(False, "--json", help="One JSON document, for scripts."),
) -> None:
    """Every service token: id, name, scope, start of the token, created, last used, state.
    The secret itself is never shown again (only its hash is stored)."""
    import json

    from callvault.accounts import tokens as service_tokens

    rt = _runtime()
    with transaction(rt.sessions) as session:
        rows = [token_document(t) for t in service_tokens.list_tokens(session)]
    if as_json:
        typer.echo(json.dumps({"tokens": rows}, indent=2))
        return
    for row in rows:
        used = row["last_used_at"] or "never used"
        typer.echo(
            f"{row['id']}\t{row['name']}\t{row['scope']}\t{row['prefix']}…\t"
            f"created {row['created_at']}\tlast used {used}\t{row['state']}"
        )
    if not rows:
        typer.echo("no service tokens")


def token_document(account: object) -> dict[str, str | None]:
    """What may be shown of a service token (never its secret or hash)."""
    from callvault.accounts.models import ServiceAccount
    from callvault.accounts.tokens import token_state

    assert isinstance(account, ServiceAccount)  # noqa: S101
    return {
        "id": str(account.id),
        "name": account.name,
        "scope": account.scope,
        "prefix": account.token_prefix,
        "created_at": account.created_at.isoformat(),
        "last_used_at": account.last_used_at.isoformat() if account.last_used_at else None,
        "revoked_at": account.disabled_at.isoformat() if account.disabled_at else None,
        "state": token_state(account),
    }


@tokens.command("revoke")
def revoke_token(
    token: str = typer.Argument(..., help="The token's id or name."),
) -> None:
    """Revoke a token: it gets 401 from now on."""
    from callvault.accounts import tokens as service_tokens

    rt = _runtime()
    with transaction(rt.sessions) as session:
        account = service_tokens.find_token(session, token)
        service_tokens.revoke_token(session, rt.clock, account, actor=CLI_ACTOR, source="cli")
        account_id = account.id
    typer.echo(f"revoked service token {account_id}")


@tokens.command("rotate")
def rotate_token(
    token: str = typer.Argument(..., help="The token's id or name."),
) -> None:
    """Give the service account a new token (printed once); the old one stops at once."""
    from callvault.accounts import tokens as service_tokens

    rt = _runtime()
    with transaction(rt.sessions) as session:
        account = service_tokens.find_token(session, token)
        issued = service_tokens.rotate_token(
            session, rt.clock, account, actor=CLI_ACTOR, source="cli"
        )
    typer.echo(f"service account {issued.account_id}: new API token (shown once):")
    typer.echo(issued.token)


def register(app: typer.Typer) -> None:
    app.add_typer(users, name="users")
    app.add_typer(tokens, name="tokens")
