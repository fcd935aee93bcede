"""The audit trail (DPO, IT) and account administration (IT), through their parts' services."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from callvault.accounts import service as accounts
from callvault.accounts.auth import Principal, client_address
from callvault.accounts.roles import Role, assignable_roles
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import Conflict, InvalidInput, PermissionDenied
from callvault.inputs import filter_day, whole_number
from callvault.web.dashboard_pages import account_labels
from callvault.web.forms import Posted, text
from callvault.web.grants_pages import day_start
from callvault.web.i18n import gettext, using_language
from callvault.web.pages import Auditor, ITAdmin, RoleAssigner
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)

AUDIT_PAGE = 50
ASSIGNABLE_ROLES = tuple(r.value for r in Role if r != Role.DPO)


# --- audit trail --------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, principal: Auditor, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Entries newest first with filters and keyset paging, and the chain's verification."""
    from callvault.audit.models import AuditCheckpoint
    from callvault.audit.queries import search
    from callvault.audit.service import record

    query = request.query_params
    labels = account_labels(session)
    by_email = {email: actor for actor, email in labels.items()}
    who = (query.get("who") or "").strip()
    actor = by_email.get(who.lower(), who) if who else None
    first, last = filter_day(query.get("from"), "from"), filter_day(query.get("until"), "until")
    before = query.get("before")
    before_seq = whole_number(before, "before", minimum=1)
    outcome = query.get("outcome") or None
    entries = search(
        session,
        actor=actor or None,
        action=(query.get("action") or "").strip()[:64] or None,
        outcome=outcome if outcome in ("ok", "refused", "error") else None,
        since=day_start(first) if first else None,
        until=day_start(last + timedelta(days=1)) if last else None,
        limit=AUDIT_PAGE + 1,
        before_seq=before_seq,
    )
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    record(
        session,
        actor=principal.actor,
        action="audit.read",
        source=client_address(request),
        details={"view": "web", "returned": len(entries)},
    )
    kept = {
        k: v for k, v in query.items() if k in ("who", "action", "outcome", "from", "until") and v
    }
    verified = search(session, action="audit.verify", limit=1)
    return render(
        request,
        "audit.html",
        {
            "entries": entries,
            "labels": labels,
            "values": kept,
            "next_url": "?" + urlencode({**kept, "before": entries[-1].seq})
            if more and entries
            else None,
            "first_url": "?" + urlencode(kept) if before else None,
            "last_verify": verified[0] if verified else None,
            "last_checkpoint": session.scalar(
                sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
            ),
        },
        principal=principal,
    )


# --- accounts -----------------------------------------------------------------------------------


def _accounts_page(
    request: Request,
    principal: Principal,
    session: SessionDep,
    *,
    values: dict[str, str] | None = None,
    problems: list[str] | None = None,
    status_code: int | None = None,
) -> HTMLResponse:
    listed = accounts.list_accounts(session)
    # The roles this person may give each account (none for themself or disabled accounts).
    role_choices = {
        str(a.id): assignable_roles(principal.role, a.role)
        for a in listed
        if a.disabled_at is None and a.id != principal.id
    }
    return render(
        request,
        "accounts.html",
        {
            "accounts": listed,
            "manages_accounts": principal.role == Role.IT_ADMIN,
            "role_choices": role_choices,
            "roles": ASSIGNABLE_ROLES,
            "values": values or {"email": "", "role": "agent", "language": "sv"},
            "problems": problems or [],
        },
        principal=principal,
        status_code=status_code or (422 if problems else 200),
    )


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, principal: RoleAssigner, session: SessionDep) -> Response:
    """IT manages accounts here; the DPO comes here to give or take the DPO role."""
    return _accounts_page(request, principal, session)


@router.post("/accounts", response_class=HTMLResponse)
def accounts_create(
    request: Request, principal: ITAdmin, session: SessionDep, runtime: RuntimeDep, form: Posted
) -> Response:
    """IT creates accounts of every role but the DPO's (the CLI or another DPO does that)."""
    values = {k: text(form, k) for k in ("email", "role", "language")}
    problem: str | None = None
    with using_language(language_for(request, principal)):
        if values["role"] not in ASSIGNABLE_ROLES:
            problem = gettext("The DPO role is assigned with the command line only.")
        else:
            try:
                accounts.create_account(
                    session,
                    runtime,
                    email=values["email"],
                    role=values["role"],
                    password=text(form, "password"),
                    actor=principal.actor,
                    source=client_address(request),
                    language=values["language"] if values["language"] in ("sv", "en") else "sv",
                    password_must_change=True,  # IT chose it; the person chooses their own
                )
            except Conflict:
                problem = gettext("An account with that email address exists.")
            except InvalidInput as exc:
                problem = (
                    gettext("That is not an email address.")
                    if "email" in exc.message
                    else gettext(
                        "The password does not meet the rules: at least 12 characters, "
                        "not a common password and not the email address."
                    )
                )
    if problem:
        session.rollback()
        return _accounts_page(request, principal, session, values=values, problems=[problem])
    return RedirectResponse("/accounts?done=account", status_code=303)


@router.post("/accounts/{account_id}/disable")
def accounts_disable(
    account_id: uuid.UUID,
    request: Request,
    principal: ITAdmin,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """Disable after a confirmation step (a page that says what happens and that it can be
    undone); only the confirming form carries `confirm=1`."""
    account = accounts.find_account(session, account_id=account_id)
    if text(form, "confirm") != "1":
        return render(request, "accounts_disable.html", {"account": account}, principal=principal)
    accounts.disable_account(
        session, runtime, account, actor=principal.actor, source=client_address(request)
    )
    return RedirectResponse("/accounts?done=disabled", status_code=303)


@router.post("/accounts/{account_id}/role", response_class=HTMLResponse)
def accounts_change_role(
    account_id: uuid.UUID,
    request: Request,
    principal: RoleAssigner,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """Give a person another role; the service decides who may give which (and audits it)."""
    try:
        accounts.change_role(
            session,
            runtime,
            actor_principal=principal,
            account_id=account_id,
            role=text(form, "role"),
            source=client_address(request),
        )
    except (InvalidInput, PermissionDenied) as exc:
        session.rollback()
        with using_language(language_for(request, principal)):
            problem = (
                gettext("Choose one of the roles in the list.")
                if isinstance(exc, InvalidInput)
                else gettext(
                    "Only a data protection officer gives or removes the DPO role, and nobody "
                    "changes their own role."
                )
            )
        return _accounts_page(
            request, principal, session, problems=[problem], status_code=exc.status_code
        )
    return RedirectResponse("/accounts?done=role", status_code=303)


@router.post("/accounts/{account_id}/totp-reset")
def accounts_reset_totp(
    account_id: uuid.UUID,
    request: Request,
    principal: ITAdmin,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    account = accounts.find_account(session, account_id=account_id)
    accounts.reset_totp(
        session, runtime, account, actor=principal.actor, source=client_address(request)
    )
    return RedirectResponse("/accounts?done=totp_reset", status_code=303)
