"""Undoing a disable, and password-reset links: IT hands one on, the person sets a password."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from callvault.accounts import recovery
from callvault.accounts import service as accounts
from callvault.accounts.auth import Principal, client_address
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import InvalidInput
from callvault.web.forms import Posted, text
from callvault.web.i18n import gettext, using_language
from callvault.web.pages import ITAdmin, Visitor
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)


@router.post("/accounts/{account_id}/enable")
def accounts_enable(
    account_id: uuid.UUID,
    request: Request,
    principal: ITAdmin,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """Undo a disable ("Aktivera"): the person can sign in again."""
    account = accounts.find_account(session, account_id=account_id)
    accounts.enable_account(
        session, runtime, account, actor=principal.actor, source=client_address(request)
    )
    return RedirectResponse("/accounts?done=enabled", status_code=303)


@router.post("/accounts/{account_id}/password-reset", response_class=HTMLResponse)
def accounts_password_reset(
    account_id: uuid.UUID,
    request: Request,
    principal: ITAdmin,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """A one-time link for a person who forgot their password, shown here for IT to pass on."""
    account = accounts.find_account(session, account_id=account_id)
    issued = recovery.issue_password_reset(
        session, runtime, account, actor=principal.actor, source=client_address(request)
    )
    response = render(
        request,
        "accounts_reset_link.html",
        {"account": account, "issued": issued},
        principal=principal,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _reset_page(
    request: Request,
    principal: Principal | None,
    token: str,
    *,
    email: str | None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    response = render(
        request,
        "account/reset.html",
        {"token": token, "email": email, "problems": problems or []},
        principal=principal,
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get(recovery.RESET_PATH + "{token}", response_class=HTMLResponse)
def reset_page(
    token: str, request: Request, principal: Visitor, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """The form behind a reset link (no sign-in: the link is the proof)."""
    try:
        account = recovery.reset_link_account(session, runtime, token)
    except InvalidInput:
        return _reset_page(request, principal, "", email=None, status_code=410)
    return _reset_page(request, principal, token, email=account.email)


@router.post(recovery.RESET_PATH + "{token}", response_class=HTMLResponse)
def reset_submit(
    token: str,
    request: Request,
    principal: Visitor,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """Set the chosen password; the link is spent and every session of the account ends."""
    new_password, again = text(form, "new_password"), text(form, "confirm_password")
    try:
        account = recovery.reset_link_account(session, runtime, token)
    except InvalidInput:
        return _reset_page(request, principal, "", email=None, status_code=410)
    problem: str | None = None
    with using_language(language_for(request, None)):
        if new_password != again:
            problem = gettext("The two new passwords are not the same.")
        else:
            try:
                recovery.complete_password_reset(
                    session,
                    runtime,
                    token=token,
                    new_password=new_password,
                    source=client_address(request),
                )
            except InvalidInput:
                problem = gettext(
                    "The new password does not meet the rules: at least 12 characters, "
                    "not a common password and not the email address."
                )
    if problem:
        session.rollback()
        return _reset_page(
            request, principal, token, email=account.email, problems=[problem], status_code=422
        )
    return RedirectResponse("/login?done=password_reset", status_code=303)
