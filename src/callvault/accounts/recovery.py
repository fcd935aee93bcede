"""Getting back in (§8): one-time password-reset links that IT hands on, and TOTP recovery codes.

Neither secret is ever stored: a reset link's token and each recovery code are kept as SHA-256
only (both carry 80+ random bits, so no stretching is needed), used once, and audited.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.accounts import passwords, sessions
from callvault.accounts.models import Account, PasswordReset, RecoveryCode
from callvault.accounts.roles import Role
from callvault.errors import Conflict, InvalidInput, PermissionDenied
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

RESET_VALID = timedelta(hours=24)
RESET_PATH = "/password-reset/"
RECOVERY_CODES = 10
RESET_INVALID = "this reset link is not valid: it was used, replaced or has expired"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _audit(session: Session, **kwargs: object) -> None:
    from callvault.audit.service import record

    record(session, **kwargs)  # type: ignore[arg-type]


# --- password reset links ------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedReset:
    """A reset link, shown once to the IT admin who asked for it, to pass on."""

    account_id: uuid.UUID
    url: str
    expires_at: datetime


def issue_password_reset(
    session: Session, runtime: Runtime, account: Account, *, actor: str, source: str
) -> IssuedReset:
    """A new one-time link for `account` (valid 24 h); any earlier unused link stops working.

    The password stays as it is until the person uses the link, so a mistaken reset locks
    nobody out; IT never sees or sets the new password.
    """
    from callvault.accounts.service import _guard_dpo_account

    if actor == f"account:{account.id}":
        raise PermissionDenied("change your own password on your account page")
    _guard_dpo_account(session, actor, account)
    if account.disabled_at is not None:
        raise Conflict("the account is disabled; enable it first")
    now = runtime.clock.now()
    spend_reset_links(session, account.id, now)
    token = secrets.token_urlsafe(32)
    reset = PasswordReset(
        account_id=account.id,
        token_sha256=_digest(token),
        created_by=actor[:64],
        created_at=now,
        expires_at=now + RESET_VALID,
    )
    session.add(reset)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="account.password_reset_issued",
        object_type="account",
        object_id=str(account.id),
        source=source,
        details={"reset_id": str(reset.id), "valid_hours": 24},
    )
    base = runtime.settings.public_url.rstrip("/")
    return IssuedReset(account.id, f"{base}{RESET_PATH}{token}", reset.expires_at)


def spend_reset_links(session: Session, account_id: uuid.UUID, now: datetime) -> None:
    """End every unused link of the account: a new link, a password change, a disable or a role
    change makes earlier links void (a link is for the account as it was when IT issued it)."""
    session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.account_id == account_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )


def _live_reset(session: Session, runtime: Runtime, token: str, *, lock: bool) -> PasswordReset:
    if not token or len(token) > 100:
        raise InvalidInput(RESET_INVALID)
    query = sa.select(PasswordReset).where(PasswordReset.token_sha256 == _digest(token))
    if lock:
        query = query.with_for_update()
    reset = session.scalar(query)
    if reset is None or reset.used_at is not None or reset.expires_at <= runtime.clock.now():
        raise InvalidInput(RESET_INVALID)
    account = session.get(Account, reset.account_id)
    if account is None or account.disabled_at is not None:
        raise InvalidInput(RESET_INVALID)
    from callvault.accounts.service import _guard_dpo_account

    try:  # whoever issued the link must still be allowed to reset this account
        _guard_dpo_account(session, reset.created_by, account)
    except PermissionDenied:
        raise InvalidInput(RESET_INVALID) from None
    if not _issuer_still_entitled(session, reset.created_by):
        raise InvalidInput(RESET_INVALID)
    return reset


def _issuer_still_entitled(session: Session, created_by: str) -> bool:
    """A link issued by a person dies when that person is disabled or leaves IT (or the DPO
    role); one issued on the server's command line ("cli", "system") stays valid."""
    if not created_by.startswith("account:"):
        return True
    try:
        issuer = session.get(Account, uuid.UUID(created_by.removeprefix("account:")))
    except ValueError:
        return False
    return (
        issuer is not None
        and issuer.disabled_at is None
        and issuer.role in (Role.IT_ADMIN.value, Role.DPO.value)
    )


