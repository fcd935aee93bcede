"""HTTP routes for signing in and out, one's own account, and account administration."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from callvault.accounts import service, sessions
from callvault.accounts.auth import (
    Principal,
    client_address,
    enrolling_principal,
    password_changing_principal,
    require_roles,
)
from callvault.accounts.csrf import is_cross_site, token_for_session
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.accounts.token_api import router as _service_tokens
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import PermissionDenied

router = APIRouter(prefix="/api/v1", tags=["accounts"])

Enrolling = Annotated[Principal, Depends(enrolling_principal)]
ChangingPassword = Annotated[Principal, Depends(password_changing_principal)]
ItAdmin = Annotated[Principal, Depends(require_roles(Role.IT_ADMIN))]
RoleAssigner = Annotated[Principal, Depends(require_roles(Role.IT_ADMIN, Role.DPO))]


class LoginRequest(BaseModel):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    totp: str | None = Field(default=None, max_length=12)
    # one of the ten one-time codes from TOTP enrolment, instead of `totp` (a lost phone)
    recovery_code: str | None = Field(default=None, max_length=32)


class SessionInfo(BaseModel):
    account_id: uuid.UUID
    role: str
    language: str
    csrf_token: str
    expires_at: datetime | None = None
    second_factor_enrolment_required: bool
    password_change_required: bool = False


@router.post("/session", response_model=SessionInfo, responses={401: {}, 429: {}})
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> SessionInfo:
    """Sign in. Sets a new session cookie (any earlier one ends: no session fixation).

    Wrong credentials, unknown and locked accounts all get the same 401. A browser's post from
    another site (by `Origin` or `Sec-Fetch-Site`) gets 403: no login CSRF.
    """
    if is_cross_site(request, runtime.settings.public_url):
        raise PermissionDenied("a login from another site is refused")
    result = service.authenticate(
        session,
        runtime,
        body.email,
        body.password,
        body.totp or body.recovery_code,
        client_address(request),
    )
    spec = sessions.cookie_spec(runtime.settings)
    planted = request.cookies.get(spec.name)
    if planted:
        _end_by_cookie(session, runtime, planted)
    response.set_cookie(
        spec.name,
        result.token,
        max_age=runtime.settings.session_absolute_hours * 3600,
        path="/",
        secure=spec.secure,
        httponly=True,
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return SessionInfo(
        account_id=result.account_id,
        role=result.role,
        language=result.language,
        csrf_token=result.csrf_token,
        expires_at=result.expires_at,
        second_factor_enrolment_required=result.second_factor_enrolment_required,
        password_change_required=result.password_change_required,
    )


def _end_by_cookie(session: SessionDep, runtime: RuntimeDep, token: str) -> None:
    import sqlalchemy as sa

    from callvault.accounts.models import LoginSession

    row_id = session.scalar(
        sa.select(LoginSession.id).where(LoginSession.token_sha256 == sessions.token_digest(token))
    )
    if row_id is not None:
        sessions.end_session(session, row_id, now=runtime.clock.now(), reason="replaced")


@router.get("/session", response_model=SessionInfo)
def who_am_i(principal: Enrolling, runtime: RuntimeDep) -> SessionInfo:
    """The signed-in account and the CSRF token for its state-changing requests."""
    session_id = _own_session(principal)
    return SessionInfo(
        account_id=principal.id,
        role=principal.role,
        language=principal.language,
        csrf_token=token_for_session(runtime.settings.session_secret(), str(session_id)),
        second_factor_enrolment_required=principal.second_factor_pending,
        password_change_required=principal.password_change_pending,
    )


@router.delete("/session", status_code=204)
def logout(
    principal: Enrolling, request: Request, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Sign out: the session ends on the server and the cookie is cleared."""
    service.logout(
        session,
        runtime,
        account_id=principal.id,
        session_id=_own_session(principal),
        source=client_address(request),
    )
    spec = sessions.cookie_spec(runtime.settings)
    response = Response(status_code=204)
    response.delete_cookie(spec.name, path="/", secure=spec.secure, httponly=True, samesite="lax")
    return response


def _own_session(principal: Principal) -> uuid.UUID:
    if principal.kind != "account" or principal.session_id is None:
        raise PermissionDenied("only a signed-in person has a session")
    return uuid.UUID(principal.session_id)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)
    end_other_sessions: bool = True


class PasswordChanged(BaseModel):
    sessions_ended: int


