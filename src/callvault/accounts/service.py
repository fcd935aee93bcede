"""Accounts (§8): creating and disabling people, login with brute-force limits, logout, password
change and TOTP enrolment. The API, the CLI and the web pages all call these functions."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from callvault.accounts import passwords, recovery, sessions, throttle, totp
from callvault.accounts.csrf import token_for_session
from callvault.accounts.models import Account, LoginFailure, LoginSession, LoginThrottle
from callvault.accounts.roles import (
    SECOND_FACTOR_REQUIRED,
    Role,
    may_act_on_account,
    may_assign_role,
    parse_role,
)
from callvault.audit.privacy import visible_text
from callvault.db import transaction
from callvault.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from callvault.metrics.instruments import LOGIN_FAILURES
from callvault.runtime import Runtime

if TYPE_CHECKING:
    from callvault.accounts.auth import Principal

log = structlog.get_logger(__name__)

#: The languages an account can choose for the interface.
LANGUAGES: tuple[str, ...] = ("sv", "en")

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")
LOGIN_REFUSED = (
    "wrong email, password or code, or too many attempts; wait a few minutes and try again"
)


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    # No invisible, control or direction characters and nothing NFKC would change: such an
    # address reads exactly like another one (dpo@… with a zero-width space) wherever shown.
    if not EMAIL.match(value) or visible_text(value) != value:
        raise InvalidInput("that is not an email address")
    return value


def _audit(session: Session, **kwargs: object) -> None:
    from callvault.audit.service import record

    record(session, **kwargs)  # type: ignore[arg-type]


def _audit_isolated(runtime: Runtime, **kwargs: object) -> None:
    from callvault.audit.service import record_isolated

    record_isolated(runtime, **kwargs)


# --- accounts -----------------------------------------------------------------------------


def create_account(
    session: Session,
    runtime: Runtime,
    *,
    email: str,
    role: str,
    password: str,
    actor: str,
    source: str,
    language: str = "sv",
    password_must_change: bool = False,
) -> Account:
    """A new person's account. The password must pass the rules; the email must be new.

    `password_must_change`: someone else chose the password, so the person must choose their
    own at first sign-in before anything else.
    """
    address = normalise_email(email)
    checked_role = parse_role(role)
    passwords.check_password(password, email=address)
    if session.scalar(sa.select(Account.id).where(Account.email == address)) is not None:
        raise Conflict("an account with that email exists")
    now = runtime.clock.now()
    account = Account(
        email=address,
        role=checked_role.value,
        password_hash=passwords.hash_password(password),
        password_changed_at=now,
        language=language if language in LANGUAGES else "sv",
        created_at=now,
        created_by=actor if actor.startswith("account:") else "cli",
        password_must_change=password_must_change,
    )
    session.add(account)
    session.flush()
    _audit(
        session,
        actor=actor,
        action="account.create",
        object_type="account",
        object_id=str(account.id),
        source=source,
        details={"role": account.role, "password_must_change": password_must_change},
    )
    log.info("account_created", account_id=str(account.id), role=account.role)
    return account


def list_accounts(session: Session, *, include_disabled: bool = True) -> Sequence[Account]:
    stmt = sa.select(Account).order_by(Account.created_at, Account.email)
    if not include_disabled:
        stmt = stmt.where(Account.disabled_at.is_(None))
    return session.scalars(stmt).all()


def find_account(
    session: Session, *, account_id: uuid.UUID | None = None, email: str | None = None
) -> Account:
    if account_id is not None:
        account = session.get(Account, account_id)
    elif email is not None:
        account = session.scalar(sa.select(Account).where(Account.email == normalise_email(email)))
    else:
        account = None
    if account is None:
        raise NotFound("no such account")
    return account


def _guard_dpo_account(session: Session, actor: str, account: Account) -> None:
    """A DPO account is the DPO's business: only another DPO (or the server's CLI) may act on it."""
    if account.role != Role.DPO or not actor.startswith("account:"):
        return
    actor_account = session.get(Account, uuid.UUID(actor.removeprefix("account:")))
    if actor_account is None or not may_act_on_account(actor_account.role, account.role):
        raise PermissionDenied("only a DPO may change a DPO's account")


def disable_account(
    session: Session, runtime: Runtime, account: Account, *, actor: str, source: str
) -> Account:
    """Disable an account at once: its open sessions end and it can no longer sign in."""
    if actor == f"account:{account.id}":
        raise PermissionDenied("you cannot disable your own account")
    _guard_dpo_account(session, actor, account)
    now = runtime.clock.now()
    if account.disabled_at is None:
        account.disabled_at = now
    recovery.spend_reset_links(session, account.id, now)
    ended = sessions.end_account_sessions(session, account.id, now=now, reason="disabled")
    session.flush()
    _audit(
        session,
        actor=actor,
        action="account.disable",
        object_type="account",
        object_id=str(account.id),
        source=source,
        details={"sessions_ended": ended},
    )
    return account


def enable_account(
    session: Session, runtime: Runtime, account: Account, *, actor: str, source: str
) -> Account:
    """Undo a disable: the person can sign in again with their password (and second factor)."""
    if actor == f"account:{account.id}":
        raise PermissionDenied("you cannot enable your own account")
    _guard_dpo_account(session, actor, account)
    was_disabled = account.disabled_at is not None
    account.disabled_at = None
    session.flush()
    _audit(
        session,
        actor=actor,
        action="account.enable",
        object_type="account",
        object_id=str(account.id),
        source=source,
        details={"was_disabled": was_disabled},
    )
    return account


def set_language(
    session: Session, runtime: Runtime, account_id: uuid.UUID, language: str
) -> Account:
    """Keep the account's chosen interface language (a preference, so not audited)."""
    chosen = language.strip().lower()
    if chosen not in LANGUAGES:
        raise InvalidInput(f"unknown language; use one of: {', '.join(LANGUAGES)}")
    account = find_account(session, account_id=account_id)
    if account.language != chosen:
        account.language = chosen
        session.flush()
        log.info("account_language_set", account_id=str(account.id), language=chosen)
    return account


