"""Brute-force limits on login (§8), kept in the database so every process shares them.

Every attempt is counted before the password is checked, under a row lock on the email's
throttle row, so parallel processes cannot slip past the limits; a successful attempt takes its
count back. Keys are keyed hashes of the normalised email (known or not) and of the address, so
a lock answers exactly like a wrong password and reveals nothing about which accounts exist.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from callvault.accounts.models import LoginFailure, LoginThrottle

CONSECUTIVE_BEFORE_LOCK = 5
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)
ACCOUNT_FAILURES_PER_HOUR = 100  # the policy's ceiling; the growing lock keeps far below it
ADDRESS_FAILURES_PER_WINDOW = 50
ADDRESS_WINDOW = timedelta(minutes=15)
KEEP_FAILURES = timedelta(days=1)


@dataclass(frozen=True)
class Attempt:
    """One reserved attempt: blocked, or counted (as `failure_id`) until it succeeds."""

    key_hash: str
    blocked: bool
    failure_id: object | None


def login_key(secret: bytes, email: str) -> str:
    return hmac.new(
        secret, b"login-email:" + email.strip().lower().encode(), hashlib.sha256
    ).hexdigest()


def address_key(secret: bytes, address: str) -> str:
    return hmac.new(secret, b"login-address:" + address.encode(), hashlib.sha256).hexdigest()


def lock_for(consecutive: int) -> timedelta | None:
    """How long to lock after `consecutive` failures in a row: 1, 2, 4 … minutes, at most 1 h."""
    if consecutive < CONSECUTIVE_BEFORE_LOCK:
        return None
    grown: timedelta = FIRST_LOCK * 2 ** min(consecutive - CONSECUTIVE_BEFORE_LOCK, 12)
    return min(grown, LONGEST_LOCK)


def _locked_row(session: Session, key_hash: str, now: datetime) -> LoginThrottle:
    # Write first: on SQLite this takes the write lock before anything is read (a transaction
    # that read first could not upgrade once another process committed); on PostgreSQL it locks
    # the row, as the SELECT … FOR UPDATE below does too.
    session.execute(
        sa.update(LoginThrottle).where(LoginThrottle.key_hash == key_hash).values(updated_at=now)
    )
    stmt = sa.select(LoginThrottle).where(LoginThrottle.key_hash == key_hash).with_for_update()
    row = session.scalar(stmt.execution_options(populate_existing=True))
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(LoginThrottle(key_hash=key_hash, consecutive_failures=0, updated_at=now))
    except sa_exc.IntegrityError:
        pass  # another process created it first; lock theirs
    row = session.scalar(stmt.execution_options(populate_existing=True))
    assert row is not None
    return row


def reserve_attempt(
    session: Session, *, key_hash: str, address_hash: str, now: datetime
) -> Attempt:
    """Count one attempt for this email and address, unless a limit already blocks it."""
    row = _locked_row(session, key_hash, now)
    session.execute(
        sa.delete(LoginFailure).where(
            LoginFailure.key_hash == key_hash, LoginFailure.at < now - KEEP_FAILURES
        )
    )
    hour = session.scalar(
        sa.select(sa.func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.key_hash == key_hash, LoginFailure.at > now - timedelta(hours=1))
    )
    from_address = session.scalar(
        sa.select(sa.func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.address_hash == address_hash, LoginFailure.at > now - ADDRESS_WINDOW)
    )
    if (
        (row.locked_until is not None and row.locked_until > now)
        or (hour or 0) >= ACCOUNT_FAILURES_PER_HOUR
        or (from_address or 0) >= ADDRESS_FAILURES_PER_WINDOW
    ):
        return Attempt(key_hash=key_hash, blocked=True, failure_id=None)
    failure = LoginFailure(key_hash=key_hash, address_hash=address_hash, at=now)
    session.add(failure)
    row.consecutive_failures += 1
    lock = lock_for(row.consecutive_failures)
    row.locked_until = now + lock if lock else None
    row.updated_at = now
    session.flush()
    return Attempt(key_hash=key_hash, blocked=False, failure_id=failure.id)


def forgive_attempt(session: Session, attempt: Attempt, now: datetime) -> None:
    """A successful login: take its count back and clear the run of failures and any lock."""
    row = _locked_row(session, attempt.key_hash, now)
    row.consecutive_failures = 0
    row.locked_until = None
    row.updated_at = now
    if attempt.failure_id is not None:
        session.execute(sa.delete(LoginFailure).where(LoginFailure.id == attempt.failure_id))
    session.flush()
