"""The DPO's and the IT team's dashboards, and the audit-chain check they can run."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from callvault.access.requests import pending_requests
from callvault.accounts.auth import client_address
from callvault.accounts.service import list_accounts
from callvault.deps import RuntimeDep, SessionDep
from callvault.training.leaks import dashboard_figures as training_figures
from callvault.web.figures import consent_chart, dpo_figures, it_figures
from callvault.web.forms import Posted, text
from callvault.web.i18n import gettext, using_language
from callvault.web.pages import DPO, Auditor, ITAdmin
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)

VERIFY_RETURNS = frozenset({"/it", "/audit"})  # the pages that offer the chain check


def account_labels(session: SessionDep) -> dict[str, str]:
    """`account:<id>` to the account's email, for tables of actors."""
    return {f"account:{a.id}": a.email for a in list_accounts(session)}


@router.get("/dpo", response_class=HTMLResponse)
def dpo_dashboard(
    request: Request, principal: DPO, session: SessionDep, runtime: RuntimeDep
) -> Response:
    figures = dpo_figures(session, runtime, principal)
    from callvault.policy.identity import SETTING, example_fields, identity_in_force

    example_identity = [
        SETTING[name] for name in example_fields(identity_in_force(session, runtime.settings))
    ]
    with using_language(language_for(request, principal)):
        chart = consent_chart(
            figures.weeks,
            {
                "accepted": gettext("Pressed 1 (consent)"),
                "refused": gettext("Pressed 2 (no consent)"),
                "no_answer": gettext("No answer"),
                "withdrawals": gettext("Withdrawals"),
            },
        )
    return render(
        request,
        "dashboards/dpo.html",
        {
            "f": figures,
            "chart": chart,
            "now": runtime.clock.now(),
            "actors": account_labels(session),
            "example_identity": example_identity,
            "pending_requests": pending_requests(session),
            "training": training_figures(session, runtime.clock.now()),
        },
        principal=principal,
    )


@router.get("/it", response_class=HTMLResponse)
def it_dashboard(
    request: Request, principal: ITAdmin, session: SessionDep, runtime: RuntimeDep
) -> Response:
    from callvault.worker.middleware import should_embed

    embedded = getattr(request.app.state, "embedded_worker", None)
    if should_embed(runtime):
        worker = "running" if embedded is not None and embedded.running else "stopped"
    else:
        worker = "external"
    return render(
        request,
        "dashboards/it.html",
        {"f": it_figures(session, runtime), "now": runtime.clock.now(), "worker": worker},
        principal=principal,
    )


@router.post("/audit/verify", response_class=HTMLResponse)
def verify_audit_chain(
    request: Request, principal: Auditor, session: SessionDep, runtime: RuntimeDep, form: Posted
) -> Response:
    """Check the whole chain now, as `GET /api/v1/audit/verify` does, and show the result in
    place of the chain's status (htmx), or go back to the page the check was asked from."""
    from callvault.audit.models import AuditCheckpoint
    from callvault.audit.service import record_isolated
    from callvault.audit.signing import load_verifier
    from callvault.audit.verify import verification_connection, verify_chain
    from callvault.errors import KeyringError

    try:
        verifier = load_verifier(runtime.settings.resolved_audit_signing_key)
    except KeyringError:
        verifier = None
    with verification_connection(runtime) as connection:
        report = verify_chain(connection, verifier)
    record_isolated(
        runtime,
        actor=principal.actor,
        action="audit.verify",
        source=client_address(request),
        outcome="ok" if report.ok else "error",
        details={"entries": report.entries, "first_bad_seq": report.first_bad_seq},
    )
    back = text(form, "back")
    back = back if back in VERIFY_RETURNS else "/audit"
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse(back, status_code=303)
    checkpoint = session.scalar(
        sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    )
    return render(
        request,
        "dashboards/_chain_body.html",
        {
            "report": report,
            "checked_at": runtime.clock.now(),
            "last_checkpoint": checkpoint,
            "back": back,
        },
        principal=principal,
    )