def change_role(
    session: Session,
    runtime: Runtime,
    *,
    actor_principal: Principal | None,
    account_id: uuid.UUID,
    role: str,
    source: str = "cli",
) -> Account:
    """Give an account another role, audited, and end its sessions so the change holds at once.

    `actor_principal` None is the command line (server operators: any role, the DPO's too).
    Otherwise IT admins assign every role but the DPO's and cannot change a DPO's role; a DPO
    makes someone DPO or changes another DPO's role (`roles.may_assign_role`). Nobody changes
    their own role. Asking for the role the account already holds changes nothing.
    """
    new_role = parse_role(role).value
    account = session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise NotFound("no such account")
    if actor_principal is not None:
        refusal: str | None = None
        if actor_principal.kind != "account":
            refusal = "only a person can change roles"
        elif actor_principal.id == account.id:
            refusal = "you cannot change your own role"
        elif account.role != new_role and not may_assign_role(
            actor_principal.role, account.role, new_role
        ):
            refusal = (
                "only a DPO assigns the DPO role or changes a DPO's role; "
                "IT admins assign the others"
            )
        if refusal is not None:
            _audit_isolated(
                runtime,
                actor=actor_principal.actor,
                action="account.role_change",
                object_type="account",
                object_id=str(account.id),
                source=(source or "unknown")[:64],
                outcome="refused",
                details={"from": account.role, "to": new_role},
            )
            raise PermissionDenied(refusal)
    if account.role == new_role:
        return account
    previous = account.role
    now = runtime.clock.now()
    account.role = new_role
    recovery.spend_reset_links(session, account.id, now)  # issued for the account's old role
    # A demoted manager must not keep using an open session, and a new dpo/it_admin must sign
    # in again to meet the second-factor rule of the new role.
    ended = sessions.end_account_sessions(session, account.id, now=now, reason="role_changed")
    session.flush()
    from callvault.access.grants import revoke_grants_of

    # Grants were given to the person in their old role; re-promotion must not revive them.
    revoke_grants_of(
        session,
        runtime,
        account.id,
        actor=actor_principal.actor if actor_principal is not None else "system",
        source=(source or "unknown")[:64],
    )
    from callvault.access.requests import close_pending_of

    close_pending_of(  # and so were their pending access requests
        session,
        runtime,
        account.id,
        actor=actor_principal.actor if actor_principal is not None else "system",
        source=(source or "unknown")[:64],
    )
    _audit(
        session,
        actor=actor_principal.actor if actor_principal is not None else "system",
        action="account.role_change",
        object_type="account",
        object_id=str(account.id),
        source=(source or "unknown")[:64],
        details={"from": previous, "to": new_role, "sessions_ended": ended},
    )
    log.info(
        "account_role_changed",
        account_id=str(account.id),
        from_role=previous,
        to_role=new_role,
        sessions_ended=ended,
    )
    return account


