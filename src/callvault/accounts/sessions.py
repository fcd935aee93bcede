"""Server-side login sessions (§8): random ids in HttpOnly cookies, only their hashes stored."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.models import Account, LoginSession
from callvault.config import Settings

COOKIE_NAME = "callvault_session"
SECURE_COOKIE_NAME = "__Host-callvault_session"
TOUCH_EVERY = timedelta(seconds=60)  # write last_seen_at at most once a minute per session


@dataclass(frozen=True)
class CookieSpec:
    name: str
    secure: bool


def cookie_spec(settings: Settings) -> CookieSpec:
    """`__Host-` prefix and Secure whenever the public URL is https (then no Domain, Path=/)."""
    https = settings.public_url.lower().startswith("https://")
    return CookieSpec(SECURE_COOKIE_NAME if https else COOKIE_NAME, https)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    id: uuid.UUID
    token: str  # goes into the cookie; never stored
    expires_at: datetime


def open_session(
    session: Session,
    *,
    account: Account,
    now: datetime,
    settings: Settings,
    second_factor: bool,
    source_hash: str | None,
) -> OpenedSession:
    """A fresh session with a new random id (so a planted id can never be carried into a login)."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_sha256=token_digest(token),
        account_id=account.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        second_factor_at=now if second_factor else None,
        source_hash=source_hash,
    )
    session.add(row)
    session.flush()
    return OpenedSession(row.id, token, row.expires_at)


def live_session(
    session: Session, token: str, *, now: datetime, settings: Settings
) -> tuple[LoginSession, Account] | None:
    """The open session for a cookie value with its active account, touched; None otherwise.

    A session ends when it is idle too long, reaches its absolute limit, is logged out or its
    account is disabled.
    """
    if not token or len(token) > 200:
        return None
    found = session.execute(
        sa.select(LoginSession, Account)
        .join(Account, Account.id == LoginSession.account_id)
        .where(LoginSession.token_sha256 == token_digest(token))
    ).first()
    if found is None:
        return None
    row, account = found[0], found[1]
    idle = timedelta(minutes=settings.session_idle_minutes)
    if row.ended_at is not None or account.disabled_at is not None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= idle:
        row.ended_at = now
        row.ended_reason = "expired"
        session.flush()
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return row, account


def end_session(session: Session, session_id: uuid.UUID, *, now: datetime, reason: str) -> bool:
    result = session.execute(
        sa.update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason)
    )
    return bool(getattr(result, "rowcount", 0))


def end_account_sessions(
    session: Session,
    account_id: uuid.UUID,
    *,
    now: datetime,
    reason: str,
    keep: uuid.UUID | None = None,
) -> int:
    """End every open session of an account, except `keep` (the one asking). Returns how many."""
    stmt = (
        sa.update(LoginSession)
        .where(LoginSession.account_id == account_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason)
    )
    if keep is not None:
        stmt = stmt.where(LoginSession.id != keep)
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0))


def mark_second_factor(session: Session, session_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        sa.update(LoginSession).where(LoginSession.id == session_id).values(second_factor_at=now)
    )
