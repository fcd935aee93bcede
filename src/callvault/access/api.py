"""HTTP routes for recordings seen through grants, the grants themselves and refused attempts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from callvault.access import grants as grant_service
from callvault.access import service
from callvault.access.models import AccessGrant, ScopeKind
from callvault.access.plays import record_play
from callvault.access.ranges import RangeNotSatisfiable, parse_range
from callvault.access.reasons import normalise_reason
from callvault.access.request_api import router as _access_requests
from callvault.accounts.auth import Principal, client_address, require_roles
from callvault.accounts.roles import Role
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import InvalidInput
from callvault.inputs import Day, Instant

router = APIRouter(prefix="/api/v1", tags=["access"])
router.include_router(_access_requests)

Grantee = Annotated[Principal, Depends(require_roles(Role.TRAINING_MANAGER, Role.QA_MANAGER))]
Dpo = Annotated[Principal, Depends(require_roles(Role.DPO))]
GrantReader = Annotated[
    Principal, Depends(require_roles(Role.DPO, Role.TRAINING_MANAGER, Role.QA_MANAGER))
]
VariantParam = Literal["pseudonymised", "original"]
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
AUDIO_KINDS = {"original": "original", "pseudonymised": "pseudonymised_audio"}
TRANSCRIPT_KINDS = {"original": "transcript", "pseudonymised": "pseudonymised_transcript"}


# --- recordings --------------------------------------------------------------------------------


class AccessModeOut(BaseModel):
    grant_id: uuid.UUID
    purpose: str
    variant: str
    allows_download: bool
    valid_until: datetime


class RecordingOut(BaseModel):
    """A recording's metadata. Identifying fields appear only under an `original` grant."""

    id: uuid.UUID
    started_at: datetime
    ended_at: datetime
    duration_s: float
    language: str
    state: str
    team: str | None
    purposes: list[str]
    access: list[AccessModeOut]
    call_id: str | None = None  # original grants only
    agent_id: str | None = None  # original grants only

    @classmethod
    def of(cls, visible: service.VisibleRecording) -> RecordingOut:
        r = visible.recording
        # the purposes of the covering grants, which the recording was made for (by `covers`)
        granted_purposes = sorted({m.purpose for m in visible.modes})
        original = visible.original_allowed
        return cls(
            id=r.id,
            started_at=r.started_at,
            ended_at=r.ended_at,
            duration_s=r.duration_s,
            language=r.language,
            state=r.state,
            team=r.team,
            purposes=granted_purposes,
            access=[AccessModeOut(**m.__dict__) for m in visible.modes],
            call_id=r.call_id if original else None,
            agent_id=r.agent_id if original else None,
        )


class RecordingPage(BaseModel):
    items: list[RecordingOut]
    next_cursor: str | None
    limit: int