def dpo_exists(session: Session) -> bool:
    return (
        session.scalar(
            sa.select(Account.id).where(Account.role == Role.DPO, Account.disabled_at.is_(None))
        )
        is not None
    )


# --- login ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    """A successful login: the new session's cookie value (shown once) and its CSRF token."""

    account_id: uuid.UUID
    role: str
    session_id: uuid.UUID
    token: str
    csrf_token: str
    expires_at: datetime
    language: str
    # dpo and it_admin without TOTP yet: the session may only enrol a second factor
    second_factor_enrolment_required: bool
    # someone else chose the password: the session may only change it (after any enrolment)
    password_change_required: bool = False


@dataclass(frozen=True)
class _Snapshot:
    id: uuid.UUID
    role: str
    password_hash: str
    totp_secret_enc: bytes | None
    totp_enabled: bool
    totp_last_step: int | None
    recovery_digests: frozenset[str] = frozenset()


def authenticate(
    session: Session,
    runtime: Runtime,
    email: str,
    password: str,
    totp_code: str | None,
    source: str,
) -> LoginResult:
    """Check email, password and (when enrolled) TOTP code, and open a new session.

    Every refusal is the same AuthenticationFailed (401) whether the account is unknown,
    disabled, locked or the password or code is wrong, and costs one Argon2id verification.
    Attempts are counted in their own committed transaction before the check, so the limits hold
    across processes and survive the caller's rollback. Call this before `session` has been
    used in the request (SQLite cannot upgrade an older read snapshot to a write).
    """
    secret = runtime.settings.session_secret()
    now = runtime.clock.now()
    address = (source or "unknown")[:64]
    key = throttle.login_key(secret, email)
    address_hash = throttle.address_key(secret, address)
    with transaction(runtime.sessions) as counted:
        attempt = throttle.reserve_attempt(
            counted, key_hash=key, address_hash=address_hash, now=now
        )
        snapshot = _snapshot(counted, email)

    ok = False
    step: int | None = None
    recovery_code = False
    if attempt.blocked or snapshot is None:
        passwords.verify_dummy(password)
    else:
        ok = passwords.verify_password(snapshot.password_hash, password)
        if snapshot.totp_enabled:
            secret_text = totp.unseal_secret(runtime.keyring, snapshot.totp_secret_enc or b"")
            step = totp.matching_step(secret_text, totp_code, now, snapshot.totp_last_step)
            recovery_code = step is None and recovery.code_matches(
                snapshot.id, totp_code, snapshot.recovery_digests
            )
            ok = ok and (step is not None or recovery_code)

    if not ok:
        _audit_isolated(
            runtime,
            actor=f"account:{snapshot.id}" if snapshot else "anonymous",
            action="auth.login_failed",
            object_type="account" if snapshot else None,
            object_id=str(snapshot.id) if snapshot else None,
            source=address,
            outcome="refused",
            details={"blocked": attempt.blocked},
        )
        log.info("login_refused", blocked=attempt.blocked)
        LOGIN_FAILURES.inc()
        raise AuthenticationFailed(LOGIN_REFUSED)

    assert snapshot is not None
    throttle.forgive_attempt(session, attempt, now)
    account = session.get(Account, snapshot.id, with_for_update=True)
    if account is None or account.disabled_at is not None:
        raise AuthenticationFailed(LOGIN_REFUSED)
    if step is not None:
        if account.totp_last_step is not None and step <= account.totp_last_step:
            raise AuthenticationFailed(LOGIN_REFUSED)  # the same code raced in twice
        account.totp_last_step = step
    if recovery_code and not recovery.use_recovery_code(
        session, runtime, account.id, totp_code or "", source=address
    ):
        raise AuthenticationFailed(LOGIN_REFUSED)  # the same recovery code raced in twice
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    account.last_login_at = now
    enrolment_required = account.role in SECOND_FACTOR_REQUIRED and not snapshot.totp_enabled
    opened = sessions.open_session(
        session,
        account=account,
        now=now,
        settings=runtime.settings,
        second_factor=snapshot.totp_enabled,
        source_hash=address_hash,
    )
    _audit(
        session,
        actor=f"account:{account.id}",
        action="auth.login",
        object_type="session",
        object_id=str(opened.id),
        source=address,
        details={"second_factor": snapshot.totp_enabled, "recovery_code": recovery_code},
    )
    log.info("login", account_id=str(account.id), session_id=str(opened.id))
    return LoginResult(
        account_id=account.id,
        role=account.role,
        session_id=opened.id,
        token=opened.token,
        csrf_token=token_for_session(secret, str(opened.id)),
        expires_at=opened.expires_at,
        language=account.language,
        second_factor_enrolment_required=enrolment_required,
        password_change_required=account.password_must_change,
    )


