"""HTTP routes for access requests: managers ask, the DPO approves (maybe narrowed) or rejects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from callvault.access import requests as service
from callvault.access.grants import GrantScope
from callvault.access.models import AccessRequest, ScopeKind
from callvault.accounts.auth import Principal, client_address, require_roles
from callvault.accounts.roles import Role
from callvault.deps import RuntimeDep, SessionDep

# Included by callvault.access.api under its /api/v1 prefix.
router = APIRouter(prefix="/access-requests", tags=["access requests"])

Grantee = Annotated[Principal, Depends(require_roles(Role.TRAINING_MANAGER, Role.QA_MANAGER))]
Dpo = Annotated[Principal, Depends(require_roles(Role.DPO))]
Reader = Annotated[
    Principal, Depends(require_roles(Role.DPO, Role.TRAINING_MANAGER, Role.QA_MANAGER))
]
VariantParam = Literal["pseudonymised", "original"]


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class ScopeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ScopeKind = ScopeKind.ALL
    date_from: datetime | None = None
    date_until: datetime | None = None
    agent_id: str | None = Field(default=None, max_length=128)
    team: str | None = Field(default=None, max_length=128)
    recording_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)

    def to_scope(self) -> GrantScope:
        return GrantScope(
            kind=self.kind,
            date_from=_aware(self.date_from) if self.date_from else None,
            date_until=_aware(self.date_until) if self.date_until else None,
            agent_id=self.agent_id,
            team=self.team,
            recording_ids=tuple(self.recording_ids),
        )


class TermsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(max_length=40)
    variant: VariantParam
    scope: ScopeIn = Field(default_factory=ScopeIn)
    valid_from: datetime
    valid_until: datetime

    def to_terms(self) -> service.Terms:
        return service.Terms(
            purpose=self.purpose,
            variant=self.variant,
            scope=self.scope.to_scope(),
            valid_from=_aware(self.valid_from),
            valid_until=_aware(self.valid_until),
        )


class RequestIn(TermsIn):
    justification: str = Field(max_length=service.MAX_JUSTIFICATION * 2)


class ApproveIn(BaseModel):
    # Closed: a body of only optional fields would otherwise take any extra keys, NULs and all.
    model_config = ConfigDict(extra="forbid")

    # Left out: granted as asked. Given: the narrowed terms (never wider than asked).
    terms: TermsIn | None = None
    allows_download: bool = False
    note: str | None = Field(default=None, max_length=500)


class RejectIn(BaseModel):
    # Closed: a body of only optional fields would otherwise take any extra keys, NULs and all.
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=500)


class RequestOut(BaseModel):
    id: uuid.UUID
    requester_id: uuid.UUID
    purpose: str
    variant: str
    scope: ScopeIn
    valid_from: datetime
    valid_until: datetime
    justification: str
    state: str
    created_at: datetime
    decided_at: datetime | None
    decision_note: str | None
    grant_id: uuid.UUID | None

    @classmethod
    def of(cls, request: AccessRequest) -> RequestOut:
        terms = service.request_terms(request)
        return cls(
            id=request.id,
            requester_id=request.requester_id,
            purpose=terms.purpose,
            variant=terms.variant,
            scope=ScopeIn(
                kind=terms.scope.kind,
                date_from=terms.scope.date_from,
                date_until=terms.scope.date_until,
                agent_id=terms.scope.agent_id,
                team=terms.scope.team,
                recording_ids=list(terms.scope.recording_ids),
            ),
            valid_from=terms.valid_from,
            valid_until=terms.valid_until,
            justification=request.justification,
            state=request.state,
            created_at=request.created_at,
            decided_at=request.decided_at,
            decision_note=request.decision_note,
            grant_id=request.grant_id,
        )


@router.post("", response_model=RequestOut, status_code=201)
def submit_access_request(
    body: RequestIn, principal: Grantee, request: Request, session: SessionDep, runtime: RuntimeDep
) -> RequestOut:
    """Ask the DPO for access: purpose, variant, scope, period and why (10+ characters)."""
    created = service.submit_request(
        session,
        runtime,
        principal,
        body.to_terms(),
        justification=body.justification,
        source=client_address(request),
    )
    return RequestOut.of(created)


@router.get("", response_model=list[RequestOut])
def list_access_requests(
    principal: Reader,
    session: SessionDep,
    state: Literal["pending", "approved", "rejected"] | None = None,
) -> list[RequestOut]:
    """The DPO sees every request, a manager their own; pending first."""
    return [RequestOut.of(r) for r in service.list_requests(session, principal, state=state)]


@router.get("/{request_id}", response_model=RequestOut)
def get_access_request(request_id: uuid.UUID, principal: Reader, session: SessionDep) -> RequestOut:
    return RequestOut.of(service.get_request(session, principal, request_id))


@router.post("/{request_id}/approve", response_model=RequestOut)
def approve_access_request(
    request_id: uuid.UUID,
    body: ApproveIn,
    principal: Dpo,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> RequestOut:
    """Approve as asked or narrowed; the grant is created at once (`grant_id`)."""
    approved, _grant = service.approve_request(
        session,
        runtime,
        principal,
        request_id,
        narrowed=body.terms.to_terms() if body.terms else None,
        allows_download=body.allows_download,
        note=body.note,
        source=client_address(request),
    )
    return RequestOut.of(approved)


@router.post("/{request_id}/reject", response_model=RequestOut)
def reject_access_request(
    request_id: uuid.UUID,
    body: RejectIn,
    principal: Dpo,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> RequestOut:
    rejected = service.reject_request(
        session, runtime, principal, request_id, note=body.note, source=client_address(request)
    )
    return RequestOut.of(rejected)
