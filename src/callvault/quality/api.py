"""/api/v1/qa: forms, evaluations, agent feedback, sampling, calibration and reports.

Thin: parse, demand a role, call the part's services, shape the answer. Recordings are reached
only through live QA grants (`quality.coverage`), with the same 404 as everywhere.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from callvault.accounts.auth import Principal, client_address, require_roles
from callvault.accounts.roles import Role
from callvault.db import again_on_a_stale_snapshot
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import NotFound
from callvault.inputs import Day
from callvault.quality import calibration, feedback, forms, reports, sampling, service

router = APIRouter(prefix="/api/v1/qa", tags=["quality"])

QaManager = Annotated[Principal, Depends(require_roles(Role.QA_MANAGER))]
Agent = Annotated[Principal, Depends(require_roles(Role.AGENT))]
QaOrAgent = Annotated[Principal, Depends(require_roles(Role.QA_MANAGER, Role.AGENT))]
NO_STORE = {"Cache-Control": "no-store"}


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _uuid(value: str, what: str = "form") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no such {what}") from None


# --- forms ---------------------------------------------------------------------------------------


@router.post("/forms", status_code=201)
def create_form(
    spec: forms.FormSpec,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    """A new form (a draft version 1): `{id, version}`. Publish it before evaluating with it."""
    version = forms.create_form(session, runtime, principal, spec, source=client_address(request))
    return _json(
        {"id": str(version.form_id), "version": version.version, "state": version.state}, 201
    )


@router.get("/forms")
def list_forms(principal: QaManager, session: SessionDep) -> JSONResponse:
    items = []
    for form in forms.list_forms(session):
        latest = form.versions[-1]
        published = [v.version for v in form.versions if v.state == forms.PUBLISHED]
        items.append(
            {
                "id": str(form.id),
                "title": {"sv": latest.title_sv, "en": latest.title_en},
                "version": latest.version,
                "state": latest.state,
                "published_version": published[-1] if published else None,
            }
        )
    return _json({"items": items})


@router.get("/forms/{form_id}")
def get_form(form_id: str, principal: QaManager, session: SessionDep) -> JSONResponse:
    """The form's newest version (draft or published), with question and option ids."""
    form = forms.get_form(session, _uuid(form_id))
    return _json(forms.version_out(form.versions[-1]))


