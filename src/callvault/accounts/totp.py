"""TOTP second factor (pyotp): mandatory for dpo and it_admin, optional for everyone else."""

from __future__ import annotations

from datetime import datetime

import pyotp

from callvault.vault.keyring import Keyring

ISSUER = "callvault"
CONTEXT = "accounts.totp"
DIGITS = 6
INTERVAL = 30
VALID_WINDOW = 1  # accept the neighbouring 30-second steps for clock drift


def new_secret() -> str:
    return pyotp.random_base32()


def seal_secret(keyring: Keyring, secret: str) -> bytes:
    from callvault.vault.fields import seal

    return seal(keyring, secret, CONTEXT)


def unseal_secret(keyring: Keyring, sealed: bytes) -> str:
    from callvault.vault.fields import unseal

    return unseal(keyring, sealed, CONTEXT)


def provisioning_uri(secret: str, account_label: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=account_label, issuer_name=ISSUER
    )


def matching_step(secret: str, code: str | None, at: datetime, last_step: int | None) -> int | None:
    """The time step the code belongs to, or None if wrong or already used (no replays)."""
    if not code:
        return None
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    now_step = int(at.timestamp()) // INTERVAL
    found: int | None = None
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        # compare every candidate so the timing does not depend on which one matched
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator shows at `at` (tests and the CLI's self-check)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).at(at)
