"""`callvault init` for accounts: say how to create the first DPO when there is none."""

from __future__ import annotations

from callvault.accounts.service import dpo_exists
from callvault.db import transaction
from callvault.runtime import Runtime

FIRST_DPO_COMMAND = "callvault users create --email dpo@example.org --role dpo"


def initialise(runtime: Runtime) -> list[str]:
    """Lines for the operator; nothing is created here (the first DPO chooses a password)."""
    with transaction(runtime.sessions) as session:
        if dpo_exists(session):
            return []
    return [
        "No data protection officer (DPO) account exists yet. Create the first one with:",
        f"    {FIRST_DPO_COMMAND}",
        "(use the DPO's real work email; the password is asked for twice, 12+ characters;",
        " the DPO enrols a TOTP second factor at first sign-in).",
    ]
