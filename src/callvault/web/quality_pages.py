"""Quality-assurance pages (§2): forms, evaluating beside the player, the sampling queue,
calibration, agents' feedback and reports. Every read and write goes through the same
services as /api/v1/qa; the pages' scripts (static/quality.js) call that API for autosave,
the form editor, acknowledgements and disputes."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from callvault.access import service as access
from callvault.accounts.auth import Principal, client_address
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import CallvaultError, NotFound
from callvault.quality import calibration, coverage, feedback, forms, reports, sampling, service
from callvault.quality.models import QaEvaluation
from callvault.runtime import Runtime
from callvault.web.forms import Posted, text, texts
from callvault.web.grants_pages import day_start, parse_day
from callvault.web.i18n import gettext, using_language
from callvault.web.pages import signed_in
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)

QaManager = Annotated[Principal, Depends(signed_in(Role.QA_MANAGER))]
QaOrAgent = Annotated[Principal, Depends(signed_in(Role.QA_MANAGER, Role.AGENT))]


def _id(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no such {what}") from None


def _published_forms(session: Session, language: str) -> list[tuple[str, str]]:
    out = []
    for form in forms.list_forms(session):
        published = [v for v in form.versions if v.state == forms.PUBLISHED]
        if published:
            v = published[-1]
            out.append((str(form.id), v.title_sv if language == "sv" else v.title_en))
    return out


def _labels(request: Request, principal: Principal) -> str:
    """Texts the page scripts show, in the page's language."""
    with using_language(language_for(request, principal)):
        return json.dumps(
            {
                "saved": gettext("Draft saved"),
                "saving": gettext("Saving…"),
                "failed": gettext("Not saved:"),
                "submitted": gettext("Submitted"),
                "yes": gettext("Yes"),
                "no": gettext("No"),
                "na": gettext("Not applicable"),
                "section": gettext("Section"),
                "question": gettext("Question"),
                "remove": gettext("Remove"),
                "add_question": gettext("Add a question"),
                "title_sv": gettext("Title in Swedish"),
                "title_en": gettext("Title in English"),
                "text_sv": gettext("Question in Swedish"),
                "text_en": gettext("Question in English"),
                "help_sv": gettext("Help text in Swedish"),
                "help_en": gettext("Help text in English"),
                "kind": gettext("Kind"),
                "yes_no": gettext("Yes/no"),
                "scale": gettext("Scale 1–5"),
                "choice": gettext("Choice"),
                "weight": gettext("Weight"),
                "critical": gettext("Critical"),
                "allow_na": gettext("N/A allowed"),
                "options": gettext("Options: one per line, Swedish | English | points 0–1"),
                "version": gettext("Saved as version"),
            }
        )


# --- home --------------------------------------------------------------------------------------