def _snapshot(session: Session, email: str) -> _Snapshot | None:
    try:
        address = normalise_email(email)
    except InvalidInput:
        return None
    account = session.scalar(sa.select(Account).where(Account.email == address))
    if account is None or account.disabled_at is not None:
        return None
    return _Snapshot(
        id=account.id,
        role=account.role,
        password_hash=account.password_hash,
        totp_secret_enc=account.totp_secret_enc,
        totp_enabled=account.totp_enabled_at is not None,
        totp_last_step=account.totp_last_step,
        recovery_digests=recovery.unused_digests(session, account.id)
        if account.totp_enabled_at is not None
        else frozenset(),
    )


def logout(
    session: Session,
    runtime: Runtime,
    *,
    account_id: uuid.UUID,
    session_id: uuid.UUID,
    source: str,
) -> None:
    """End the session on the server; its cookie is worthless afterwards."""
    sessions.end_session(session, session_id, now=runtime.clock.now(), reason="logout")
    _audit(
        session,
        actor=f"account:{account_id}",
        action="auth.logout",
        object_type="session",
        object_id=str(session_id),
        source=source,
    )


def change_password(
    session: Session,
    runtime: Runtime,
    *,
    account_id: uuid.UUID,
    current_password: str,
    new_password: str,
    keep_session: uuid.UUID | None,
    end_other_sessions: bool = True,
    source: str,
) -> int:
    """Change a password after checking the current one; by default end every other session.

    Returns how many sessions were ended. Wrong current passwords count towards the same
    brute-force limits as logins. `session` (a request's, not inside `session.begin()`) is
    committed first, so that it may still write after the attempt is counted apart.
    """
    account = find_account(session, account_id=account_id)
    secret = runtime.settings.session_secret()
    now = runtime.clock.now()
    key = throttle.login_key(secret, account.email)
    # End the caller's read transaction first: on SQLite (WAL) a transaction that read before
    # the counted attempt below commits on another connection may not write after it ("database
    # is locked"). Nothing is lost: the request had only signed the person in.
    session.commit()
    with transaction(runtime.sessions) as counted:
        attempt = throttle.reserve_attempt(
            counted, key_hash=key, address_hash=throttle.address_key(secret, source), now=now
        )
    if attempt.blocked or not passwords.verify_password(account.password_hash, current_password):
        if attempt.blocked:
            passwords.verify_dummy(current_password)
        raise AuthenticationFailed("the current password is wrong, or there were too many attempts")
    passwords.check_password(new_password, email=account.email)
    if passwords.verify_password(account.password_hash, new_password):
        raise InvalidInput("the new password must differ from the current one")
    throttle.forgive_attempt(session, attempt, now)
    account.password_hash = passwords.hash_password(new_password)
    account.password_changed_at = now
    account.password_must_change = False
    recovery.spend_reset_links(session, account.id, now)
    ended = 0
    if end_other_sessions:
        ended = sessions.end_account_sessions(
            session, account.id, now=now, reason="password_changed", keep=keep_session
        )
    _audit(
        session,
        actor=f"account:{account.id}",
        action="account.password_change",
        object_type="account",
        object_id=str(account.id),
        source=source,
        details={"sessions_ended": ended},
    )
    return ended


