"""Purposes and policy versions for the DPO (§2): draft, preview, approve or discard."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import Conflict, InvalidInput
from callvault.policy import drafts
from callvault.policy.art13 import employee_basis
from callvault.policy.purposes import PurposeSpec
from callvault.policy.service import latest_version, published_versions
from callvault.policy.texts import employee_basis_template
from callvault.web.forms import Posted, text, texts
from callvault.web.grants_pages import day_start, parse_day
from callvault.web.i18n import gettext, using_language
from callvault.web.pages import DPO
from callvault.web.policy_pages import policy_blocks
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)

PURPOSE_FIELDS = ("code", "description_sv", "description_en", "retention_days")


def _rows(draft: Any) -> list[dict[str, Any]]:
    """The draft's purposes as form rows, plus one empty row to add a purpose."""
    rows = [dict(p) for p in draft.purposes]
    rows.append({"code": "", "description_sv": "", "description_en": "", "retention_days": 90,
                 "variants": ["pseudonymised"]})  # fmt: skip
    return rows


@router.get("/policy/manage", response_class=HTMLResponse)
def manage_policy(
    request: Request, principal: DPO, session: SessionDep, runtime: RuntimeDep
) -> Response:
    now = runtime.clock.now()
    in_force = published_versions(session, now)
    return render(
        request,
        "policy/manage.html",
        {
            "current": in_force[0] if in_force else None,
            "latest": latest_version(session),
            "drafts": drafts.list_drafts(session),
            "basis_unchecked": bool(in_force) and in_force[0].employee_basis_sv is None,
        },
        principal=principal,
    )


@router.post("/policy/manage/drafts")
def new_draft(
    request: Request, principal: DPO, session: SessionDep, runtime: RuntimeDep, form: Posted
) -> Response:
    with using_language(language_for(request, principal)):
        note = text(form, "change_note") or gettext("New draft")
    draft = drafts.create_draft(session, runtime, actor=principal, change_note=note)
    return RedirectResponse(f"/policy/manage/drafts/{draft.id}", status_code=303)


def _draft_page(
    request: Request,
    principal: DPO,
    session: SessionDep,
    runtime: RuntimeDep,
    draft_id: uuid.UUID,
    *,
    problems: list[str] | None = None,
    preview: str | None = None,
) -> HTMLResponse:
    draft = drafts.get_draft(session, draft_id)
    base = latest_version(session)
    texts_now = {
        "text_sv": draft.text_sv or (base.text_sv if base else ""),
        "text_en": draft.text_en or (base.text_en if base else ""),
        **{
            f"employee_basis_{lang}": getattr(draft, f"employee_basis_{lang}")
            or (employee_basis(base, lang) if base else employee_basis_template(lang))
            for lang in ("sv", "en")
        },
    }
    basis_unchecked = (
        base is not None and base.employee_basis_sv is None and draft.employee_basis_sv is None
    )
    preview_text = texts_now.get(f"text_{preview}", "") if preview else ""
    if preview:  # as it will be published: with the organisation's identity filled in
        from callvault.policy.identity import identity_in_force

        preview_text = identity_in_force(session, runtime.settings).fill(preview_text, preview)
    return render(
        request,
        "policy/draft.html",
        {
            "draft": draft,
            "rows": _rows(draft),
            "changes": drafts.draft_changes(session, draft),
            "texts": texts_now,
            "problems": problems or [],
            "preview": preview,
            "blocks": policy_blocks(preview_text) if preview else [],
            "earliest": (runtime.clock.now() + timedelta(days=1)).date().isoformat(),
            "basis_unchecked": basis_unchecked,
        },
        principal=principal,
        status_code=422 if problems else 200,
    )


@router.get("/policy/manage/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(
    draft_id: uuid.UUID,
    request: Request,
    principal: DPO,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    preview = request.query_params.get("preview")
    return _draft_page(
        request, principal, session, runtime, draft_id,
        preview=preview if preview in ("sv", "en") else None,
    )  # fmt: skip


def _purposes(form: Posted) -> list[PurposeSpec]:
    specs = []
    index = 0
    while f"p{index}-code" in form:
        code = text(form, f"p{index}-code").strip()
        if code and not text(form, f"p{index}-remove"):
            specs.append(
                PurposeSpec(
                    code=code,
                    description_sv=text(form, f"p{index}-description_sv").strip(),
                    description_en=text(form, f"p{index}-description_en").strip(),
                    retention_days=int(text(form, f"p{index}-retention_days") or 0),
                    variants=texts(form, f"p{index}-variants"),  # type: ignore[arg-type]
                )
            )
        index += 1
    return specs


def _employee_basis(session: SessionDep, draft_id: uuid.UUID, form: Posted) -> dict[str, str]:
    """The employees' legal basis to store in the draft: an edited text, or the shown one when
    the DPO ticks that they checked it (the bundled default stays unconfirmed otherwise)."""
    draft = drafts.get_draft(session, draft_id)
    base = latest_version(session)
    confirmed = bool(text(form, "employee_basis_checked"))
    chosen: dict[str, str] = {}
    for lang in ("sv", "en"):
        field = f"employee_basis_{lang}"
        submitted = " ".join(text(form, field).split())
        if not submitted:
            continue
        shown = getattr(draft, field) or (
            employee_basis(base, lang) if base else employee_basis_template(lang)
        )
        if confirmed or submitted != " ".join(shown.split()) or getattr(draft, field):
            chosen[field] = submitted
    return chosen


@router.post("/policy/manage/drafts/{draft_id}", response_class=HTMLResponse)
def save_draft(
    draft_id: uuid.UUID,
    request: Request,
    principal: DPO,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """Save, then approve or discard as the button says. Every rule is the policy part's."""
    action = text(form, "action", "save")
    try:
        if action == "discard":
            drafts.discard_draft(session, runtime, draft_id, actor=principal)
            return RedirectResponse("/policy/manage", status_code=303)
        drafts.update_draft(
            session,
            runtime,
            draft_id,
            actor=principal,
            change_note=text(form, "change_note"),
            purposes=_purposes(form),
            texts={
                **{k: text(form, k) for k in ("text_sv", "text_en") if text(form, k).strip()},
                **_employee_basis(session, draft_id, form),
            },
        )
        if action == "approve":
            day = parse_day(text(form, "effective_from"))
            version = drafts.approve_draft(
                session, runtime, draft_id, actor=principal,
                effective_from=day_start(day) if day else None,
            )  # fmt: skip
            return RedirectResponse(
                f"/policy/versions/{version.number}?done=approved", status_code=303
            )
    except (InvalidInput, Conflict, ValidationError, ValueError) as exc:
        session.rollback()
        message = exc.message if isinstance(exc, InvalidInput | Conflict) else None
        with using_language(language_for(request, principal)):
            problem = gettext("The draft was not saved: %(why)s") % {
                "why": message
                or gettext(
                    "check every purpose: a code of small letters, descriptions in both "
                    "languages, 1 to 3650 days, and at least one variant (training only "
                    "pseudonymised)."
                )
            }
        return _draft_page(request, principal, session, runtime, draft_id, problems=[problem])
    return RedirectResponse(f"/policy/manage/drafts/{draft_id}?done=draft", status_code=303)
