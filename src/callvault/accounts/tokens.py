"""Service-account API tokens: random, shown once, stored hashed, checked in constant time."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.models import ServiceAccount
from callvault.clock import Clock
from callvault.errors import AuthenticationFailed, Conflict

TokenScope = Literal["ingest", "telephony", "metrics"]
TOKEN_SCOPES: tuple[TokenScope, ...] = ("ingest", "telephony", "metrics")
TOKEN_PREFIX = "cvt_"  # noqa: S105 (a public marker, not a secret)


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