@router.post(
    "/account/password", response_model=PasswordChanged, responses={401: {}, 403: {}, 429: {}}
)
def change_password(
    body: PasswordChange,
    principal: ChangingPassword,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> PasswordChanged:
    """Change one's own password; by default every other session of the account ends."""
    ended = service.change_password(
        session,
        runtime,
        account_id=principal.id,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_session=_own_session(principal),
        end_other_sessions=body.end_other_sessions,
        source=client_address(request),
    )
    return PasswordChanged(sessions_ended=ended)


class TotpStart(BaseModel):
    secret: str
    provisioning_uri: str


class TotpCode(BaseModel):
    code: str = Field(max_length=12)


@router.post("/account/totp", response_model=TotpStart)
def start_totp(
    principal: Enrolling, response: Response, session: SessionDep, runtime: RuntimeDep
) -> TotpStart:
    """Begin TOTP enrolment: add the secret (or the otpauth URI as a QR code) to an app."""
    _own_session(principal)
    response.headers["Cache-Control"] = "no-store"  # the secret: in this answer only
    enrolment = service.begin_totp_enrolment(session, runtime, principal.id)
    return TotpStart(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


class RecoveryCodes(BaseModel):
    recovery_codes: list[str]


@router.post("/account/totp/confirm", response_model=RecoveryCodes)
def confirm_totp(
    body: TotpCode,
    principal: Enrolling,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> RecoveryCodes:
    """Finish enrolment with the first code the app shows; this session is then fully signed in.

    Answers the ten one-time recovery codes, shown this once: each works once instead of a
    TOTP code."""
    codes = service.confirm_totp_enrolment(
        session,
        runtime,
        account_id=principal.id,
        session_id=_own_session(principal),
        code=body.code,
        source=client_address(request),
    )
    response.headers["Cache-Control"] = "no-store"  # the codes: in this answer only
    return RecoveryCodes(recovery_codes=codes)


class AccountOut(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    language: str
    second_factor: bool
    created_at: datetime
    disabled_at: datetime | None
    last_login_at: datetime | None
    password_must_change: bool = False

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            id=account.id,
            email=account.email,
            role=account.role,
            language=account.language,
            second_factor=account.totp_enabled_at is not None,
            created_at=account.created_at,
            disabled_at=account.disabled_at,
            last_login_at=account.last_login_at,
            password_must_change=account.password_must_change,
        )


class AccountCreate(BaseModel):
    email: str = Field(max_length=254)
    role: Role
    password: str = Field(max_length=1024)
    language: str = "sv"


@router.get("/accounts", response_model=list[AccountOut])
def accounts(principal: ItAdmin, session: SessionDep) -> list[AccountOut]:
    """Every account (IT admins manage accounts)."""
    return [AccountOut.of(a) for a in service.list_accounts(session)]


@router.post("/accounts", response_model=AccountOut, status_code=201)
def create_account(
    body: AccountCreate,
    principal: ItAdmin,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> AccountOut:
    """Create a person's account. DPO accounts are created on the server with the CLI only."""
    if body.role == Role.DPO:
        raise PermissionDenied("DPO accounts are created with `callvault users create` only")
    account = service.create_account(
        session,
        runtime,
        email=body.email,
        role=body.role,
        password=body.password,
        actor=principal.actor,
        source=client_address(request),
        language=body.language,
        password_must_change=True,  # the IT admin chose it
    )
    return AccountOut.of(account)


@router.post("/accounts/{account_id}/disable", response_model=AccountOut)
def disable_account(
    account_id: uuid.UUID,
    principal: ItAdmin,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> AccountOut:
    """Disable an account; its sessions end at once."""
    account = service.find_account(session, account_id=account_id)
    return AccountOut.of(
        service.disable_account(
            session, runtime, account, actor=principal.actor, source=client_address(request)
        )
    )


@router.post("/accounts/{account_id}/enable", response_model=AccountOut)
def enable_account(
    account_id: uuid.UUID,
    principal: ItAdmin,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> AccountOut:
    """Undo a disable: the person can sign in again."""
    account = service.find_account(session, account_id=account_id)
    return AccountOut.of(
        service.enable_account(
            session, runtime, account, actor=principal.actor, source=client_address(request)
        )
    )


class ResetLink(BaseModel):
    url: str
    expires_at: datetime


@router.post("/accounts/{account_id}/password-reset", response_model=ResetLink)
def issue_password_reset(
    account_id: uuid.UUID,
    principal: ItAdmin,
    request: Request,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ResetLink:
    """A one-time link (24 h) for a person who forgot their password, for IT to pass on; the
    person chooses the new password there. The current password works until then."""
    from callvault.accounts.recovery import issue_password_reset as issue

    account = service.find_account(session, account_id=account_id)
    issued = issue(session, runtime, account, actor=principal.actor, source=client_address(request))
    response.headers["Cache-Control"] = "no-store"  # the link: in this answer only
    return ResetLink(url=issued.url, expires_at=issued.expires_at)


class PasswordResetIn(BaseModel):
    token: str = Field(max_length=100)
    new_password: str = Field(max_length=1024)


@router.post("/password-reset", status_code=204)
def complete_password_reset(
    body: PasswordResetIn, request: Request, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Choose a new password with a reset link's token (no sign-in: the token is the proof)."""
    from callvault.accounts.recovery import complete_password_reset as complete

    complete(
        session,
        runtime,
        token=body.token,
        new_password=body.new_password,
        source=client_address(request),
    )
    return Response(status_code=204)


class RoleChange(BaseModel):
    role: Role


@router.post("/accounts/{account_id}/role", response_model=AccountOut)
def change_role(
    account_id: uuid.UUID,
    body: RoleChange,
    principal: RoleAssigner,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> AccountOut:
    """Change a person's role; their sessions end at once. IT admins assign every role but the
    DPO's and leave DPOs alone; a DPO assigns or removes the DPO role. Never one's own role."""
    account = service.change_role(
        session,
        runtime,
        actor_principal=principal,
        account_id=account_id,
        role=body.role.value,
        source=client_address(request),
    )
    return AccountOut.of(account)


@router.post("/accounts/{account_id}/totp-reset", status_code=204)
def reset_totp(
    account_id: uuid.UUID,
    principal: ItAdmin,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """Remove an account's second factor (lost phone); it must enrol again at next sign-in."""
    account = service.find_account(session, account_id=account_id)
    service.reset_totp(
        session, runtime, account, actor=principal.actor, source=client_address(request)
    )
    return Response(status_code=204)


router.include_router(_service_tokens)

__all__ = ["router"]
