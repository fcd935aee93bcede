"""Data-subject access requests for the DPO (§6): open, follow, build and download, close."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from callvault.accounts.auth import client_address
from callvault.accounts.models import Account
from callvault.accounts.service import list_accounts
from callvault.deps import RuntimeDep, SessionDep
from callvault.dsar import service as dsars
from callvault.dsar.models import DataSubjectRequest
from callvault.errors import Conflict, InvalidInput, NotFound
from callvault.web.forms import Posted, text
from callvault.web.grants_pages import day_start, parse_day
from callvault.web.i18n import gettext, using_language
from callvault.web.pages import DPO
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)


def _notes(runtime: RuntimeDep, requests: list[DataSubjectRequest]) -> dict[uuid.UUID, str]:
    """Each request's case note, for the list (a few a month: unsealing each is cheap)."""
    notes = {r.id: dsars.case_note(runtime, r) for r in requests}
    return {rid: note for rid, note in notes.items() if note}


def _list_page(
    request: Request,
    principal: DPO,
    session: SessionDep,
    runtime: RuntimeDep,
    *,
    values: dict[str, str] | None = None,
    problems: list[str] | None = None,
) -> HTMLResponse:
    now = runtime.clock.now()
    requests = dsars.list_requests(session)
    return render(
        request,
        "dsars/list.html",
        {
            "requests": requests,
            "notes": _notes(runtime, requests),
            "emails": {a.id: a.email for a in list_accounts(session)},
            "due_soon": {r.id for r in dsars.due_soon(session, now)},
            "now": now,
            "people": [(str(a.id), a.email) for a in list_accounts(session)],
            "values": values or {"kind": "caller", "language": "sv"},
            "problems": problems or [],
        },
        principal=principal,
        status_code=422 if problems else 200,
    )


@router.get("/dsars", response_class=HTMLResponse)
def dsar_list(
    request: Request, principal: DPO, session: SessionDep, runtime: RuntimeDep
) -> Response:
    return _list_page(request, principal, session, runtime)


@router.post("/dsars", response_class=HTMLResponse)
def dsar_open(
    request: Request, principal: DPO, session: SessionDep, runtime: RuntimeDep, form: Posted
) -> Response:
    values = {
        k: text(form, k) for k in ("kind", "number", "account", "language", "received", "note")
    }
    received_day = parse_day(values["received"])
    received: datetime | None = day_start(received_day) if received_day else None
    if received is not None and received > runtime.clock.now():
        received = None
    try:
        if values["kind"] == "employee":
            opened = dsars.open_request(
                session,
                runtime,
                account_id=uuid.UUID(values["account"]),
                language=values["language"],
                actor=principal.actor,
                source=client_address(request),
                received_at=received,
                note=values["note"],
            )
        else:
            opened = dsars.open_request(
                session,
                runtime,
                number=values["number"].strip() or None,
                language=values["language"],
                actor=principal.actor,
                source=client_address(request),
                received_at=received,
                note=values["note"],
            )
    except (InvalidInput, NotFound, ValueError) as exc:
        session.rollback()
        with using_language(language_for(request, principal)):
            problem = (
                gettext("A case note has at most 200 characters.")
                if isinstance(exc, InvalidInput) and "case note" in exc.message
                else gettext("Give the caller's phone number, or choose the employee's account.")
            )
        return _list_page(request, principal, session, runtime, values=values, problems=[problem])
    return RedirectResponse(f"/dsars/{opened.id}?done=dsar", status_code=303)


def _detail(
    request: Request, principal: DPO, session: SessionDep, runtime: RuntimeDep, dsar_id: uuid.UUID
) -> HTMLResponse:
    found = dsars.get_request(session, dsar_id)
    now = runtime.clock.now()
    template = "dsars/_status.html" if request.headers.get("HX-Request") else "dsars/detail.html"
    return render(
        request,
        template,
        {
            "r": found,
            "note": dsars.case_note(runtime, found),
            "shred_due": dsars.bundle_shred_due(found),
            "employee": (
                session.get(Account, found.subject_account_id) if found.subject_account_id else None
            ),
            "now": now,
            "due_soon": dsars.is_due_soon(found, now),
            "active": found.status in dsars.ACTIVE,
            "building": request.query_params.get("building") == "1" and found.built_at is None,
        },
        principal=principal,
    )


@router.get("/dsars/{dsar_id}", response_class=HTMLResponse)
def dsar_detail(
    dsar_id: uuid.UUID, request: Request, principal: DPO, session: SessionDep, runtime: RuntimeDep
) -> Response:
    return _detail(request, principal, session, runtime, dsar_id)


@router.post("/dsars/{dsar_id}/build")
def dsar_build(
    dsar_id: uuid.UUID,
    request: Request,
    principal: DPO,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """Queue the bundle build, as the API does; the page follows it until it is ready."""
    from callvault.dsar.tasks import build_dsar_bundle
    from callvault.worker.queue import enqueue_after_commit

    found = dsars.get_request(session, dsar_id)
    if found.status not in dsars.ACTIVE:
        raise Conflict("the request is already delivered or closed")
    actor = principal.actor
    enqueue_after_commit(session, lambda: build_dsar_bundle(str(dsar_id), actor))
    return RedirectResponse(f"/dsars/{dsar_id}?building=1", status_code=303)


@router.post("/dsars/{dsar_id}/{step}")
def dsar_step(
    dsar_id: uuid.UUID,
    step: str,
    request: Request,
    principal: DPO,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """Mark the bundle delivered to the subject, or close the request."""
    actions = {"deliver": dsars.deliver, "close": dsars.close}
    if step not in actions:
        raise NotFound("no such step")
    actions[step](session, runtime, dsar_id, actor=principal.actor, source=client_address(request))
    return RedirectResponse(f"/dsars/{dsar_id}?done=dsar", status_code=303)
