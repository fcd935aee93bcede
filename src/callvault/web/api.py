"""The web interface's routes: server-rendered pages for people, gathered from the page modules."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from callvault.accounts.service import set_language
from callvault.deps import RuntimeDep, SessionDep
from callvault.web import (
    access_request_pages,
    account_pages,
    account_recovery_pages,
    admin_pages,
    dashboard_pages,
    dsar_pages,
    grants_pages,
    policy_admin_pages,
    policy_pages,
    quality_pages,
    recording_pages,
    token_pages,
    training_pages,
    withdrawal_pages,
)
from callvault.web.forms import Posted, safe_next, text
from callvault.web.i18n import LANGUAGE_COOKIE, normalise_language
from callvault.web.pages import Visitor
from callvault.web.templating import HOME_BY_ROLE

router = APIRouter(include_in_schema=False)


@router.get("/")
def start(principal: Visitor) -> RedirectResponse:
    """Each role starts on its own page; visitors start at the login page."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME_BY_ROLE.get(principal.role, "/intranet/policy"), status_code=303)


@router.post("/language")
def choose_language(
    request: Request,
    principal: Visitor,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> RedirectResponse:
    """Switch language: a cookie for visitors, the account's setting when logged in."""
    chosen = normalise_language(text(form, "language"))
    response = RedirectResponse(safe_next(text(form, "next"), "/"), status_code=303)
    if chosen is None:
        return response
    if principal is not None:
        # The account keeps it (the CSRF token was checked when the principal was resolved).
        set_language(session, runtime, principal.id, chosen)
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


for _module in (
    access_request_pages,
    account_pages,
    account_recovery_pages,
    admin_pages,
    dashboard_pages,
    dsar_pages,
    grants_pages,
    policy_admin_pages,
    policy_pages,
    quality_pages,
    recording_pages,
    token_pages,
    training_pages,
    withdrawal_pages,
):
    router.include_router(_module.router)
