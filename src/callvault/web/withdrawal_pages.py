"""Withdrawal of consent (§7) for agents and the DPO: number, confirm, then the reference."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import InvalidInput
from callvault.phone import normalise_e164
from callvault.web.forms import Posted, text
from callvault.web.i18n import gettext, using_language
from callvault.web.pages import WithdrawalDesk
from callvault.web.templating import language_for, render
from callvault.withdrawal.service import recent_withdrawals, withdraw

router = APIRouter(include_in_schema=False)


def _form(
    request: Request,
    principal: WithdrawalDesk,
    session: SessionDep,
    *,
    by: str,
    value: str,
    problems: list[str],
) -> HTMLResponse:
    from callvault.web.dashboard_pages import account_labels

    return render(
        request,
        "withdrawal/form.html",
        {
            "by": by,
            "value": value,
            "problems": problems,
            "history": recent_withdrawals(session),
            "accounts": account_labels(session),
        },
        principal=principal,
        status_code=422 if problems else 200,
    )


@router.get("/withdrawal", response_class=HTMLResponse)
def withdrawal_form(request: Request, principal: WithdrawalDesk, session: SessionDep) -> Response:
    return _form(request, principal, session, by="number", value="", problems=[])


@router.post("/withdrawal", response_class=HTMLResponse)
def withdrawal_check(
    request: Request, principal: WithdrawalDesk, session: SessionDep, form: Posted
) -> Response:
    """Step two: show what will happen and ask for confirmation (nothing is changed yet)."""
    by = "reference" if text(form, "by") == "reference" else "number"
    value = text(form, "value").strip()[:128]
    with using_language(language_for(request, principal)):
        if not value:
            problem = gettext("Enter the caller's phone number or a call reference.")
            return _form(request, principal, session, by=by, value=value, problems=[problem])
        shown = value
        if by == "number":
            try:
                shown = normalise_e164(value)
            except InvalidInput:
                problem = gettext(
                    "That is not a phone number. Write it as the caller says it, "
                    "for example 070-123 45 67 or +46 70 123 45 67."
                )
                return _form(request, principal, session, by=by, value=value, problems=[problem])
    return render(
        request,
        "withdrawal/confirm.html",
        {"by": by, "value": value, "shown": shown},
        principal=principal,
    )


@router.post("/withdrawal/confirm", response_class=HTMLResponse)
def withdrawal_register(
    request: Request,
    principal: WithdrawalDesk,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """Step three: register it and show the reference to read to the caller."""
    by = "reference" if text(form, "by") == "reference" else "number"
    value = text(form, "value").strip()[:128]
    try:
        receipt = withdraw(
            session,
            runtime,
            number=value if by == "number" else None,
            call_reference=value if by == "reference" else None,
            actor=principal.actor,
            channel="web",
        )
    except InvalidInput:
        session.rollback()
        with using_language(language_for(request, principal)):
            problem = gettext("Enter the caller's phone number or a call reference.")
        return _form(request, principal, session, by=by, value=value, problems=[problem])
    return render(
        request,
        "withdrawal/done.html",
        {"receipt": receipt, "spelled": " ".join(receipt.reference.replace("-", " – "))},
        principal=principal,
    )