@router.put("/forms/{form_id}")
def edit_form(
    form_id: str,
    spec: forms.FormSpec,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    """Replace the draft, or start the next version when the form is published."""
    version = forms.edit_form(
        session, runtime, principal, _uuid(form_id), spec, source=client_address(request)
    )
    return _json({"id": str(version.form_id), "version": version.version, "state": version.state})


@router.post("/forms/{form_id}/publish")
def publish_form(
    form_id: str,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    version = forms.publish_form(
        session, runtime, principal, _uuid(form_id), source=client_address(request)
    )
    return _json({"id": str(version.form_id), "version": version.version, "state": version.state})


# --- evaluations -------------------------------------------------------------------------------


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recording_id: Annotated[str, Field(max_length=64)]
    form_id: uuid.UUID
    reason: Annotated[str, Field(max_length=2000)] = ""


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question_id: Annotated[str, Field(max_length=64)]
    value: str | int


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: float | None = None
    text: Annotated[str, Field(max_length=4000)]


class DraftBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: list[AnswerBody] = Field(default_factory=list)
    comments: list[CommentBody] = Field(default_factory=list)


class DisputeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Annotated[str, Field(max_length=4000)]


class AnswerDisputeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: Annotated[str, Field(max_length=4000)]


@router.post("/evaluations", status_code=201)
def create_evaluation(
    body: EvaluationIn,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    """A draft evaluation of a call your QA grant covers, with a stated reason (as playback)."""
    evaluation = service.create_evaluation(
        session,
        runtime,
        principal,
        recording_id=body.recording_id,
        form_id=body.form_id,
        reason=body.reason,
        source=client_address(request),
    )
    return _json(service.evaluation_out(session, evaluation), 201)


@router.get("/evaluations")
def list_evaluations(
    principal: QaOrAgent, session: SessionDep, runtime: RuntimeDep, mine: bool = False
) -> JSONResponse:
    """An agent's own submitted evaluations (`mine=true`), or the evaluations a QA manager wrote."""
    if principal.role == Role.AGENT:
        items = [
            service.evaluation_out(session, e, for_agent=True)
            for e in feedback.my_evaluations(session, principal)
        ]
    else:
        items = [
            service.evaluation_out(session, e)
            for e in service.evaluations_of_evaluator(session, principal, runtime.clock.now())
        ]
    return _json({"items": items})


@router.get("/evaluations/{evaluation_id}")
def get_evaluation(
    evaluation_id: str,
    principal: QaOrAgent,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    evaluation = service.visible_evaluation(
        session,
        runtime,
        principal,
        _uuid(evaluation_id, "evaluation"),
        source=client_address(request),
    )
    return _json(
        service.evaluation_out(
            session, evaluation, for_agent=evaluation.evaluator_id != principal.id
        )
    )


@router.put("/evaluations/{evaluation_id}")
def save_evaluation(
    evaluation_id: str,
    body: DraftBody,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    """Save the draft: answers and comments replace what was saved before (idempotent, so on
    SQLite a save that raced another request's commit is simply done again)."""
    evaluation = again_on_a_stale_snapshot(
        session,
        lambda: service.save_draft(
            session,
            runtime,
            principal,
            _uuid(evaluation_id, "evaluation"),
            answers=[service.AnswerIn(a.question_id, a.value) for a in body.answers],
            comments=[service.CommentIn(c.at, c.text) for c in body.comments],
            source=client_address(request),
        ),
    )
    return _json(
        {
            "id": str(evaluation.id),
            "state": evaluation.state,
            "saved_at": evaluation.updated_at.isoformat(),
        }
    )


@router.post("/evaluations/{evaluation_id}/submit")
def submit_evaluation(
    evaluation_id: str,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    result = service.submit(
        session,
        runtime,
        principal,
        _uuid(evaluation_id, "evaluation"),
        source=client_address(request),
    )
    return _json({"score": result.score, "failed": result.failed})


@router.post("/evaluations/{evaluation_id}/acknowledge")
def acknowledge(
    evaluation_id: str,
    principal: Agent,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    evaluation = feedback.acknowledge(
        session,
        runtime,
        principal,
        _uuid(evaluation_id, "evaluation"),
        source=client_address(request),
    )
    return _json(service.evaluation_out(session, evaluation, for_agent=True))


@router.post("/evaluations/{evaluation_id}/dispute")
def dispute(
    evaluation_id: str,
    body: DisputeBody,
    principal: Agent,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    evaluation = feedback.dispute(
        session,
        runtime,
        principal,
        _uuid(evaluation_id, "evaluation"),
        comment=body.comment,
        source=client_address(request),
    )
    return _json(service.evaluation_out(session, evaluation, for_agent=True))


@router.post("/evaluations/{evaluation_id}/dispute/answer")
def answer_dispute(
    evaluation_id: str,
    body: AnswerDisputeBody,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    evaluation = feedback.answer_dispute(
        session,
        runtime,
        principal,
        _uuid(evaluation_id, "evaluation"),
        answer=body.answer,
        source=client_address(request),
    )
    return _json(service.evaluation_out(session, evaluation))


# --- reports -----------------------------------------------------------------------------------


@router.get(
    "/reports",
    responses={
        200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}}}
    },
)
def get_report(
    principal: QaOrAgent,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    team: Annotated[str | None, Query(max_length=128)] = None,
    from_: Annotated[Day | None, Query(alias="from")] = None,
    to: Day | None = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response:
    """Averages, counts and fail rates by week, team, agent, form and question, as far as your
    grants reach (an agent: their own). `format=csv` for the same as CSV."""
    now = runtime.clock.now()
    start, end = reports.period(from_, to, now)
    report = reports.team_report(
        session,
        reports.windows_for(session, principal, now),
        team=team,
        start=start,
        end=end,
        language=principal.language,
    )
    from callvault.audit.service import record

    record(
        session,
        actor=principal.actor,
        action="qa.report.view",
        object_type="qa_report",
        source=client_address(request),
        details={"weeks": len(report["weeks"]), "agents": len(report["by_agent"])},
    )
    if format == "csv":
        return Response(
            reports.report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={**NO_STORE, "Content-Disposition": 'attachment; filename="qa-report.csv"'},
        )
    return _json(report)


# --- sampling ----------------------------------------------------------------------------------


class SampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    form_id: uuid.UUID
    from_: datetime = Field(alias="from")
    until: datetime
    per_agent: Annotated[int, Field(ge=1, le=sampling.MAX_PER_AGENT)] = 3
    seed: Annotated[str | None, Field(max_length=sampling.MAX_SEED)] = None


@router.post("/samples", status_code=201)
def create_sample(
    body: SampleIn,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    """Draw N random covered calls per agent in the period into a work queue; the seed is
    returned and audited (give `seed` only to redo an earlier draw)."""
    sample = sampling.create_sample(
        session,
        runtime,
        principal,
        form_id=body.form_id,
        start=body.from_,
        until=body.until,
        per_agent=body.per_agent,
        seed=body.seed,
        source=client_address(request),
    )
    return _json(sampling.sample_out(session, runtime, principal, sample), 201)


@router.get("/samples")
def list_samples(principal: QaManager, session: SessionDep, runtime: RuntimeDep) -> JSONResponse:
    return _json(
        {
            "items": [
                sampling.sample_out(session, runtime, principal, s)
                for s in sampling.own_samples(session, principal)
            ]
        }
    )


@router.get("/samples/{sample_id}")
def get_sample(
    sample_id: str, principal: QaManager, session: SessionDep, runtime: RuntimeDep
) -> JSONResponse:
    sample = sampling.own_sample(session, principal, _uuid(sample_id, "sample"))
    return _json(sampling.sample_out(session, runtime, principal, sample))


# --- calibration -------------------------------------------------------------------------------


class CalibrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recording_id: Annotated[str, Field(max_length=64)]
    form_id: uuid.UUID
    evaluator_ids: Annotated[list[uuid.UUID], Field(max_length=50)]
    reason: Annotated[str, Field(max_length=2000)] = ""


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=2000)] = ""


class ReferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    evaluation_id: uuid.UUID


@router.post("/calibrations", status_code=201)
def create_calibration(
    body: CalibrationIn,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    """A calibration session: the same call, two or more evaluators scoring blind."""
    created = calibration.create_calibration(
        session,
        runtime,
        principal,
        recording_id=body.recording_id,
        form_id=body.form_id,
        evaluator_ids=body.evaluator_ids,
        reason=body.reason,
        source=client_address(request),
    )
    return _json(calibration.result(session, principal, created.id), 201)


@router.get("/calibrations")
def list_calibrations(principal: QaManager, session: SessionDep) -> JSONResponse:
    return _json(
        {
            "items": [
                calibration.result(session, principal, c.id)
                for c in calibration.calibrations_of(session, principal)
            ]
        }
    )


@router.get("/calibrations/{calibration_id}")
def get_calibration(calibration_id: str, principal: QaManager, session: SessionDep) -> JSONResponse:
    """Progress while blind; agreement per question, spread and reference once all submitted."""
    return _json(calibration.result(session, principal, _uuid(calibration_id, "calibration")))


@router.post("/calibrations/{calibration_id}/evaluations", status_code=201)
def start_calibration_evaluation(
    calibration_id: str,
    body: ReasonIn,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    """Your own blind evaluation in the session; save and submit it like any other."""
    evaluation = calibration.start_evaluation(
        session,
        runtime,
        principal,
        _uuid(calibration_id, "calibration"),
        reason=body.reason,
        source=client_address(request),
    )
    return _json(service.evaluation_out(session, evaluation), 201)


@router.post("/calibrations/{calibration_id}/reference")
def set_reference(
    calibration_id: str,
    body: ReferenceIn,
    principal: QaManager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    """Record the agreed reference evaluation (the session's opener); closes the session."""
    closed = calibration.set_reference(
        session,
        runtime,
        principal,
        _uuid(calibration_id, "calibration"),
        body.evaluation_id,
        source=client_address(request),
    )
    return _json(calibration.result(session, principal, closed.id))
