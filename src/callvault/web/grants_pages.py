"""Grants (§6) for the DPO: create with scope, variant and validity; list; revoke."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from callvault import inputs
from callvault.access.grants import GrantScope, create_grant, list_grants, revoke_grant
from callvault.access.models import AccessGrant, ScopeKind
from callvault.accounts.auth import client_address
from callvault.accounts.roles import GRANTEE_ROLES
from callvault.accounts.service import list_accounts
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import InvalidInput, PermissionDenied
from callvault.policy.service import version_in_force
from callvault.web.forms import Posted, text, texts
from callvault.web.i18n import DISPLAY_TIMEZONE, gettext, using_language
from callvault.web.messages import purpose_label, role_label, service_message
from callvault.web.pages import DPO
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)

DEFAULT_DAYS = 7


@dataclass(frozen=True)
class GrantRow:
    grant: AccessGrant
    grantee: str
    status: str  # active, upcoming, expired, revoked


def day_start(value: date) -> datetime:
    """Midnight at the start of a day in the organisation's time zone, as UTC."""
    return datetime.combine(value, time.min, tzinfo=DISPLAY_TIMEZONE).astimezone(UTC)


def parse_day(raw: str) -> date | None:
    """A form's `YYYY-MM-DD`, or None when empty, malformed or outside the usable years."""
    return inputs.parse_day(raw)


def _status(grant: AccessGrant, now: datetime) -> str:
    if grant.revoked_at is not None:
        return "revoked"
    if now < grant.valid_from:
        return "upcoming"
    return "active" if now < grant.valid_until else "expired"


def _page(
    request: Request,
    principal: DPO,
    session: SessionDep,
    runtime: RuntimeDep,
    *,
    values: dict[str, str] | None = None,
    problems: list[str] | None = None,
) -> HTMLResponse:
    now = runtime.clock.now()
    people = list_accounts(session, include_disabled=False)
    grantees = [a for a in people if a.role in GRANTEE_ROLES]
    emails = {a.id: a.email for a in list_accounts(session)}
    rows = [
        GrantRow(g, emails.get(g.grantee_id, str(g.grantee_id)), _status(g, now))
        for g in list_grants(session, runtime, principal)
    ]
    today = now.astimezone(DISPLAY_TIMEZONE).date()
    defaults = {
        "grantee": "",
        "purpose": "quality_assurance",
        "variant": "pseudonymised",
        "scope": "all",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=DEFAULT_DAYS)).isoformat(),
    }
    defaults.update(values or {})
    with using_language(language_for(request, principal)):
        grantee_options = [(str(a.id), f"{a.email} ({role_label(a.role)})") for a in grantees]
        purpose_options = [
            (p.code, purpose_label(p.code)) for p in version_in_force(session, now).purposes
        ]
    return render(
        request,
        "grants.html",
        {
            "rows": rows,
            "grantee_options": grantee_options,
            "purpose_options": purpose_options,
            "values": defaults,
            "problems": problems or [],
        },
        principal=principal,
        status_code=422 if problems else 200,
    )


@router.get("/grants", response_class=HTMLResponse)
def grants_page(
    request: Request, principal: DPO, session: SessionDep, runtime: RuntimeDep
) -> Response:
    return _page(request, principal, session, runtime)


def _scope(form: Posted) -> GrantScope:
    kind = ScopeKind(text(form, "scope", "all"))
    if kind == ScopeKind.DATE_RANGE:
        first, last = parse_day(text(form, "scope_from")), parse_day(text(form, "scope_until"))
        if first is None or last is None:
            raise InvalidInput("a date_range scope needs both date_from and date_until")
        return GrantScope(
            kind, date_from=day_start(first), date_until=day_start(last + timedelta(1))
        )
    if kind == ScopeKind.AGENT:
        return GrantScope(kind, agent_id=text(form, "scope_agent").strip() or None)
    if kind == ScopeKind.TEAM:
        return GrantScope(kind, team=text(form, "scope_team").strip() or None)
    if kind == ScopeKind.RECORDINGS:
        ids: list[uuid.UUID] = []
        for raw in text(form, "scope_recordings").replace(",", " ").split():
            try:
                ids.append(uuid.UUID(raw))
            except ValueError:
                raise InvalidInput("a recording id is not valid") from None
        return GrantScope(kind, recording_ids=tuple(ids))
    return GrantScope(kind)


@router.post("/grants", response_class=HTMLResponse)
def grants_create(
    request: Request, principal: DPO, session: SessionDep, runtime: RuntimeDep, form: Posted
) -> Response:
    values = {key: text(form, key) for key in form}
    try:
        first, last = parse_day(text(form, "valid_from")), parse_day(text(form, "valid_until"))
        if first is None or last is None:
            raise InvalidInput("give the first and the last day of the grant")
        create_grant(
            session,
            runtime,
            principal,
            grantee_id=uuid.UUID(text(form, "grantee")),
            purpose=text(form, "purpose"),
            variant=text(form, "variant"),
            scope=_scope(form),
            valid_from=day_start(first),
            valid_until=day_start(last + timedelta(days=1)),
            allows_download=bool(texts(form, "allows_download")),
            note=text(form, "note").strip() or None,
            source=client_address(request),
        )
    except (InvalidInput, PermissionDenied, ValueError) as exc:
        session.rollback()
        with using_language(language_for(request, principal)):
            message = (
                service_message(exc.message)
                if isinstance(exc, InvalidInput | PermissionDenied)
                else gettext("Choose who gets the grant.")
            )
        return _page(request, principal, session, runtime, values=values, problems=[message])
    return RedirectResponse("/grants?done=grant", status_code=303)


@router.post("/grants/{grant_id}/revoke")
def grants_revoke(
    grant_id: uuid.UUID,
    request: Request,
    principal: DPO,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    revoke_grant(session, runtime, principal, grant_id, source=client_address(request))
    return RedirectResponse("/grants?done=revoked", status_code=303)