@router.get("/qa", response_class=HTMLResponse)
def qa_home(
    request: Request, principal: QaOrAgent, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """QA managers: forms, evaluations, disputes to answer, samples, calibrations. Agents: their
    own submitted evaluations."""
    if principal.role == Role.AGENT:
        return render(
            request,
            "quality/agent.html",
            {"evaluations": feedback.my_evaluations(session, principal)},
            principal=principal,
        )
    language = language_for(request, principal)
    form_rows = []
    for form in forms.list_forms(session):
        latest = form.versions[-1]
        form_rows.append(
            {
                "id": form.id,
                "title": latest.title_sv if language == "sv" else latest.title_en,
                "version": latest.version,
                "state": latest.state,
            }
        )
    return render(
        request,
        "quality/home.html",
        {
            "forms": form_rows,
            "evaluations": service.evaluations_of_evaluator(
                session, principal, runtime.clock.now()
            )[:50],
            "disputes": feedback.open_disputes(session, principal),
            "published": _published_forms(session, language),
        },
        principal=principal,
    )


# --- forms -------------------------------------------------------------------------------------


@router.get("/qa/forms/new", response_class=HTMLResponse)
def new_form(request: Request, principal: QaManager) -> Response:
    return render(
        request,
        "quality/form_editor.html",
        {"form_id": None, "form_json": "null", "labels": _labels(request, principal)},
        principal=principal,
    )


@router.get("/qa/forms/{form_id}", response_class=HTMLResponse)
def edit_form(
    form_id: str, request: Request, principal: QaManager, session: SessionDep
) -> Response:
    form = forms.get_form(session, _id(form_id, "form"))
    return render(
        request,
        "quality/form_editor.html",
        {
            "form_id": str(form.id),
            "form_json": json.dumps(forms.version_out(form.versions[-1])),
            "labels": _labels(request, principal),
        },
        principal=principal,
    )


# --- evaluating --------------------------------------------------------------------------------


@router.get("/qa/start", response_class=HTMLResponse)
def start_page(request: Request, principal: QaManager, session: SessionDep) -> Response:
    """State the reason and pick the form before opening a call to evaluate it."""
    query = request.query_params
    return render(
        request,
        "quality/start.html",
        {
            "published": _published_forms(session, language_for(request, principal)),
            "values": {
                "recording_id": (query.get("recording") or "")[:64],
                "form_id": (query.get("form") or "")[:64],
                "calibration_id": (query.get("calibration") or "")[:64],
                "reason": "",
            },
            "problems": [],
        },
        principal=principal,
    )


@router.post("/qa/evaluations", response_class=HTMLResponse)
def start_evaluation(
    request: Request,
    principal: QaManager,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    values = {
        "recording_id": text(form, "recording_id").strip()[:64],
        "form_id": text(form, "form_id").strip()[:64],
        "calibration_id": text(form, "calibration_id").strip()[:64],
        "reason": " ".join(text(form, "reason").split())[:500],
    }
    try:
        if values["calibration_id"]:
            evaluation = calibration.start_evaluation(
                session,
                runtime,
                principal,
                _id(values["calibration_id"], "calibration"),
                reason=values["reason"],
                source=client_address(request),
            )
        else:
            evaluation = service.create_evaluation(
                session,
                runtime,
                principal,
                recording_id=values["recording_id"],
                form_id=_id(values["form_id"], "form"),
                reason=values["reason"],
                source=client_address(request),
            )
    except CallvaultError as exc:
        session.rollback()
        return render(
            request,
            "quality/start.html",
            {
                "published": _published_forms(session, language_for(request, principal)),
                "values": values,
                "problems": [exc.message],
            },
            principal=principal,
            status_code=exc.status_code if exc.status_code != 404 else 404,
        )
    return RedirectResponse(f"/qa/evaluations/{evaluation.id}", status_code=303)


def _variant(
    session: Session, runtime: Runtime, principal: Principal, evaluation: QaEvaluation
) -> str | None:
    grants = coverage.qa_grants(session, principal, runtime.clock.now())
    visible = access.with_access_modes(session, [evaluation.recording_id], grants)
    variants = {m.variant for v in visible for m in v.modes}
    return "original" if "original" in variants else next(iter(variants), None)


@router.get("/qa/evaluations/{evaluation_id}", response_class=HTMLResponse)
def evaluation_page(
    evaluation_id: str,
    request: Request,
    principal: QaOrAgent,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """The evaluator's form beside the player (autosaved), or the agent's read-only view with
    acknowledge and dispute (no audio, §6)."""
    evaluation = service.visible_evaluation(
        session,
        runtime,
        principal,
        _id(evaluation_id, "evaluation"),
        source=client_address(request),
    )
    is_evaluator = evaluation.evaluator_id == principal.id
    body = service.evaluation_out(session, evaluation, for_agent=not is_evaluator)
    answers = {a["question_id"]: str(a["value"]) for a in body["answers"]}
    return render(
        request,
        "quality/evaluation.html",
        {
            "e": body,
            "answers": answers,
            "is_evaluator": is_evaluator,
            "has_audio": is_evaluator and _variant(session, runtime, principal, evaluation),
            "evaluation_json": json.dumps(body),
            "labels": _labels(request, principal),
        },
        principal=principal,
    )


@router.get("/qa/evaluations/{evaluation_id}/audio")
def evaluation_audio(
    evaluation_id: str,
    request: Request,
    principal: QaManager,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """The call's audio for its evaluator, under their live QA grant; each fetch is audited as
    playback with the evaluation as its reason (the evaluator's own reason was audited when the
    evaluation was opened)."""
    from callvault.access.api import get_audio

    evaluation = service.own_evaluation(
        session,
        runtime,
        principal,
        _id(evaluation_id, "evaluation"),
        action="recording.play",
        source=client_address(request),
    )
    variant = _variant(session, runtime, principal, evaluation)
    if variant is None:
        raise NotFound(access.NOT_FOUND)
    return get_audio(
        str(evaluation.recording_id),
        principal,
        request,
        session,
        runtime,
        variant=variant,  # type: ignore[arg-type]
        purpose="quality_assurance",
        reason=f"quality evaluation {evaluation.id}",
        download=False,
        x_access_reason=None,
        range_=request.headers.get("range"),
    )


# --- sampling ----------------------------------------------------------------------------------


@router.get("/qa/samples", response_class=HTMLResponse)
def samples_page(
    request: Request, principal: QaManager, session: SessionDep, runtime: RuntimeDep
) -> Response:
    now = runtime.clock.now()
    return render(
        request,
        "quality/samples.html",
        {
            "samples": [
                sampling.sample_out(session, runtime, principal, s)
                for s in sampling.own_samples(session, principal)
            ],
            "published": _published_forms(session, language_for(request, principal)),
            "values": {
                "from": (now - timedelta(days=7)).date().isoformat(),
                "until": now.date().isoformat(),
                "per_agent": "3",
                "form_id": "",
            },
            "problems": [],
        },
        principal=principal,
    )


@router.post("/qa/samples", response_class=HTMLResponse)
def create_sample(
    request: Request,
    principal: QaManager,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    values = {k: text(form, k).strip()[:64] for k in ("from", "until", "per_agent", "form_id")}
    first, last = parse_day(values["from"]), parse_day(values["until"])
    try:
        if first is None or last is None:
            raise NotFound("give the first and last day")
        sample = sampling.create_sample(
            session,
            runtime,
            principal,
            form_id=_id(values["form_id"], "form"),
            start=day_start(first),
            until=day_start(last + timedelta(days=1)),
            per_agent=int(values["per_agent"]) if values["per_agent"].isdigit() else 0,
            source=client_address(request),
        )
    except CallvaultError as exc:
        session.rollback()
        return render(
            request,
            "quality/samples.html",
            {
                "samples": [],
                "published": _published_forms(session, language_for(request, principal)),
                "values": values,
                "problems": [exc.message],
            },
            principal=principal,
            status_code=422,
        )
    return RedirectResponse(f"/qa/samples/{sample.id}", status_code=303)


@router.get("/qa/samples/{sample_id}", response_class=HTMLResponse)
def sample_page(
    sample_id: str,
    request: Request,
    principal: QaManager,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    sample = sampling.own_sample(session, principal, _id(sample_id, "sample"))
    out = sampling.sample_out(session, runtime, principal, sample)
    for item in out["items"]:
        item["start_url"] = "/qa/start?" + urlencode(
            {"recording": item["recording_id"], "form": out["form_id"]}
        )
    return render(request, "quality/sample.html", {"s": out}, principal=principal)


# --- calibration -------------------------------------------------------------------------------


def _qa_managers(session: Session) -> list[Account]:
    return list(
        session.scalars(
            sa.select(Account)
            .where(Account.role == Role.QA_MANAGER, Account.disabled_at.is_(None))
            .order_by(Account.email)
        )
    )


@router.get("/qa/calibrations", response_class=HTMLResponse)
def calibrations_page(request: Request, principal: QaManager, session: SessionDep) -> Response:
    return render(
        request,
        "quality/calibrations.html",
        {
            "items": [
                calibration.result(session, principal, c.id)
                for c in calibration.calibrations_of(session, principal)
            ],
            "published": _published_forms(session, language_for(request, principal)),
            "managers": _qa_managers(session),
            "values": {"recording_id": "", "form_id": "", "reason": "", "evaluators": []},
            "problems": [],
        },
        principal=principal,
    )


@router.post("/qa/calibrations", response_class=HTMLResponse)
def create_calibration(
    request: Request,
    principal: QaManager,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    values: dict[str, Any] = {
        "recording_id": text(form, "recording_id").strip()[:64],
        "form_id": text(form, "form_id").strip()[:64],
        "reason": " ".join(text(form, "reason").split())[:500],
        "evaluators": texts(form, "evaluators")[:50],
    }
    try:
        created = calibration.create_calibration(
            session,
            runtime,
            principal,
            recording_id=values["recording_id"],
            form_id=_id(values["form_id"], "form"),
            evaluator_ids=[_id(v, "account") for v in values["evaluators"]],
            reason=values["reason"],
            source=client_address(request),
        )
    except CallvaultError as exc:
        session.rollback()
        return render(
            request,
            "quality/calibrations.html",
            {
                "items": [],
                "published": _published_forms(session, language_for(request, principal)),
                "managers": _qa_managers(session),
                "values": values,
                "problems": [exc.message],
            },
            principal=principal,
            status_code=422,
        )
    return RedirectResponse(f"/qa/calibrations/{created.id}", status_code=303)


@router.get("/qa/calibrations/{calibration_id}", response_class=HTMLResponse)
def calibration_page(
    calibration_id: str, request: Request, principal: QaManager, session: SessionDep
) -> Response:
    result = calibration.result(session, principal, _id(calibration_id, "calibration"))
    return render(
        request,
        "quality/calibration.html",
        {"c": result, "labels": _labels(request, principal)},
        principal=principal,
    )


# --- reports -----------------------------------------------------------------------------------


def _chart(kind: str, labels: list[str], sets: list[tuple[str, list[Any]]]) -> str:
    return json.dumps(
        {
            "type": kind,
            "data": {
                "labels": labels,
                "datasets": [{"label": name, "data": data} for name, data in sets],
            },
        }
    )


@router.get("/qa/reports", response_class=HTMLResponse)
def reports_page(
    request: Request, principal: QaOrAgent, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Charts with a table beside each; CSV from the API. Only what the grants reach."""
    query = request.query_params
    now = runtime.clock.now()
    team = (query.get("team") or "").strip()[:128] or None
    problems: list[str] = []
    try:
        start, end = reports.period(
            parse_day(query.get("from", "")), parse_day(query.get("to", "")), now
        )
    except CallvaultError as exc:
        problems.append(exc.message)
        start, end = reports.period(None, None, now)
    language = language_for(request, principal)
    report = reports.team_report(
        session,
        reports.windows_for(session, principal, now),
        team=team,
        start=start,
        end=end,
        language=language,
    )
    with using_language(language):
        average, fail_rate = gettext("Average score"), gettext("Fail rate, per cent")
        charts = {
            "week": _chart(
                "line",
                report["weeks"],
                [
                    (average, [w["average"] for w in report["by_week"]]),
                    (fail_rate, [w["fail_rate"] for w in report["by_week"]]),
                ],
            ),
            "agent": _chart(
                "bar",
                [a["agent_id"] for a in report["by_agent"]],
                [(average, [a["average"] for a in report["by_agent"]])],
            ),
            "form": _chart(
                "bar",
                [f["title"] for f in report["by_form"]],
                [(average, [f["average"] for f in report["by_form"]])],
            ),
            "question": _chart(
                "bar",
                [q["text"][:40] for q in report["by_question"]],
                [(average, [q["average"] for q in report["by_question"]])],
            ),
        }
    csv_query = {"format": "csv", "from": report["from"], "to": report["to"]}
    if team:
        csv_query["team"] = team
    return render(
        request,
        "quality/reports.html",
        {
            "r": report,
            "charts": charts,
            "problems": problems,
            "values": {"team": team or "", "from": report["from"], "to": report["to"]},
            "csv_url": "/api/v1/qa/reports?" + urlencode(csv_query),
        },
        principal=principal,
    )