@router.get("/recordings", response_model=RecordingPage)
def list_recordings(
    principal: Grantee,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = service.DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    started_from: Instant | None = None,
    started_until: Instant | None = None,
    agent_id: Annotated[str | None, Query(max_length=128)] = None,
    team: Annotated[str | None, Query(max_length=128)] = None,
    purpose: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The recordings your active grants cover, newest first (`next_cursor` for the next page)."""
    page = service.visible_recordings(
        session,
        principal,
        filters=service.RecordingFilters(
            _aware(started_from), _aware(started_until), agent_id, team, purpose
        ),
        page=service.PageRequest(limit, cursor),
        now=runtime.clock.now(),
        audit_source=client_address(request),
        runtime=runtime,
    )
    body = RecordingPage(
        items=[RecordingOut.of(v) for v in page.items],
        next_cursor=page.next_cursor,
        limit=page.limit,
    )
    return Response(body.model_dump_json(), media_type="application/json", headers=NO_STORE)


def _stated(header: str | None, query: str | None) -> str | None:
    """The stated reason: the X-Access-Reason header (percent-encoded UTF-8 where it is not
    plain ASCII, as header values must be) or else the `reason` query parameter."""
    if header:
        return unquote(header)
    return query


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@router.get("/recordings/{recording_id}", response_model=RecordingOut)
def get_recording(
    recording_id: str,
    principal: Grantee,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """One recording's metadata, when an active grant covers it (otherwise 404)."""
    _authorize(
        session,
        runtime,
        principal,
        recording_id,
        request,
        variant=None,
        purpose=None,
        reason=None,
        action="recording.view",
    )
    page = service.with_access_modes(
        session,
        [uuid.UUID(recording_id)],
        grant_service.active_grants(session, principal, runtime.clock.now()),
    )
    body = RecordingOut.of(page[0])
    return Response(body.model_dump_json(), media_type="application/json", headers=NO_STORE)


def _authorize(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Principal,
    recording_id: str,
    request: Request,
    *,
    variant: str | None,
    purpose: str | None,
    reason: str | None,
    action: str,
) -> AccessGrant:
    return service.authorize(
        session,
        runtime,
        principal,
        recording_id,
        variant=variant,
        purpose=purpose,
        reason=reason,
        action=action,
        source=client_address(request),
    )


@router.get(
    "/recordings/{recording_id}/audio",
    responses={200: {"content": {"audio/flac": {}}}, 206: {"description": "Partial content"}},
)
def get_audio(
    recording_id: str,
    principal: Grantee,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    variant: VariantParam,
    purpose: Annotated[str, Query(max_length=40)],
    reason: Annotated[str | None, Query(max_length=2000)] = None,
    download: bool = False,
    x_access_reason: Annotated[str | None, Header(max_length=2000)] = None,
    range_: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    """Stream the audio (HTTP Range for seeking). States the purpose and a reason (10+ chars)
    in `X-Access-Reason` or `reason`; `download=true` needs a grant that allows downloads."""
    from callvault.vault.service import open_artifact

    action = "recording.download" if download else "recording.play"
    stated = _stated(x_access_reason, reason)
    grant = service.authorize(
        session,
        runtime,
        principal,
        recording_id,
        variant=variant,
        purpose=purpose,
        reason=stated,
        action=action,
        source=client_address(request),
        record_access=download,  # a play is audited once per listen, below
    )
    reader = open_artifact(session, runtime, uuid.UUID(recording_id), AUDIO_KINDS[variant])
    headers = {**NO_STORE, "Accept-Ranges": "bytes"}
    disposition = "attachment" if download else "inline"
    headers["Content-Disposition"] = (
        f'{disposition}; filename="recording-{recording_id}-{variant}.flac"'
    )
    try:
        wanted = parse_range(range_, reader.size)
    except RangeNotSatisfiable:
        return Response(
            status_code=416, headers={**headers, "Content-Range": f"bytes */{reader.size}"}
        )
    if not download:
        record_play(
            session,
            runtime,
            principal,
            recording_id=uuid.UUID(recording_id),
            grant=grant,
            reason=normalise_reason(stated),
            played=(wanted.start, wanted.end) if wanted else (0, reader.size),
            source=client_address(request),
        )
    if wanted is None:
        headers["Content-Length"] = str(reader.size)
        return StreamingResponse(
            reader.iter(0, None), media_type=reader.media_type, headers=headers
        )
    headers["Content-Range"] = wanted.content_range(reader.size)
    headers["Content-Length"] = str(wanted.length)
    return StreamingResponse(
        reader.iter(wanted.start, wanted.end),
        status_code=206,
        media_type=reader.media_type,
        headers=headers,
    )


@router.get("/recordings/{recording_id}/transcript")
def get_transcript(
    recording_id: str,
    principal: Grantee,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    variant: VariantParam,
    purpose: Annotated[str, Query(max_length=40)],
    reason: Annotated[str | None, Query(max_length=2000)] = None,
    x_access_reason: Annotated[str | None, Header(max_length=2000)] = None,
) -> Response:
    """The transcript (JSON) in the variant your grant allows, with a stated purpose and reason."""
    from callvault.vault.service import open_artifact

    _authorize(
        session,
        runtime,
        principal,
        recording_id,
        request,
        variant=variant,
        purpose=purpose,
        reason=_stated(x_access_reason, reason),
        action="recording.transcript",
    )
    reader = open_artifact(session, runtime, uuid.UUID(recording_id), TRANSCRIPT_KINDS[variant])
    return Response(reader.read(), media_type="application/json", headers=NO_STORE)


# --- grants ----------------------------------------------------------------------------------


class ScopeIn(BaseModel):
    kind: ScopeKind = ScopeKind.ALL
    date_from: datetime | None = None
    date_until: datetime | None = None
    agent_id: str | None = Field(default=None, max_length=128)
    team: str | None = Field(default=None, max_length=128)
    recording_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)


class GrantIn(BaseModel):
    grantee_id: uuid.UUID
    purpose: str = Field(max_length=40)
    variant: VariantParam
    scope: ScopeIn = Field(default_factory=ScopeIn)
    valid_from: datetime | None = None  # default: now
    valid_until: datetime
    allows_download: bool = False
    note: str | None = Field(default=None, max_length=500)


class GrantOut(BaseModel):
    id: uuid.UUID
    grantee_id: uuid.UUID
    granted_by: uuid.UUID
    purpose: str
    variant: str
    scope: ScopeIn
    valid_from: datetime
    valid_until: datetime
    allows_download: bool
    note: str | None
    created_at: datetime
    revoked_at: datetime | None
    active: bool

    @classmethod
    def of(cls, grant: AccessGrant, now: datetime) -> GrantOut:
        return cls(
            id=grant.id,
            grantee_id=grant.grantee_id,
            granted_by=grant.granted_by,
            purpose=grant.purpose_code,
            variant=grant.variant,
            scope=ScopeIn(
                kind=ScopeKind(grant.scope_kind),
                date_from=grant.scope_from,
                date_until=grant.scope_until,
                agent_id=grant.scope_agent_id,
                team=grant.scope_team,
                recording_ids=grant.recording_ids,
            ),
            valid_from=grant.valid_from,
            valid_until=grant.valid_until,
            allows_download=grant.allows_download,
            note=grant.note,
            created_at=grant.created_at,
            revoked_at=grant.revoked_at,
            active=grant.is_active(now),
        )


@router.post("/grants", response_model=GrantOut, status_code=201)
def create_grant(
    body: GrantIn, principal: Dpo, request: Request, session: SessionDep, runtime: RuntimeDep
) -> GrantOut:
    """Grant a training or QA manager access (DPO only; never to oneself; at most 90 days)."""
    now = runtime.clock.now()
    grant = grant_service.create_grant(
        session,
        runtime,
        principal,
        grantee_id=body.grantee_id,
        purpose=body.purpose,
        variant=body.variant,
        scope=grant_service.GrantScope(
            kind=body.scope.kind,
            date_from=_aware(body.scope.date_from),
            date_until=_aware(body.scope.date_until),
            agent_id=body.scope.agent_id,
            team=body.scope.team,
            recording_ids=tuple(body.scope.recording_ids),
        ),
        valid_from=_aware(body.valid_from) or now,
        valid_until=_aware(body.valid_until) or now,
        allows_download=body.allows_download,
        note=body.note,
        source=client_address(request),
    )
    return GrantOut.of(grant, now)


@router.get("/grants", response_model=list[GrantOut])
def list_grants(
    principal: GrantReader,
    session: SessionDep,
    runtime: RuntimeDep,
    grantee_id: uuid.UUID | None = None,
    active: bool = False,
) -> list[GrantOut]:
    """All grants (DPO), or your own (managers)."""
    now = runtime.clock.now()
    return [
        GrantOut.of(g, now)
        for g in grant_service.list_grants(
            session, runtime, principal, grantee_id=grantee_id, active_only=active
        )
    ]


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut)
def revoke_grant(
    grant_id: uuid.UUID, principal: Dpo, request: Request, session: SessionDep, runtime: RuntimeDep
) -> GrantOut:
    """Revoke a grant; it stops working at once, also in sessions already open."""
    grant = grant_service.revoke_grant(
        session, runtime, principal, grant_id, source=client_address(request)
    )
    return GrantOut.of(grant, runtime.clock.now())


# --- refusals ---------------------------------------------------------------------------------


class RefusalOut(BaseModel):
    actor: str
    day: date
    count: int
    reasons: dict[str, int]


@router.get("/access/refusals", response_model=list[RefusalOut])
def refusals(
    principal: Dpo,
    session: SessionDep,
    runtime: RuntimeDep,
    since: Day | None = None,
    until: Day | None = None,
) -> list[RefusalOut]:
    """Refused attempts by user and by day (default: the last 30 days, at most 366 days)."""
    today = runtime.clock.now().date()
    last = until or today
    first = since or last - timedelta(days=29)
    if last < first or (last - first).days > 366:
        raise InvalidInput("choose since <= until, at most 366 days apart")
    rows = service.refusals_by_user_and_day(
        session,
        since=datetime.combine(first, datetime.min.time(), UTC),
        until=datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC),
    )
    return [RefusalOut(actor=r.actor, day=r.day, count=r.count, reasons=r.reasons) for r in rows]


__all__ = ["router"]
