"""`callvault users …`, `callvault tokens …` and the first-DPO hint of `callvault init`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import callvault.accounts.setup as setup
from callvault.accounts.models import Account, ServiceAccount
from callvault.accounts.passwords import verify_password
from callvault.accounts.tokens import authenticate_token
from callvault.cli import app
from callvault.runtime import Runtime
from tests.accounts.conftest import PASSWORD

runner = CliRunner()


@pytest.fixture(autouse=True)
def _plain_logging() -> Iterator[None]:
    yield
    # The root callback points structlog at the CliRunner's stderr, which closes afterwards.
    structlog.reset_defaults()


def test_users_create_reads_the_password_from_stdin(session: Session, runtime: Runtime) -> None:
    result = runner.invoke(
        app,
        ["users", "create", "--email", "Dpo@Example.org", "--role", "dpo", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    account = session.scalars(sa.select(Account)).one()
    assert account.email == "dpo@example.org" and account.role == "dpo"
    assert verify_password(account.password_hash, PASSWORD)
    assert "TOTP" in result.output


def test_users_create_prompts_twice_without_stdin(session: Session, runtime: Runtime) -> None:
    result = runner.invoke(
        app,
        ["users", "create", "--email", "qa@example.org", "--role", "qa_manager"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("assword") >= 2
    assert session.scalars(sa.select(Account.role)).one() == "qa_manager"


@pytest.mark.parametrize(
    ("password", "message"),
    [("short-pw", "at least 12"), ("Password1234", "common passwords")],
)
def test_users_create_refuses_weak_passwords(
    password: str, message: str, session: Session, runtime: Runtime
) -> None:
    result = runner.invoke(
        app,
        [
            "users",
            "create",
            "--email",
            "qa@example.org",
            "--role",
            "qa_manager",
            "--password-stdin",
        ],
        input=password + "\n",
    )
    assert result.exit_code != 0
    assert message in str(result.exception)
    assert session.scalar(sa.select(sa.func.count()).select_from(Account)) == 0


def test_users_list_and_disable(session: Session, runtime: Runtime) -> None:
    runner.invoke(
        app,
        ["users", "create", "--email", "agent@example.org", "--role", "agent", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    listed = runner.invoke(app, ["users", "list"])
    assert "agent@example.org\tagent\t-\tactive" in listed.output
    disabled = runner.invoke(app, ["users", "disable", "--email", "agent@example.org"])
    assert disabled.exit_code == 0, disabled.output
    assert "disabled" in runner.invoke(app, ["users", "list"]).output


@pytest.mark.parametrize("scope", ["ingest", "telephony"])
def test_tokens_create_prints_a_token_that_works_once_stored_hashed(
    scope: str, session: Session, runtime: Runtime
) -> None:
    result = runner.invoke(app, ["tokens", "create", "--name", "crm", "--scope", scope])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("cvt_")
    stored = session.scalars(sa.select(ServiceAccount)).one()
    assert token not in (stored.token_sha256, stored.token_prefix)
    assert (
        authenticate_token(session, token, "ingest" if scope == "ingest" else "telephony").id
        == stored.id
    )


def test_tokens_create_refuses_other_scopes(runtime: Runtime) -> None:
    result = runner.invoke(app, ["tokens", "create", "--name", "crm", "--scope", "admin"])
    assert result.exit_code != 0


def test_init_says_how_to_create_the_first_it_admin_and_dpo_until_they_exist(
    session: Session, runtime: Runtime
) -> None:
    lines = setup.initialise(runtime)
    assert any(setup.FIRST_IT_ADMIN in line for line in lines)
    assert any(setup.FIRST_DPO in line for line in lines)
    for role in ("it_admin", "dpo"):
        runner.invoke(
            app,
            ["users", "create", "--email", f"{role}@example.org", "--role", role]
            + ["--password-stdin", "--own-password"],
            input=PASSWORD + "\n",
        )
    assert setup.initialise(runtime) == []


@pytest.mark.parametrize(
    ("argv0", "expected"),
    [
        (".venv/bin/callvault", ".venv/bin/callvault"),  # as `make run` starts it
        ("callvault", "callvault"),
        ("-c", "callvault"),
    ],
)
def test_first_run_command_works_where_it_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv0: str, expected: str
) -> None:
    program = tmp_path / ".venv/bin/callvault"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path)
    assert setup.command_prefix(argv0) == expected


@pytest.mark.parametrize(
    ("role", "stored", "says"),
    [
        ("dpo", "dpo", "TOTP"),  # the command line may assign the DPO role
        ("qa_manager", "qa_manager", "agent -> qa_manager"),
        ("agent", "agent", "already has the role agent"),
    ],
)
def test_users_set_role(
    role: str, stored: str, says: str, session: Session, runtime: Runtime
) -> None:
    runner.invoke(
        app,
        ["users", "create", "--email", "agent@example.org", "--role", "agent", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    result = runner.invoke(
        app, ["users", "set-role", "--email", "Agent@example.org", "--role", role]
    )
    assert result.exit_code == 0, result.output
    assert says in result.output
    assert session.scalars(sa.select(Account.role)).one() == stored


@pytest.mark.parametrize(
    "arguments",
    [
        ["--email", "agent@example.org", "--role", "superuser"],
        ["--email", "nobody@example.org", "--role", "qa_manager"],
    ],
)
def test_users_set_role_refuses_unknown_roles_and_accounts(
    arguments: list[str], session: Session, runtime: Runtime
) -> None:
    runner.invoke(
        app,
        ["users", "create", "--email", "agent@example.org", "--role", "agent", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    result = runner.invoke(app, ["users", "set-role", *arguments])
    assert result.exit_code != 0
    assert session.scalars(sa.select(Account.role)).one() == "agent"
