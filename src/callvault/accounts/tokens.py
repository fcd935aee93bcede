"""Service-account API tokens: random, shown once, stored hashed, checked in constant time;
listed with when they were last used, revoked and rotated by IT (CLI, API and web alike)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.models import ServiceAccount
from callvault.clock import Clock

if TYPE_CHECKING:
    from callvault.runtime import Runtime
from callvault.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound

TokenScope = Literal["ingest", "telephony", "metrics"]
TOKEN_SCOPES: tuple[TokenScope, ...] = ("ingest", "telephony", "metrics")
TOKEN_PREFIX = "cvt_"  # noqa: S105 (a public marker, not a secret)
# "Last used" is written at most once a minute per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    account_id: str
    token: str  # shown once; only its hash is stored


def _digest(token: str) -> str:
    # Tokens are 256-bit random values, so a plain SHA-256 is a sound verifier (no stretching).
    return hashlib.sha256(token.encode()).hexdigest()


def create_service_token(
    session: Session, clock: Clock, *, name: str, scope: TokenScope
) -> IssuedToken:
    if session.scalar(sa.select(ServiceAccount.id).where(ServiceAccount.name == name)):
        raise Conflict("a service account with that name exists")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    account = ServiceAccount(
        name=name,
        scope=scope,
        token_sha256=_digest(token),
        token_prefix=token[:12],
        created_at=clock.now(),
    )
    session.add(account)
    session.flush()
    return IssuedToken(account_id=str(account.id), token=token)


def authenticate_token(session: Session, token: str, scope: TokenScope) -> ServiceAccount:
    """The active service account holding this token for this scope, or AuthenticationFailed."""
    if not token.startswith(TOKEN_PREFIX):
        raise AuthenticationFailed("invalid API token")
    account = session.scalar(
        sa.select(ServiceAccount).where(ServiceAccount.token_sha256 == _digest(token))
    )
    if (
        account is None
        or account.disabled_at is not None
        or not secrets.compare_digest(account.scope, scope)
    ):
        raise AuthenticationFailed("invalid API token")
    return account


def note_use(session: Session, account: ServiceAccount, now: datetime) -> None:
    """Remember when the token was last used (to the minute: one write a minute at most)."""
    if account.last_used_at is None or now - account.last_used_at >= LAST_USED_RESOLUTION:
        account.last_used_at = now


def note_use_apart(runtime: Runtime, account: ServiceAccount) -> None:
    """`note_use` in a short transaction of its own, for a caller whose own transaction is long
    (an ingest): no row lock on the token is held while a recording streams in."""
    from callvault.db import transaction

    now = runtime.clock.now()
    if account.last_used_at is not None and now - account.last_used_at < LAST_USED_RESOLUTION:
        return
    with transaction(runtime.sessions) as db:
        fresh = db.get(ServiceAccount, account.id)
        if fresh is not None:
            note_use(db, fresh, now)


def _audit(session: Session, action: str, account: ServiceAccount, actor: str, source: str) -> None:
    from callvault.audit.service import record

    record(
        session,
        actor=actor,
        action=action,
        object_type="service_account",
        object_id=str(account.id),
        source=source,
        details={"scope": account.scope},
    )


def create_token(
    session: Session, clock: Clock, *, name: str, scope: str, actor: str, source: str
) -> IssuedToken:
    """A new service account and its token (shown once), audited."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 120:
        raise InvalidInput("a token's name is 1–120 characters")
    checked = next((s for s in TOKEN_SCOPES if s == scope), None)
    if checked is None:
        raise InvalidInput("the scope is ingest, telephony or metrics")
    issued = create_service_token(session, clock, name=name, scope=checked)
    account = session.get(ServiceAccount, uuid.UUID(issued.account_id))
    assert account is not None  # noqa: S101
    _audit(session, "service_account.create", account, actor, source)
    return issued


def list_tokens(session: Session) -> Sequence[ServiceAccount]:
    """Every service token, active first, newest first (never the secret: it is not stored)."""
    return session.scalars(
        sa.select(ServiceAccount).order_by(
            ServiceAccount.disabled_at.is_not(None), ServiceAccount.created_at.desc()
        )
    ).all()


def find_token(session: Session, ref: str) -> ServiceAccount:
    """A service token by its id or its name."""
    try:
        account = session.get(ServiceAccount, uuid.UUID(ref))
    except ValueError:
        account = session.scalar(sa.select(ServiceAccount).where(ServiceAccount.name == ref))
    if account is None:
        raise NotFound("no such service token")
    return account


def revoke_token(
    session: Session, clock: Clock, account: ServiceAccount, *, actor: str, source: str
) -> ServiceAccount:
    """Stop the token at once (401 from then on); idempotent, audited."""
    if account.disabled_at is None:
        account.disabled_at = clock.now()
    session.flush()
    _audit(session, "service_account.revoke", account, actor, source)
    return account


def rotate_token(
    session: Session, clock: Clock, account: ServiceAccount, *, actor: str, source: str
) -> IssuedToken:
    """A new secret for the same service account (shown once); the old one stops at once."""
    if account.disabled_at is not None:
        raise Conflict("the token is revoked; create a new one")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    account.token_sha256 = _digest(token)
    account.token_prefix = token[:12]
    account.last_used_at = None
    session.flush()
    _audit(session, "service_account.rotate", account, actor, source)
    return IssuedToken(account_id=str(account.id), token=token)


def token_state(account: ServiceAccount) -> str:
    return "revoked" if account.disabled_at is not None else "active"
