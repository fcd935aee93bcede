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


@dataclass(frozen=True)
class LiveSession:
    """An open session and what the request needs of its account."""

    id: uuid.UUID
    account_id: uuid.UUID
    role: str
    language: str
    second_factor: bool
    needs_touch: bool
    password_must_change: bool = False


def live_session(
    session: Session, token: str, *, now: datetime, settings: Settings
) -> LiveSession | None:
    """The open session for a cookie value, or None (unknown, ended, idle too long, past its
    absolute limit, or its account disabled). Reads only; `touch`/`end_session` write."""
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
    if row.ended_at is not None or account.disabled_at is not None:
        return None
    if expired(row, now=now, settings=settings):
        return None
    return LiveSession(
        id=row.id,
        account_id=account.id,
        role=account.role,
        language=account.language,
        second_factor=row.second_factor_at is not None,
        needs_touch=now - row.last_seen_at >= TOUCH_EVERY,
        password_must_change=account.password_must_change,
    )


def expired(row: LoginSession, *, now: datetime, settings: Settings) -> bool:
    idle = timedelta(minutes=settings.session_idle_minutes)
    return now >= row.expires_at or now - row.last_seen_at >= idle


def touch(session: Session, session_id: uuid.UUID, now: datetime) -> None:
    """Move the idle clock (at most once a minute), unless the session ended meanwhile."""
    session.execute(
        sa.update(LoginSession)
        .where(
            LoginSession.id == session_id,
            LoginSession.ended_at.is_(None),
            LoginSession.last_seen_at <= now - TOUCH_EVERY,
        )
        .values(last_seen_at=now)
    )


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