# --- TOTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrolment:
    """What the authenticator app needs; shown once to the account holder."""

    secret: str
    provisioning_uri: str


def begin_totp_enrolment(
    session: Session, runtime: Runtime, account_id: uuid.UUID
) -> TotpEnrolment:
    """Start (or restart) enrolment: a new secret, unused until a code from it is confirmed."""
    account = find_account(session, account_id=account_id)
    if account.totp_enabled_at is not None:
        raise Conflict("a second factor is already enrolled; ask an IT admin to reset it")
    secret = totp.new_secret()
    account.totp_secret_enc = totp.seal_secret(runtime.keyring, secret)
    account.totp_last_step = None
    session.flush()
    return TotpEnrolment(secret, totp.provisioning_uri(secret, account.email))


def confirm_totp_enrolment(
    session: Session,
    runtime: Runtime,
    *,
    account_id: uuid.UUID,
    session_id: uuid.UUID | None,
    code: str,
    source: str,
) -> list[str]:
    """Turn the second factor on with a first valid code; the asking session counts as checked.

    Returns ten one-time recovery codes, shown once, each usable instead of a TOTP code.
    """
    account = find_account(session, account_id=account_id)
    if account.totp_enabled_at is not None:
        raise Conflict("a second factor is already enrolled")
    if account.totp_secret_enc is None:
        raise InvalidInput("start the enrolment first")
    now = runtime.clock.now()
    secret = totp.unseal_secret(runtime.keyring, account.totp_secret_enc)
    step = totp.matching_step(secret, code, now, None)
    if step is None:
        raise InvalidInput("that code is not valid; check the authenticator's clock and try again")
    account.totp_enabled_at = now
    account.totp_last_step = step
    if session_id is not None:
        sessions.mark_second_factor(session, session_id, now)
    _audit(
        session,
        actor=f"account:{account.id}",
        action="account.totp_enrol",
        object_type="account",
        object_id=str(account.id),
        source=source,
        details={"recovery_codes": recovery.RECOVERY_CODES},
    )
    return recovery.issue_recovery_codes(session, runtime, account.id)


def reset_totp(
    session: Session, runtime: Runtime, account: Account, *, actor: str, source: str
) -> None:
    """Remove an account's second factor (lost phone); its sessions end and it must enrol again."""
    _guard_dpo_account(session, actor, account)
    now = runtime.clock.now()
    account.totp_secret_enc = None
    account.totp_enabled_at = None
    account.totp_last_step = None
    recovery.clear_recovery_codes(session, account.id)
    ended = sessions.end_account_sessions(session, account.id, now=now, reason="totp_reset")
    _audit(
        session,
        actor=actor,
        action="account.totp_reset",
        object_type="account",
        object_id=str(account.id),
        source=source,
        details={"sessions_ended": ended},
    )


# --- housekeeping -----------------------------------------------------------------------------

KEEP_ENDED_SESSIONS = timedelta(days=30)


@dataclass(frozen=True)
class PurgedLoginRecords:
    failures: int
    throttles: int
    sessions: int


def purge_login_records(session: Session, now: datetime) -> PurgedLoginRecords:
    """Forget what brute-force limits and sessions no longer need (keyed address hashes included).

    Counted failures go after a day (the limits look back an hour), idle throttle rows with them,
    and sessions 30 days after they ended or expired; logins stay in the audit trail.
    """
    failures = session.execute(
        sa.delete(LoginFailure).where(LoginFailure.at < now - throttle.KEEP_FAILURES)
    )
    throttles = session.execute(
        sa.delete(LoginThrottle).where(
            LoginThrottle.updated_at < now - throttle.KEEP_FAILURES,
            sa.or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        )
    )
    cutoff = now - KEEP_ENDED_SESSIONS
    ended = session.execute(
        sa.delete(LoginSession).where(
            sa.or_(
                LoginSession.ended_at < cutoff,
                LoginSession.expires_at < cutoff,
                LoginSession.last_seen_at < cutoff,
            )
        )
    )
    return PurgedLoginRecords(
        int(getattr(failures, "rowcount", 0)),
        int(getattr(throttles, "rowcount", 0)),
        int(getattr(ended, "rowcount", 0)),
    )
