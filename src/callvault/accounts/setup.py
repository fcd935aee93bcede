"""`callvault init` for accounts: say how to create the first IT admin and the first DPO."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import sqlalchemy as sa

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.db import transaction
from callvault.runtime import Runtime

FIRST_IT_ADMIN = "users create --email it@example.org --role it_admin --own-password"
FIRST_DPO = "users create --email dpo@example.org --role dpo --own-password"
# Kept for callers that want the plain form of the DPO command.
FIRST_DPO_COMMAND = f"callvault {FIRST_DPO}"


def command_prefix(argv0: str | None = None) -> str:
    """How to run callvault from where this message is read: the program as it was started
    (`.venv/bin/callvault` under `make run`), relative to the current directory when inside
    it, or plain `callvault` when that is what the PATH finds."""
    program = argv0 if argv0 is not None else sys.argv[0]
    name = Path(program).name
    if not program or name != "callvault" or os.sep not in program:
        return "callvault"
    resolved = Path(program).resolve()
    on_path = shutil.which("callvault")
    if on_path and Path(on_path).resolve() == resolved:
        return "callvault"
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


def _active(session: sa.orm.Session, role: Role) -> bool:
    return (
        session.scalar(
            sa.select(Account.id).where(Account.role == role, Account.disabled_at.is_(None))
        )
        is not None
    )


def initialise(runtime: Runtime) -> list[str]:
    """Lines for the operator; nothing is created here (each person chooses a password)."""
    with transaction(runtime.sessions) as session:
        missing_it = not _active(session, Role.IT_ADMIN)
        missing_dpo = not _active(session, Role.DPO)
    prefix = command_prefix()
    lines: list[str] = []
    if missing_it:
        lines += [
            "No IT administrator account exists yet. Create the first one (it manages every "
            "other account in the web interface) with:",
            f"    {prefix} {FIRST_IT_ADMIN}",
        ]
    if missing_dpo:
        lines += [
            "No data protection officer (DPO) account exists yet. Create the first one with:",
            f"    {prefix} {FIRST_DPO}",
        ]
    if lines:
        lines.append(
            "(use the person's real work email; the password is asked for twice, 12+ "
            "characters; both roles enrol a TOTP second factor at first sign-in)."
        )
    return lines