def reset_link_account(session: Session, runtime: Runtime, token: str) -> Account:
    """The account a live link is for (to greet the person), or InvalidInput."""
    account = session.get(Account, _live_reset(session, runtime, token, lock=False).account_id)
    assert account is not None  # noqa: S101 (checked by _live_reset)
    return account


def complete_password_reset(
    session: Session, runtime: Runtime, *, token: str, new_password: str, source: str
) -> Account:
    """Set the password the person chose through a live link; the link is spent and every
    session of the account ends."""
    reset = _live_reset(session, runtime, token, lock=True)
    account = session.get(Account, reset.account_id, with_for_update=True)
    assert account is not None  # noqa: S101
    passwords.check_password(new_password, email=account.email)
    now = runtime.clock.now()
    reset.used_at = now
    account.password_hash = passwords.hash_password(new_password)
    account.password_changed_at = now
    account.password_must_change = False
    ended = sessions.end_account_sessions(session, account.id, now=now, reason="password_reset")
    _audit(
        session,
        actor=f"account:{account.id}",
        action="account.password_reset",
        object_type="account",
        object_id=str(account.id),
        source=source,
        details={"reset_id": str(reset.id), "sessions_ended": ended},
    )
    log.info("password_reset", account_id=str(account.id))
    return account


# --- TOTP recovery codes --------------------------------------------------------------------


def _code_digest(account_id: uuid.UUID, code: str) -> str:
    return _digest(f"{account_id}:{normalise_code(code)}")


def normalise_code(code: str) -> str:
    """Recovery codes are read case-insensitively, with or without their dashes and spaces."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def looks_like_recovery_code(code: str | None) -> bool:
    return code is not None and len(normalise_code(code)) == 16


def issue_recovery_codes(session: Session, runtime: Runtime, account_id: uuid.UUID) -> list[str]:
    """Ten new one-time codes (80 bits each, `XXXX-XXXX-XXXX-XXXX`); earlier ones stop working.
    Returned once, for the person to keep somewhere safe."""
    clear_recovery_codes(session, account_id)
    now = runtime.clock.now()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 16 characters, A-Z2-7
        code = "-".join(raw[i : i + 4] for i in range(0, 16, 4))
        session.add(
            RecoveryCode(
                account_id=account_id, code_sha256=_code_digest(account_id, code), created_at=now
            )
        )
        codes.append(code)
    session.flush()
    return codes


def clear_recovery_codes(session: Session, account_id: uuid.UUID) -> None:
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.account_id == account_id))


def use_recovery_code(
    session: Session, runtime: Runtime, account_id: uuid.UUID, code: str, *, source: str
) -> bool:
    """Spend one unused code of the account; False when it is unknown or already used.

    The conditional UPDATE makes two logins racing with the same code spend it once.
    """
    if not looks_like_recovery_code(code):
        return False
    spent = session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.account_id == account_id,
            RecoveryCode.code_sha256 == _code_digest(account_id, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=runtime.clock.now())
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        return False
    _audit(
        session,
        actor=f"account:{account_id}",
        action="account.recovery_code_used",
        object_type="account",
        object_id=str(account_id),
        source=source,
        details={"codes_left": recovery_codes_left(session, account_id)},
    )
    return True


def unused_digests(session: Session, account_id: uuid.UUID) -> frozenset[str]:
    """The account's unused codes, as stored (read with the login snapshot)."""
    return frozenset(
        session.scalars(
            sa.select(RecoveryCode.code_sha256).where(
                RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None)
            )
        )
    )


def code_matches(account_id: uuid.UUID, code: str | None, digests: frozenset[str]) -> bool:
    return looks_like_recovery_code(code) and _code_digest(account_id, code or "") in digests


def recovery_codes_left(session: Session, account_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )
