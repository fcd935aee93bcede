"""Login with TOTP, TOTP set-up, password change and logout, through `callvault.accounts`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from callvault.accounts import csrf, totp
from callvault.accounts import service as accounts
from callvault.accounts.auth import (
    Principal,
    client_address,
    enrolling_principal,
    password_changing_principal,
)
from callvault.accounts.roles import SECOND_FACTOR_REQUIRED
from callvault.accounts.sessions import cookie_spec
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import AuthenticationFailed, Conflict, InvalidInput
from callvault.web.forms import Posted, safe_next, text
from callvault.web.i18n import LANGUAGE_COOKIE, gettext, using_language
from callvault.web.pages import SignedIn, Visitor
from callvault.web.qr import qr_svg
from callvault.web.templating import HOME_BY_ROLE, language_for, render

router = APIRouter(include_in_schema=False)

Enrolling = Annotated[Principal, Depends(enrolling_principal)]
ChangingPassword = Annotated[Principal, Depends(password_changing_principal)]


def _login_form(
    request: Request,
    runtime: RuntimeDep,
    *,
    problems: list[str],
    email: str,
    next_url: str,
    status_code: int = 200,
    fresh: bool = False,
) -> Response:
    """The login page with its pre-session token, and the cookie holding the token's nonce."""
    nonce = request.cookies.get(csrf.LOGIN_COOKIE, "")
    if fresh or not (0 < len(nonce) <= 64 and nonce.replace("-", "").replace("_", "").isalnum()):
        nonce = csrf.new_login_nonce()
    response = render(
        request,
        "account/login.html",
        {
            "problems": problems,
            "email": email,
            "next_url": next_url,
            "login_token": csrf.login_token(runtime.settings.session_secret(), nonce),
        },
        status_code=status_code,
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=cookie_spec(runtime.settings).secure,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    principal: Visitor,
    runtime: RuntimeDep,
    next: str = "",  # noqa: A002
) -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next, HOME_BY_ROLE.get(principal.role, "/")), 303)
    return _login_form(request, runtime, problems=[], email="", next_url=safe_next(next, ""))


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """One form for email, password and code; every refusal reads the same. A post from
    another site, or without this browser's pre-session token, is refused before any check."""
    email, password = text(form, "email"), text(form, "password")
    totp_code, next_ = text(form, "totp"), text(form, "next")
    secret = runtime.settings.session_secret()
    if csrf.is_cross_site(request, runtime.settings.public_url) or not csrf.login_token_matches(
        secret, request.cookies.get(csrf.LOGIN_COOKIE), text(form, csrf.LOGIN_FIELD)
    ):
        with using_language(language_for(request, None)):
            message = gettext("The login form had expired. Please log in again.")
        return _login_form(
            request,
            runtime,
            problems=[message],
            email="",
            next_url=safe_next(next_, ""),
            status_code=403,
            fresh=True,
        )
    second_factor = totp_code or text(form, "recovery_code")
    try:
        result = accounts.authenticate(
            session, runtime, email, password, second_factor or None, client_address(request)
        )
    except AuthenticationFailed as exc:
        session.rollback()
        with using_language(language_for(request, None)):
            message = gettext(
                "Wrong email address, password or code, or too many attempts. "
                "Wait a few minutes and try again."
            )
        return _login_form(
            request,
            runtime,
            problems=[message],
            email=email,
            next_url=safe_next(next_, ""),
            status_code=exc.status_code,
        )
    if result.second_factor_enrolment_required:
        target = "/account/totp"
    elif result.password_change_required:
        target = "/account/password"
    else:
        target = safe_next(next_, HOME_BY_ROLE.get(result.role, "/"))
    response = RedirectResponse(target, status_code=303)
    spec = cookie_spec(runtime.settings)
    response.set_cookie(
        spec.name, result.token, httponly=True, samesite="lax", secure=spec.secure, path="/"
    )
    response.set_cookie(
        LANGUAGE_COOKIE,
        result.language,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=spec.secure,
    )
    return response


@router.post("/logout")
def logout(
    request: Request, principal: Enrolling, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """End the session on the server and forget the cookie."""
    if principal.session_id is not None:
        accounts.logout(
            session,
            runtime,
            account_id=principal.id,
            session_id=uuid.UUID(principal.session_id),
            source=client_address(request),
        )
    response = RedirectResponse("/login?done=logged_out", status_code=303)
    spec = cookie_spec(runtime.settings)
    response.delete_cookie(spec.name, path="/", secure=spec.secure, httponly=True)
    return response


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, principal: SignedIn, session: SessionDep) -> Response:
    account = accounts.find_account(session, account_id=principal.id)
    return render(request, "account/account.html", {"account": account}, principal=principal)


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, principal: ChangingPassword) -> Response:
    return render(
        request,
        "account/password.html",
        {"problems": [], "required": principal.password_change_pending},
        principal=principal,
    )


@router.post("/account/password", response_class=HTMLResponse)
def password_submit(
    request: Request,
    principal: ChangingPassword,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    current_password, new_password = text(form, "current_password"), text(form, "new_password")
    confirm_password = text(form, "confirm_password")
    end_other_sessions = text(form, "end_other_sessions")
    problems: list[str] = []
    with using_language(language_for(request, principal)):
        if new_password != confirm_password:
            problems.append(gettext("The two new passwords are not the same."))
        else:
            try:
                accounts.change_password(
                    session,
                    runtime,
                    account_id=principal.id,
                    current_password=current_password,
                    new_password=new_password,
                    keep_session=uuid.UUID(principal.session_id) if principal.session_id else None,
                    end_other_sessions=bool(end_other_sessions),
                    source=client_address(request),
                )
            except AuthenticationFailed:
                session.rollback()
                problems.append(
                    gettext("The current password is wrong, or there were too many attempts.")
                )
            except InvalidInput:
                session.rollback()
                problems.append(
                    gettext(
                        "The new password does not meet the rules: at least 12 characters, "
                        "not a common password, not your email address, and not the current one."
                    )
                )
    if problems:
        return render(
            request,
            "account/password.html",
            {"problems": problems, "required": principal.password_change_pending},
            principal=principal,
            status_code=422,
        )
    return RedirectResponse("/account?done=password", status_code=303)


def _totp_page(
    request: Request,
    principal: Principal,
    *,
    enabled: bool,
    enrolment: accounts.TotpEnrolment | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    with using_language(language_for(request, principal)):
        title = gettext("QR code for your authenticator app")
    return render(
        request,
        "account/totp.html",
        {
            "enabled": enabled,
            "enrolment": enrolment,
            "qr_svg": qr_svg(enrolment.provisioning_uri, title) if enrolment else "",
            "required": principal.second_factor_pending,
            "problems": problems or [],
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/account/totp", response_class=HTMLResponse)
def totp_page(request: Request, principal: Enrolling, session: SessionDep) -> Response:
    account = accounts.find_account(session, account_id=principal.id)
    return _totp_page(request, principal, enabled=account.totp_enabled_at is not None)


@router.post("/account/totp/start", response_class=HTMLResponse)
def totp_start(
    request: Request, principal: Enrolling, session: SessionDep, runtime: RuntimeDep
) -> Response:
    try:
        enrolment = accounts.begin_totp_enrolment(session, runtime, principal.id)
    except Conflict:
        return _totp_page(request, principal, enabled=True)
    return _totp_page(request, principal, enabled=False, enrolment=enrolment)


@router.post("/account/totp/confirm", response_class=HTMLResponse)
def totp_confirm(
    request: Request,
    principal: Enrolling,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    code = text(form, "code")
    try:
        codes = accounts.confirm_totp_enrolment(
            session,
            runtime,
            account_id=principal.id,
            session_id=uuid.UUID(principal.session_id) if principal.session_id else None,
            code=code,
            source=client_address(request),
        )
    except Conflict:
        return _totp_page(request, principal, enabled=True)
    except InvalidInput:
        session.rollback()
        account = accounts.find_account(session, account_id=principal.id)
        if account.totp_secret_enc is None:
            return _totp_page(request, principal, enabled=False)
        secret = totp.unseal_secret(runtime.keyring, account.totp_secret_enc)
        enrolment = accounts.TotpEnrolment(secret, totp.provisioning_uri(secret, account.email))
        with using_language(language_for(request, principal)):
            problem = gettext(
                "That code is not valid. Check that your phone's clock is right and try again."
            )
        return _totp_page(
            request,
            principal,
            enabled=False,
            enrolment=enrolment,
            problems=[problem],
            status_code=422,
        )
    home = (
        HOME_BY_ROLE.get(principal.role, "/")
        if principal.role in SECOND_FACTOR_REQUIRED
        else "/account"
    )
    next_url = "/account/password" if principal.password_change_pending else f"{home}?done=totp"
    # The recovery codes are shown this once; the page is not cached.
    response = render(
        request,
        "account/recovery_codes.html",
        {"codes": codes, "next_url": next_url},
        principal=principal,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
