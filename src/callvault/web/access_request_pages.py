"""Access requests on the web: managers ask for access, the DPO approves (narrowed) or rejects."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from callvault.access import requests as service
from callvault.access.models import AccessGrant, AccessRequest
from callvault.accounts.auth import Principal, client_address
from callvault.accounts.service import list_accounts
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import Conflict, InvalidInput, PermissionDenied
from callvault.policy.service import version_in_force
from callvault.web.forms import Posted, text, texts
from callvault.web.grants_pages import DEFAULT_DAYS, _scope, day_start, parse_day
from callvault.web.i18n import DISPLAY_TIMEZONE, gettext, using_language
from callvault.web.messages import purpose_label, service_message
from callvault.web.pages import DPO, signed_in
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)

Asker = Annotated[Principal, Depends(signed_in("dpo", "training_manager", "qa_manager"))]
Manager = Annotated[Principal, Depends(signed_in("training_manager", "qa_manager"))]


def _local_day(value: datetime) -> date:
    return value.astimezone(DISPLAY_TIMEZONE).date()


def _last_day(value: datetime) -> date:
    """The last day an exclusive end covers (an end at midnight covers the day before)."""
    return _local_day(value - timedelta(microseconds=1))


def terms_values(request: AccessRequest) -> dict[str, str]:
    """A request's terms as form values, for the DPO's approval form (to narrow them)."""
    values = {
        "purpose": request.purpose_code,
        "variant": request.variant,
        "scope": request.scope_kind,
        "valid_from": _local_day(request.valid_from).isoformat(),
        "valid_until": _last_day(request.valid_until).isoformat(),
        "scope_agent": request.scope_agent_id or "",
        "scope_team": request.scope_team or "",
        "scope_recordings": " ".join(request.scope_recording_ids or []),
    }
    if request.scope_from and request.scope_until:
        values["scope_from"] = _local_day(request.scope_from).isoformat()
        values["scope_until"] = _last_day(request.scope_until).isoformat()
    return values


def terms_from(form: Posted) -> service.Terms:
    """The terms in a request or approval form (days in Stockholm time, last day included)."""
    first, last = parse_day(text(form, "valid_from")), parse_day(text(form, "valid_until"))
    if first is None or last is None:
        raise InvalidInput("give the first and the last day of the grant")
    return service.Terms(
        purpose=text(form, "purpose"),
        variant=text(form, "variant"),
        scope=_scope(form),
        valid_from=day_start(first),
        valid_until=day_start(last + timedelta(days=1)),
    )


def _start(chosen: datetime, asked: datetime) -> datetime:
    return max(chosen, asked) if _local_day(chosen) == _local_day(asked) else chosen


def _end(chosen: datetime, asked: datetime) -> datetime:
    return min(chosen, asked) if _last_day(chosen) == _last_day(asked) else chosen


def within(asked: service.Terms, chosen: service.Terms) -> service.Terms:
    """The form's whole days, kept inside the asked times where they name the same day: a
    request made through the API may start or end within a day, and leaving its first or last
    day as shown must not widen it. A different day stays as chosen (and a wider one is
    refused by the service)."""
    scope = chosen.scope
    a = asked.scope
    if (
        scope.kind == a.kind == "date_range"
        and a.date_from and a.date_until and scope.date_from and scope.date_until
    ):  # fmt: skip
        scope = replace(
            scope,
            date_from=_start(scope.date_from, a.date_from),
            date_until=_end(scope.date_until, a.date_until),
        )
    return replace(
        chosen,
        scope=scope,
        valid_from=_start(chosen.valid_from, asked.valid_from),
        valid_until=_end(chosen.valid_until, asked.valid_until),
    )


def _purpose_options(session: SessionDep, now: datetime) -> list[tuple[str, str]]:
    return [(p.code, purpose_label(p.code)) for p in version_in_force(session, now).purposes]


def _message(exc: Exception) -> str:
    if isinstance(exc, Conflict):
        return gettext("The request has already been decided.")
    if isinstance(exc, InvalidInput) and exc.message.startswith("justify the request"):
        return gettext("Say why you need the access, in at least 10 characters.")
    if isinstance(exc, InvalidInput) and exc.message.startswith("an approval may narrow"):
        return gettext("An approval may narrow the request, never widen it.")
    if isinstance(exc, InvalidInput | PermissionDenied):
        return service_message(exc.message)
    return gettext("That scope is not valid.")


def _list_page(
    request: Request,
    principal: Principal,
    session: SessionDep,
    runtime: RuntimeDep,
    *,
    values: dict[str, str] | None = None,
    problems: list[str] | None = None,
) -> Response:
    now = runtime.clock.now()
    today = now.astimezone(DISPLAY_TIMEZONE).date()
    defaults = {
        "purpose": "quality_assurance",
        "variant": "pseudonymised",
        "scope": "all",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "justification": "",
    }
    defaults.update(values or {})
    with using_language(language_for(request, principal)):
        purposes = [
            (p.code, purpose_label(p.code)) for p in version_in_force(session, now).purposes
        ]
    return render(
        request,
        "access_requests.html",
        {
            "requests": service.list_requests(session, principal),
            "emails": {a.id: a.email for a in list_accounts(session)},
            "is_dpo": principal.role == "dpo",
            "purpose_options": purposes,
            "values": defaults,
            "problems": problems or [],
        },
        principal=principal,
        status_code=422 if problems else 200,
    )


@router.get("/access-requests", response_class=HTMLResponse)
def access_requests_page(
    request: Request, principal: Asker, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Managers ask here and follow their requests; the DPO sees every request, pending first."""
    return _list_page(request, principal, session, runtime)


