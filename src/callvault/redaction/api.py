"""`POST /api/v1/recordings/{id}/marks` (sensitive intervals) and the pseudonymisation status."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal, client_address, require_roles
from callvault.accounts.roles import Role
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import NotFound, PermissionDenied
from callvault.recordings.models import Recording, RecordingState
from callvault.redaction.marks import check_mark_rate, handled_by, within_window
from callvault.redaction.service import JobView, add_mark, job_status, queue_job
from callvault.runtime import Runtime

router = APIRouter(prefix="/api/v1/recordings", tags=["redaction"])

TELEPHONY = "service:telephony"
may_mark = require_roles(Role.AGENT, Role.QA_MANAGER, Role.DPO, TELEPHONY)
may_see_status = require_roles(Role.DPO, Role.IT_ADMIN, Role.QA_MANAGER, Role.TRAINING_MANAGER)
# They run the system: status (never content) of any recording. Managers only see the status of
# a recording one of their active grants covers, so the route cannot reveal which ids exist.
OPERATORS = frozenset({Role.DPO.value, Role.IT_ADMIN.value})
# Agents press "sensitive" during their own calls, as the telephony service does, by call id
# before the recording exists: such a mark is kept, and applied only if the call turns out to be
# theirs (`redaction.marks`). A stored recording they did not handle is "not found" to them.
BLIND_MARKERS = frozenset({TELEPHONY, Role.AGENT.value})
# A recording id, or a call id as ingest accepts it (a NUL would not even reach the database).
CALL_REF = re.compile(r"^[\w.:@/+-]{1,128}$")
MarkPrincipal = Annotated[Principal, Depends(may_mark)]
StatusPrincipal = Annotated[Principal, Depends(may_see_status)]


class MarkRequest(BaseModel):
    """An interval in seconds from the start of the recording; no channel means both."""

    start: float = Field(ge=0, strict=True)  # strict: `false` is not a time
    end: float = Field(gt=0, strict=True)
    channel: Literal["agent", "customer"] | None = None


class MarkAnswer(BaseModel):
    id: str
    reprocessing: bool


class StatusAnswer(BaseModel):
    recording_id: str
    status: str
    error_code: str | None
    attempts: int
    spans: int | None
    masked_s: float | None


@router.post("/{ref}/marks", status_code=status.HTTP_201_CREATED, response_model=MarkAnswer)
async def mark_sensitive(
    ref: str,
    body: MarkRequest,
    request: Request,
    principal: MarkPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> MarkAnswer:
    """Mark an interval as sensitive. The telephony service may mark by call id during a call,
    before the recording exists; people mark a stored recording by its id."""
    mark_id, recording_id = await run_in_threadpool(
        _mark, session, runtime, principal, ref, body, client_address(request)
    )
    if recording_id is not None:
        from callvault.redaction.tasks import pseudonymise
        from callvault.worker.queue import enqueue_after_commit

        enqueue_after_commit(session, lambda: pseudonymise(str(recording_id)))
    reprocessing = recording_id is not None and principal.role != Role.AGENT
    return MarkAnswer(id=str(mark_id), reprocessing=reprocessing)


def _mark(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    ref: str,
    body: MarkRequest,
    source: str,
) -> tuple[uuid.UUID, uuid.UUID | None]:
    from callvault.audit.service import record

    check_mark_rate(session, principal.actor, runtime.clock.now())
    if principal.role == Role.QA_MANAGER:
        from callvault.access.service import authorize

        # A manager marks only what a grant lets them see; unknown and not granted look alike.
        try:
            recording_id = uuid.UUID(ref)
        except ValueError:
            raise NotFound("no such recording") from None
        authorize(
            session,
            runtime,
            principal,
            recording_id,
            variant=None,
            purpose=None,
            reason=None,
            action="recording.view",
            source=source,
        )
    if not CALL_REF.match(ref):
        raise NotFound("no such recording")  # no recording id or call id looks like that
    recording = _recording(session, ref)
    if recording is None and principal.role not in BLIND_MARKERS:
        raise NotFound("no such recording")
    if principal.role == Role.AGENT:
        _agent_may_mark(session, runtime, principal, ref, recording, source)
    call_id = recording.call_id if recording is not None else ref
    mark = add_mark(
        session,
        runtime,
        call_id=call_id,
        start_s=body.start,
        end_s=body.end,
        channel=body.channel,
        created_by=principal.actor,
    )
    record(
        session,
        actor=principal.actor,
        action="recording.mark",
        object_type="recording",
        object_id=str(recording.id) if recording is not None else None,
        source=source,
        details={"mark_id": str(mark.id)},
    )
    # A recording already pseudonymised (or waiting) is redone so the mark takes effect.
    if recording is not None and recording.state in (RecordingState.READY, RecordingState.INGESTED):
        queue_job(session, runtime, recording.id)
        return mark.id, recording.id
    return mark.id, None


def _agent_may_mark(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    ref: str,
    recording: Recording | None,
    source: str,
) -> None:
    """An agent marks only calls they handled, until 24 hours after the call; refusals are
    audited. A reference that is no stored recording is a call in progress (by call id); a
    recording id that names nothing is simply not found."""
    from callvault.access.service import refuse_access

    def refuse(why: str, error: Exception) -> Exception:
        refuse_access(
            runtime,
            principal,
            object_id=str(recording.id) if recording is not None else None,
            action="recording.mark",
            why=why,
            source=source,
        )
        return error

    if recording is None:
        if _is_uuid(ref):
            raise refuse("unknown", NotFound("no such recording"))
        return
    if not handled_by(session, recording.agent_id, principal.actor):
        raise refuse("not_own_call", NotFound("no such recording"))
    if not within_window(recording, runtime.clock.now()):
        raise refuse(
            "mark_window",
            PermissionDenied("agents mark their calls until 24 hours after the call"),
        )


def _is_uuid(ref: str) -> bool:
    try:
        uuid.UUID(ref)
    except ValueError:
        return False
    return True


def _status(
    session: Session,
    runtime: Runtime,
    principal: Principal,
    recording_id: uuid.UUID,
    source: str,
) -> JobView | None:
    if principal.role not in OPERATORS:
        from callvault.access.service import authorize

        # Unknown and not-granted ids both end in the same NotFound (and an audited refusal).
        authorize(
            session,
            runtime,
            principal,
            recording_id,
            variant=None,
            purpose=None,
            reason=None,
            action="recording.view",
            source=source,
        )
    return job_status(session, recording_id)


def _recording(session: Session, ref: str) -> Recording | None:
    try:
        return session.get(Recording, uuid.UUID(ref))
    except ValueError:
        return session.scalar(sa.select(Recording).where(Recording.call_id == ref))


@router.get("/{recording_id}/pseudonymisation", response_model=StatusAnswer)
async def pseudonymisation_status(
    recording_id: uuid.UUID,
    request: Request,
    principal: StatusPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> StatusAnswer:
    """How the recording's pseudonymisation went: status and error code, nothing personal."""
    view = await run_in_threadpool(
        _status, session, runtime, principal, recording_id, client_address(request)
    )
    if view is None:
        raise NotFound("no pseudonymisation job for that recording")
    return StatusAnswer(
        recording_id=str(view.recording_id),
        status=view.status,
        error_code=view.error_code,
        attempts=view.attempts,
        spans=view.spans,
        masked_s=view.masked_s,
    )
