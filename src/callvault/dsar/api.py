"""`/api/v1/dsars`: the DPO opens, lists, builds, downloads, delivers and closes access requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, model_validator

from callvault.accounts.auth import Principal, client_address, require_roles
from callvault.accounts.roles import Role
from callvault.deps import RuntimeDep, SessionDep
from callvault.dsar import service
from callvault.dsar.models import DataSubjectRequest
from callvault.errors import Conflict
from callvault.inputs import Instant

router = APIRouter(prefix="/api/v1/dsars", tags=["dsar"])

DpoPrincipal = Annotated[Principal, Depends(require_roles(Role.DPO))]


class OpenRequest(BaseModel):
    """A caller by `number` (any usual form) or an employee by `account_id`."""

    subject: Literal["caller", "employee"]
    number: str | None = Field(default=None, max_length=40)
    account_id: uuid.UUID | None = None
    language: Literal["sv", "en"] = "sv"
    received_at: Instant | None = None
    note: str | None = Field(default=None, max_length=200, description="the DPO's case note")

    @model_validator(mode="after")
    def _subject_matches(self) -> OpenRequest:
        if self.subject == "caller" and (self.number is None or self.account_id is not None):
            raise ValueError("a caller is given by number only")
        if self.subject == "employee" and (self.account_id is None or self.number is not None):
            raise ValueError("an employee is given by account_id only")
        return self


class DsarView(BaseModel):
    id: uuid.UUID
    reference: str
    subject_kind: str
    language: str
    status: str
    received_at: datetime
    deadline_at: datetime
    due_soon: bool
    built_at: datetime | None
    bundle_size: int | None
    bundle_sha256: str | None
    delivered_at: datetime | None
    closed_at: datetime | None
    bundle_deleted_at: datetime | None
    bundle_shred_due_at: datetime | None
    number_tail: str | None  # the last digits of a caller's number


def _view(request: DataSubjectRequest, now: datetime) -> DsarView:
    return DsarView(
        id=request.id,
        reference=request.reference,
        subject_kind=request.subject_kind,
        language=request.language,
        status=request.status,
        received_at=request.received_at,
        deadline_at=request.deadline_at,
        due_soon=service.is_due_soon(request, now),
        built_at=request.built_at,
        bundle_size=request.bundle_size,
        bundle_sha256=request.bundle_sha256,
        delivered_at=request.delivered_at,
        closed_at=request.closed_at,
        bundle_deleted_at=request.bundle_deleted_at,
        bundle_shred_due_at=service.bundle_shred_due(request),
        number_tail=request.subject_number_tail,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DsarView)
async def open_dsar(
    body: OpenRequest,
    request: Request,
    principal: DpoPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> DsarView:
    opened = await run_in_threadpool(
        service.open_request,
        session,
        runtime,
        number=body.number,
        account_id=body.account_id,
        language=body.language,
        actor=principal.actor,
        source=client_address(request),
        received_at=body.received_at,
        note=body.note,
    )
    return _view(opened, runtime.clock.now())


@router.get("", response_model=list[DsarView])
def list_dsars(
    principal: DpoPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
    due_soon: bool = False,
) -> list[DsarView]:
    now = runtime.clock.now()
    found = (
        service.due_soon(session, now)
        if due_soon
        else service.list_requests(session, status=status_filter)
    )
    return [_view(r, now) for r in found]


@router.get("/{dsar_id}", response_model=DsarView)
def show_dsar(
    dsar_id: uuid.UUID, principal: DpoPrincipal, runtime: RuntimeDep, session: SessionDep
) -> DsarView:
    return _view(service.get_request(session, dsar_id), runtime.clock.now())


@router.post("/{dsar_id}/build", status_code=status.HTTP_202_ACCEPTED, response_model=DsarView)
def build_dsar(
    dsar_id: uuid.UUID,
    principal: DpoPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> DsarView:
    """Queue the bundle build (decrypting audio takes a while); poll the request for built_at."""
    from callvault.dsar.tasks import build_dsar_bundle
    from callvault.worker.queue import enqueue_after_commit

    found = service.get_request(session, dsar_id)
    if found.status not in service.ACTIVE:
        raise Conflict("the request is already delivered or closed")
    actor = principal.actor
    enqueue_after_commit(session, lambda: build_dsar_bundle(str(dsar_id), actor))
    return _view(found, runtime.clock.now())


@router.get("/{dsar_id}/bundle")
def download_bundle(
    dsar_id: uuid.UUID,
    request: Request,
    principal: DpoPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> StreamingResponse:
    found = service.get_request(session, dsar_id)
    reader = service.open_bundle(
        session, runtime, dsar_id, actor=principal.actor, source=client_address(request)
    )
    # The audit entry must be committed before the bytes leave, so commit now.
    session.commit()
    return StreamingResponse(
        reader.iter(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="dsar-{found.reference}.zip"',
            "Content-Length": str(reader.size),
            "Cache-Control": "no-store",
        },
    )


@router.post("/{dsar_id}/deliver", response_model=DsarView)
def deliver_dsar(
    dsar_id: uuid.UUID,
    request: Request,
    principal: DpoPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> DsarView:
    delivered = service.deliver(
        session, runtime, dsar_id, actor=principal.actor, source=client_address(request)
    )
    return _view(delivered, runtime.clock.now())


@router.post("/{dsar_id}/close", response_model=DsarView)
def close_dsar(
    dsar_id: uuid.UUID,
    request: Request,
    principal: DpoPrincipal,
    runtime: RuntimeDep,
    session: SessionDep,
) -> DsarView:
    closed = service.close(
        session, runtime, dsar_id, actor=principal.actor, source=client_address(request)
    )
    return _view(closed, runtime.clock.now())