@router.post("/access-requests", response_class=HTMLResponse)
def access_requests_submit(
    request: Request, principal: Manager, session: SessionDep, runtime: RuntimeDep, form: Posted
) -> Response:
    values = {key: text(form, key) for key in form}
    try:
        service.submit_request(
            session,
            runtime,
            principal,
            terms_from(form),
            justification=text(form, "justification"),
            source=client_address(request),
        )
    except (InvalidInput, PermissionDenied, ValueError) as exc:
        session.rollback()
        with using_language(language_for(request, principal)):
            problem = _message(exc)
        return _list_page(request, principal, session, runtime, values=values, problems=[problem])
    return RedirectResponse("/access-requests?done=access_request", status_code=303)


def _detail_page(
    request: Request,
    principal: Principal,
    session: SessionDep,
    runtime: RuntimeDep,
    access_request: AccessRequest,
    *,
    values: dict[str, str] | None = None,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    now = runtime.clock.now()
    with using_language(language_for(request, principal)):
        purposes = [
            (p.code, purpose_label(p.code)) for p in version_in_force(session, now).purposes
        ]
    return render(
        request,
        "access_request.html",
        {
            "r": access_request,
            "requester": next(
                (a.email for a in list_accounts(session) if a.id == access_request.requester_id),
                "",
            ),
            "is_dpo": principal.role == "dpo",
            # what the approval granted (perhaps narrowed): the person should not read "Approved"
            # beside their own wider terms and think they have those
            "grant": (
                session.get(AccessGrant, access_request.grant_id)
                if access_request.grant_id
                else None
            ),
            "purpose_options": purposes,
            "values": values or terms_values(access_request),
            "problems": problems or [],
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/access-requests/{request_id}", response_class=HTMLResponse)
def access_request_page(
    request_id: uuid.UUID,
    request: Request,
    principal: Asker,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    found = service.get_request(session, principal, request_id)
    return _detail_page(request, principal, session, runtime, found)


@router.post("/access-requests/{request_id}/approve", response_class=HTMLResponse)
def access_request_approve(
    request_id: uuid.UUID,
    request: Request,
    principal: DPO,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """Approve as shown in the form: the request's terms, or narrower ones the DPO chose."""
    try:
        asked = service.request_terms(service.get_request(session, principal, request_id))
        service.approve_request(
            session,
            runtime,
            principal,
            request_id,
            narrowed=within(asked, terms_from(form)),
            allows_download=bool(texts(form, "allows_download")),
            note=text(form, "note").strip() or None,
            source=client_address(request),
        )
    except (InvalidInput, PermissionDenied, Conflict, ValueError) as exc:
        session.rollback()
        with using_language(language_for(request, principal)):
            problem = _message(exc)
        found = service.get_request(session, principal, request_id)
        values = {key: text(form, key) for key in form}
        return _detail_page(
            request,
            principal,
            session,
            runtime,
            found,
            values=values,
            problems=[problem],
            status_code=409 if isinstance(exc, Conflict) else 422,
        )
    return RedirectResponse("/access-requests?done=access_approved", status_code=303)


@router.post("/access-requests/{request_id}/reject")
def access_request_reject(
    request_id: uuid.UUID,
    request: Request,
    principal: DPO,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    service.reject_request(
        session,
        runtime,
        principal,
        request_id,
        note=text(form, "reject_note"),
        source=client_address(request),
    )
    return RedirectResponse("/access-requests?done=access_rejected", status_code=303)
