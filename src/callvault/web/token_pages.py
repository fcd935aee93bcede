"""IT's service tokens page: every integration's token, when it was last used, revoke, rotate."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from callvault.accounts import tokens
from callvault.accounts.auth import Principal, client_address
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import Conflict, InvalidInput
from callvault.web.forms import Posted, text
from callvault.web.i18n import gettext, using_language
from callvault.web.pages import ITAdmin
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    principal: Principal,
    session: SessionDep,
    *,
    issued: tokens.IssuedToken | None = None,
    problems: list[str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    listed = tokens.list_tokens(session)
    shown = next((t for t in listed if issued and str(t.id) == issued.account_id), None)
    response = render(
        request,
        "service_tokens.html",
        {
            "tokens": listed,
            "issued": issued,
            "issued_name": shown.name if shown else "",
            "problems": problems or [],
            "values": values or {"name": "", "scope": "ingest"},
        },
        principal=principal,
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"  # a new token is on the page once
    return response


@router.get("/service-tokens", response_class=HTMLResponse)
def service_tokens_page(request: Request, principal: ITAdmin, session: SessionDep) -> Response:
    return _page(request, principal, session)


@router.post("/service-tokens", response_class=HTMLResponse)
def service_tokens_create(
    request: Request, principal: ITAdmin, session: SessionDep, runtime: RuntimeDep, form: Posted
) -> Response:
    values = {"name": text(form, "name"), "scope": text(form, "scope")}
    try:
        issued = tokens.create_token(
            session,
            runtime.clock,
            name=values["name"],
            scope=values["scope"],
            actor=principal.actor,
            source=client_address(request),
        )
    except (Conflict, InvalidInput) as exc:
        session.rollback()
        with using_language(language_for(request, principal)):
            problem = (
                gettext("A token with that name exists.")
                if isinstance(exc, Conflict)
                else gettext("Give the token a name (at most 120 characters) and a scope.")
            )
        return _page(
            request, principal, session, problems=[problem], values=values, status_code=422
        )
    return _page(request, principal, session, issued=issued, status_code=201)


@router.post("/service-tokens/{token_id}/revoke")
def service_tokens_revoke(
    token_id: uuid.UUID,
    request: Request,
    principal: ITAdmin,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    account = tokens.find_token(session, str(token_id))
    tokens.revoke_token(
        session, runtime.clock, account, actor=principal.actor, source=client_address(request)
    )
    return RedirectResponse("/service-tokens?done=token_revoked", status_code=303)


@router.post("/service-tokens/{token_id}/rotate", response_class=HTMLResponse)
def service_tokens_rotate(
    token_id: uuid.UUID,
    request: Request,
    principal: ITAdmin,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    account = tokens.find_token(session, str(token_id))
    issued = tokens.rotate_token(
        session, runtime.clock, account, actor=principal.actor, source=client_address(request)
    )
    return _page(request, principal, session, issued=issued)
