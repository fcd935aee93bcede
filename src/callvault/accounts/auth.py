"""Who is asking: the principal behind a request (session cookie or bearer token), and the
FastAPI dependencies every route uses to demand one. Deny by default: no principal, no access."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import sqlalchemy as sa
import structlog
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from callvault.accounts import sessions
from callvault.accounts.csrf import verify_csrf
from callvault.accounts.models import ServiceAccount
from callvault.accounts.roles import SECOND_FACTOR_REQUIRED
from callvault.accounts.tokens import TOKEN_PREFIX, _digest, note_use
from callvault.db import transaction
from callvault.edge import client_host
from callvault.errors import AuthenticationFailed, PermissionDenied
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Principal:
    """A signed-in person (`kind="account"`) or an integration (`kind="service"`)."""

    kind: str
    id: uuid.UUID
    role: str  # a Role value, or "service:ingest" / "service:telephony"
    session_id: str | None
    language: str = "sv"
    # dpo/it_admin signed in without a second factor yet: only TOTP enrolment is allowed
    second_factor_pending: bool = False
    # someone else chose the password: only changing it is allowed (after any TOTP enrolment)
    password_change_pending: bool = False

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"


class SecondFactorRequired(PermissionDenied):
    """Enrol a TOTP second factor before doing anything else (mandatory for this role)."""

    code = "second_factor_required"


class PasswordChangeRequired(PermissionDenied):
    """Choose your own password before doing anything else (someone else chose this one)."""

    code = "password_change_required"


def client_address(request: Request) -> str:
    """The client's IP address (behind trusted proxies, see `callvault.edge`), "unknown" or
    "invalid": what the login throttle counts and the audit trail records."""
    return client_host(request.client.host if request.client else None)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def _resolve_token(runtime: Runtime, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with transaction(runtime.sessions) as db:
        account = db.scalar(
            sa.select(ServiceAccount).where(ServiceAccount.token_sha256 == _digest(token))
        )
        if account is None or account.disabled_at is not None:
            return None
        note_use(db, account, runtime.clock.now())
        return Principal(
            kind="service", id=account.id, role=f"service:{account.scope}", session_id=None
        )


def _resolve_cookie(runtime: Runtime, value: str) -> Principal | None:
    # Short transactions of their own, committed at once: the idle clock moves even when the
    # request later fails, and the request's own transaction starts with a fresh snapshot.
    now = runtime.clock.now()
    with transaction(runtime.sessions) as db:
        live = sessions.live_session(db, value, now=now, settings=runtime.settings)
    if live is None:
        return None
    if live.needs_touch:
        with transaction(runtime.sessions) as db:
            sessions.touch(db, live.id, now)
    return Principal(
        kind="account",
        id=live.account_id,
        role=live.role,
        session_id=str(live.id),
        language=live.language,
        second_factor_pending=live.role in SECOND_FACTOR_REQUIRED and not live.second_factor,
        password_change_pending=live.password_must_change,
    )


async def _resolve(request: Request) -> Principal | None:
    """The request's principal, or None. Cookie requests that change state must carry CSRF."""
    if "callvault_principal" in request.scope:
        cached: Principal | None = request.scope["callvault_principal"]
        return cached
    runtime: Runtime = request.app.state.runtime
    principal: Principal | None = None
    token = _bearer(request)
    if token is not None:
        principal = await run_in_threadpool(_resolve_token, runtime, token)
        if principal is None:
            raise AuthenticationFailed("invalid API token")
    else:
        cookie = request.cookies.get(sessions.cookie_spec(runtime.settings).name)
        if cookie:
            principal = await run_in_threadpool(_resolve_cookie, runtime, cookie)
            if principal is not None and principal.session_id is not None:
                await verify_csrf(request, runtime.settings.session_secret(), principal.session_id)
    request.scope["callvault_principal"] = principal
    request.state.principal = principal
    return principal


async def optional_principal(request: Request) -> Principal | None:
    """The signed-in principal, or None (public pages that greet signed-in people).

    A session still waiting for its mandatory second factor counts as not signed in here.
    """
    principal = await _resolve(request)
    if principal is not None and (
        principal.second_factor_pending or principal.password_change_pending
    ):
        return None
    return principal


async def enrolling_principal(request: Request) -> Principal:
    """A signed-in person, also one whose session must still enrol TOTP (account pages only).

    Service tokens are refused here: they have no session, password or second factor.
    """
    principal = await _resolve(request)
    if principal is None:
        raise AuthenticationFailed("sign in first")
    if principal.kind != "account":
        raise PermissionDenied("only a signed-in person can do this")
    return principal


async def current_principal(request: Request) -> Principal:
    """The signed-in principal; 401 without one, 403 while a mandatory second factor is missing."""
    principal = await _resolve(request)
    if principal is None:
        raise AuthenticationFailed("sign in first")
    if principal.second_factor_pending:
        raise SecondFactorRequired(
            "your role requires a second factor: enrol TOTP at /api/v1/account/totp first"
        )
    if principal.password_change_pending:
        raise PasswordChangeRequired(
            "choose your own password first: POST /api/v1/account/password"
        )
    return principal


async def password_changing_principal(request: Request) -> Principal:
    """A signed-in person who may change their password: also one who must (someone else chose
    it), but not one who must still enrol a mandatory second factor."""
    principal = await _resolve(request)
    if principal is None:
        raise AuthenticationFailed("sign in first")
    if principal.kind != "account":
        raise PermissionDenied("only a signed-in person can do this")
    if principal.second_factor_pending:
        raise SecondFactorRequired(
            "your role requires a second factor: enrol TOTP at /api/v1/account/totp first"
        )
    return principal


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that yields the principal when its role is one of `roles`, else 403.

    Refusals are written to the audit trail (action "access.refused").
    """
    allowed = frozenset(str(r) for r in roles)

    async def dependency(
        request: Request, principal: Principal = Depends(current_principal)
    ) -> Principal:
        if principal.role not in allowed:
            runtime: Runtime = request.app.state.runtime
            await run_in_threadpool(_audit_role_refusal, runtime, request, principal)
            raise PermissionDenied("your role may not do this")
        return principal

    dependency.allowed_roles = allowed  # type: ignore[attr-defined]
    return dependency


def _audit_role_refusal(runtime: Runtime, request: Request, principal: Principal) -> None:
    from callvault.audit.service import record_isolated

    route = request.scope.get("route")
    path = getattr(route, "path", None) or "unknown"
    record_isolated(
        runtime,
        actor=principal.actor,
        action="access.refused",
        object_type="route",
        object_id=f"{request.method} {path}"[:128],
        source=client_address(request),
        outcome="refused",
        details={"why": "role", "role": principal.role},
    )
    log.info("role_refused", principal_id=str(principal.id), role=principal.role)
