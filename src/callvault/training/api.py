"""HTTP routes of the training library: clips, review, leak reports, tags and collections."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from callvault.access.api import NO_STORE, _stated
from callvault.access.ranges import RangeNotSatisfiable, parse_range
from callvault.accounts.auth import Principal, client_address, require_roles
from callvault.accounts.roles import Role
from callvault.deps import RuntimeDep, SessionDep
from callvault.runtime import Runtime
from callvault.training import leaks, library, service
from callvault.training.access import find_clip
from callvault.training.models import ClipState, TrainingClip, TrainingCollection
from callvault.training.render import (
    CLIP_AUDIO,
    clip_transcript_of,
    source_detections,
    source_transcript,
)
from callvault.training.transcript import review_regions

router = APIRouter(prefix="/api/v1/training", tags=["training"])

Manager = Annotated[Principal, Depends(require_roles(Role.TRAINING_MANAGER))]
Grantee = Annotated[Principal, Depends(require_roles(Role.TRAINING_MANAGER, Role.QA_MANAGER))]
Dpo = Annotated[Principal, Depends(require_roles(Role.DPO))]
Seconds = Annotated[float, Field(ge=0, le=4 * 3600)]
TagCode = Annotated[str, Field(min_length=1, max_length=40)]


class NoteBody(BaseModel):
    at: Seconds
    text: str = Field(max_length=service.MAX_NOTE)


class ClipIn(BaseModel):
    recording_id: uuid.UUID
    start: Seconds
    end: Seconds
    title: str = Field(max_length=service.MAX_TITLE)
    tags: list[TagCode] = Field(default_factory=list, max_length=service.MAX_TAGS)
    lesson: str = Field(max_length=service.MAX_LESSON)
    notes: list[NoteBody] = Field(default_factory=list, max_length=service.MAX_NOTES)


class ClipPatch(BaseModel):
    start: Seconds | None = None
    end: Seconds | None = None
    title: str | None = Field(default=None, max_length=service.MAX_TITLE)
    tags: list[TagCode] | None = Field(default=None, max_length=service.MAX_TAGS)
    lesson: str | None = Field(default=None, max_length=service.MAX_LESSON)
    notes: list[NoteBody] | None = Field(default=None, max_length=service.MAX_NOTES)


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Seconds
    end: Seconds


class MarksIn(BaseModel):
    # Closed: extra keys (NULs and all) are refused, not silently taken.
    model_config = ConfigDict(extra="forbid")

    marks: list[Range] = Field(min_length=1, max_length=50)


class ReviewIn(BaseModel):
    decision: Literal["approve", "reject"]
    comment: str = Field(default="", max_length=service.MAX_COMMENT)


class LeakIn(BaseModel):
    at: Seconds


class NoteOut(BaseModel):
    at: float
    text: str


class MarkOut(BaseModel):
    start: float
    end: float
    source: str


class ReviewOut(BaseModel):
    reviewer_id: uuid.UUID
    version: int
    decision: str
    comment: str
    at: datetime


class RegionOut(BaseModel):
    start: float
    end: float
    kind: str
    channel: int | None


class ClipOut(BaseModel):
    id: uuid.UUID
    recording_id: uuid.UUID
    title: str
    state: str
    tags: list[str]
    lesson: str
    start: float
    end: float
    duration_s: float
    version: int
    team: str | None
    recording_started_at: datetime
    author_id: uuid.UUID
    created_at: datetime
    changed_at: datetime
    approved_at: datetime | None
    retained_until: datetime | None
    notes: list[NoteOut]
    marks: list[MarkOut]

    @classmethod
    def of(cls, clip: TrainingClip) -> ClipOut:
        return cls(
            id=clip.id,
            recording_id=clip.recording_id,
            title=clip.title,
            state=clip.state,
            tags=clip.tag_codes,
            lesson=clip.lesson,
            start=clip.start_s,
            end=clip.end_s,
            duration_s=round(clip.duration_s, 3),
            version=clip.version,
            team=clip.team,
            recording_started_at=clip.recording_started_at,
            author_id=clip.author_id,
            created_at=clip.created_at,
            changed_at=clip.changed_at,
            approved_at=clip.approved_at,
            retained_until=clip.retained_until,
            notes=[NoteOut(at=round(n.at_s - clip.start_s, 3), text=n.text) for n in clip.notes],
            marks=[
                MarkOut(
                    start=round(max(0.0, m.start_s - clip.start_s), 3),
                    end=round(min(clip.duration_s, m.end_s - clip.start_s), 3),
                    source=m.source,
                )
                for m in clip.marks
                if m.end_s > clip.start_s and m.start_s < clip.end_s
            ],
        )


class ClipDetail(ClipOut):
    review_regions: list[RegionOut]
    reviews: list[ReviewOut]
    heard_current_version: bool


class ClipList(BaseModel):
    items: list[ClipOut]


def _json(model: BaseModel, status: int = 200) -> Response:
    return Response(
        model.model_dump_json(), status_code=status, media_type="application/json", headers=NO_STORE
    )


def _notes(notes: list[NoteBody] | None) -> list[service.NoteIn] | None:
    return None if notes is None else [service.NoteIn(n.at, n.text) for n in notes]


@router.post("/clips", status_code=201, response_model=ClipOut)
def cut_clip(
    body: ClipIn, principal: Manager, request: Request, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Cut a draft clip from a recording's pseudonymised variant (409 until it is ready)."""
    clip = service.cut_clip(
        session,
        runtime,
        principal,
        recording_id=body.recording_id,
        start=body.start,
        end=body.end,
        title=body.title,
        tags=body.tags,
        lesson=body.lesson,
        notes=_notes(body.notes) or (),
        source=client_address(request),
    )
    return _json(ClipOut.of(clip), 201)


@router.get("/clips", response_model=ClipList)
def list_clips(
    principal: Manager,
    session: SessionDep,
    runtime: RuntimeDep,
    state: Annotated[ClipState | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    team: Annotated[str | None, Query(max_length=128)] = None,
    started_from: date | None = None,
    started_until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=library.MAX_PAGE)] = 50,
) -> Response:
    """The clips your training grants cover: by state, words of the transcript, tag, team, date."""
    clips = library.search_clips(
        session,
        runtime,
        principal,
        library.ClipQuery(
            state.value if state else None,
            q,
            tag,
            team,
            _day(started_from),
            _day(started_until),
            limit,
        ),
    )
    return _json(ClipList(items=[ClipOut.of(c) for c in clips]))


def _day(value: date | None) -> datetime | None:
    return None if value is None else datetime(value.year, value.month, value.day, tzinfo=UTC)


def clip_detail(
    session: Session, runtime: Runtime, principal: Principal, clip: TrainingClip
) -> ClipDetail:
    regions = review_regions(
        source_transcript(session, runtime, clip),
        clip.start_s,
        clip.end_s,
        source_detections(session, runtime, clip),
    )
    return ClipDetail(
        **ClipOut.of(clip).model_dump(),
        review_regions=[RegionOut(**r.__dict__) for r in regions],
        reviews=[
            ReviewOut(
                reviewer_id=r.reviewer_id,
                version=r.version,
                decision=r.decision,
                comment=r.comment,
                at=r.at,
            )
            for r in service.reviews_of(session, clip.id)
        ],
        heard_current_version=service.has_heard(session, clip, principal.id),
    )


@router.get("/clips/{clip_id}", response_model=ClipDetail)
def get_clip(
    clip_id: str, principal: Manager, request: Request, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """A clip with its marks, notes, reviews and review regions (where to listen first)."""
    clip, _ = find_clip(
        session,
        runtime,
        principal,
        clip_id,
        action="recording.view",
        source=client_address(request),
    )
    return _json(clip_detail(session, runtime, principal, clip))


@router.patch("/clips/{clip_id}", response_model=ClipOut)
def update_clip(
    clip_id: str,
    body: ClipPatch,
    principal: Manager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """Change title, tags, lesson, notes or range; a new range goes back to review."""
    clip = service.update_clip(
        session,
        runtime,
        principal,
        clip_id,
        start=body.start,
        end=body.end,
        title=body.title,
        tags=body.tags,
        lesson=body.lesson,
        notes=_notes(body.notes),
        source=client_address(request),
    )
    return _json(ClipOut.of(clip))


@router.get(
    "/clips/{clip_id}/audio",
    responses={200: {"content": {"audio/flac": {}}}, 206: {"description": "Partial content"}},
)
def get_clip_audio(
    clip_id: str,
    principal: Manager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    purpose: Annotated[Literal["training"], Query()] = "training",
    reason: Annotated[str | None, Query(max_length=2000)] = None,
    x_access_reason: Annotated[str | None, Header(max_length=2000)] = None,
    range_: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    """Stream the clip (HTTP Range for seeking), stating a reason (10+ characters) in
    `X-Access-Reason` or `reason`; the purpose is training. Audited as a play of the recording."""
    from callvault.vault.service import open_artifact

    clip, _ = find_clip(
        session,
        runtime,
        principal,
        clip_id,
        action="recording.play",
        reason=_stated(x_access_reason, reason),
        needs_reason=True,
        source=client_address(request),
    )
    service.record_hearing(session, clip, principal.id, runtime.clock.now())
    reader = open_artifact(session, runtime, clip.id, CLIP_AUDIO)
    headers = {
        **NO_STORE,
        "Accept-Ranges": "bytes",
        "X-Clip-Version": str(clip.version),
        "Content-Disposition": f'inline; filename="clip-{clip.id}.flac"',
    }
    try:
        wanted = parse_range(range_, reader.size)
    except RangeNotSatisfiable:
        return Response(
            status_code=416, headers={**headers, "Content-Range": f"bytes */{reader.size}"}
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


@router.get("/clips/{clip_id}/transcript")
def get_clip_transcript(
    clip_id: str,
    principal: Manager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    purpose: Annotated[Literal["training"], Query()] = "training",
    reason: Annotated[str | None, Query(max_length=2000)] = None,
    x_access_reason: Annotated[str | None, Header(max_length=2000)] = None,
) -> Response:
    """The clip's pseudonymised transcript ([NAMN] and other labels; marks as [MARKERAT])."""
    import json

    clip, _ = find_clip(
        session,
        runtime,
        principal,
        clip_id,
        action="recording.transcript",
        reason=_stated(x_access_reason, reason),
        needs_reason=True,
        source=client_address(request),
    )
    body = json.dumps(clip_transcript_of(session, runtime, clip), ensure_ascii=False)
    return Response(body, media_type="application/json", headers=NO_STORE)


@router.post("/clips/{clip_id}/marks", response_model=ClipOut)
def add_marks(
    clip_id: str,
    body: MarksIn,
    principal: Manager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """Mask ranges of the clip (seconds into it) at once; the clip goes back to review."""
    clip = service.add_marks(
        session,
        runtime,
        principal,
        clip_id,
        [(m.start, m.end) for m in body.marks],
        source=client_address(request),
    )
    return _json(ClipOut.of(clip))


@router.post("/clips/{clip_id}/review", response_model=ClipOut)
def review_clip(
    clip_id: str,
    body: ReviewIn,
    principal: Manager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """Approve or reject: never your own clip (403), only after fetching its audio as it is
    now (409)."""
    service.review_clip(
        session,
        runtime,
        principal,
        clip_id,
        decision=body.decision,
        comment=body.comment,
        source=client_address(request),
    )
    clip, _ = find_clip(session, runtime, principal, clip_id, action="recording.view")
    return _json(ClipOut.of(clip))


class LeakOut(BaseModel):
    id: uuid.UUID
    recording_id: uuid.UUID
    clip_id: uuid.UUID | None
    reported_at: datetime
    clip_state: str | None


@router.post("/clips/{clip_id}/leak-reports", status_code=201, response_model=LeakOut)
def report_clip_leak(
    clip_id: str,
    body: LeakIn,
    principal: Manager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """ "I heard an identifier here" (`at`: seconds into the clip): the clip leaves the library,
    is masked ±1.5 s around it and goes back to review; the recording gets the same mark."""
    report = leaks.report_leak_in_clip(
        session, runtime, principal, clip_id, at=body.at, source=client_address(request)
    )
    clip = session.get(TrainingClip, report.clip_id)
    return _json(
        LeakOut(
            id=report.id,
            recording_id=report.recording_id,
            clip_id=report.clip_id,
            reported_at=report.reported_at,
            clip_state=clip.state if clip else None,
        ),
        201,
    )


@router.post("/recordings/{recording_id}/leak-reports", status_code=201, response_model=LeakOut)
def report_recording_leak(
    recording_id: str,
    body: LeakIn,
    principal: Grantee,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """The same for a pseudonymised recording (`at`: seconds into the recording)."""
    report = leaks.report_leak_in_recording(
        session, runtime, principal, recording_id, at=body.at, source=client_address(request)
    )
    return _json(
        LeakOut(
            id=report.id,
            recording_id=report.recording_id,
            clip_id=None,
            reported_at=report.reported_at,
            clip_state=None,
        ),
        201,
    )


class WeekOut(BaseModel):
    week: str
    reports: int


@router.get("/leak-reports/weekly", response_model=list[WeekOut])
def leak_reports_weekly(principal: Dpo, session: SessionDep, runtime: RuntimeDep) -> list[WeekOut]:
    """Leak reports per ISO week, the last 12 weeks: the leak rate measured in real use."""
    rows = leaks.leak_reports_per_week(session, runtime.clock.now())
    return [WeekOut(week=w, reports=n) for w, n in rows]


# --- tags ---------------------------------------------------------------------------------------


class TagIn(BaseModel):
    code: TagCode
    label_sv: str = Field(max_length=service.MAX_TAG_LABEL)
    label_en: str = Field(max_length=service.MAX_TAG_LABEL)


class TagOut(BaseModel):
    code: str
    label_sv: str
    label_en: str


@router.get("/tags", response_model=list[TagOut])
def list_tags(principal: Manager, session: SessionDep) -> list[TagOut]:
    """The situation tags, with Swedish and English labels."""
    return [
        TagOut(code=t.code, label_sv=t.label_sv, label_en=t.label_en)
        for t in service.list_tags(session)
    ]


@router.post("/tags", status_code=201, response_model=TagOut, responses={409: {}})
def add_tag(
    body: TagIn, principal: Manager, request: Request, session: SessionDep, runtime: RuntimeDep
) -> TagOut:
    """Add a situation tag to the vocabulary."""
    tag = service.add_tag(
        session,
        runtime,
        principal,
        code=body.code,
        label_sv=body.label_sv,
        label_en=body.label_en,
        source=client_address(request),
    )
    return TagOut(code=tag.code, label_sv=tag.label_sv, label_en=tag.label_en)


# --- collections --------------------------------------------------------------------------------


class CollectionIn(BaseModel):
    title: str = Field(max_length=service.MAX_TITLE)
    description: str = Field(default="", max_length=service.MAX_LESSON)
    clip_ids: list[uuid.UUID] = Field(default_factory=list, max_length=library.MAX_COLLECTION)


class CollectionPatch(BaseModel):
    title: str | None = Field(default=None, max_length=service.MAX_TITLE)
    description: str | None = Field(default=None, max_length=service.MAX_LESSON)
    clip_ids: list[uuid.UUID] | None = Field(default=None, max_length=library.MAX_COLLECTION)


class EntryOut(BaseModel):
    position: int
    clip_id: uuid.UUID
    status: str
    clip: ClipOut | None


class CollectionOut(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    created_at: datetime
    updated_at: datetime
    items: list[EntryOut]


def collection_out(
    session: Session, runtime: Runtime, principal: Principal, collection: TrainingCollection
) -> CollectionOut:
    return CollectionOut(
        id=collection.id,
        title=collection.title,
        description=collection.description,
        created_at=collection.created_at,
        updated_at=collection.updated_at,
        items=[
            EntryOut(
                position=e.position,
                clip_id=e.clip_id,
                status=e.status,
                clip=ClipOut.of(e.clip) if e.clip is not None else None,
            )
            for e in library.entries(session, runtime, principal, collection)
        ],
    )


class CollectionSummary(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    clips: int


@router.get("/collections", response_model=list[CollectionSummary])
def list_collections(principal: Manager, session: SessionDep) -> list[CollectionSummary]:
    """Every collection (titles and descriptions; the clips are checked when opened)."""
    return [
        CollectionSummary(id=c.id, title=c.title, description=c.description, clips=len(c.items))
        for c in library.list_collections(session)
    ]


@router.post("/collections", status_code=201, response_model=CollectionOut)
def create_collection(
    body: CollectionIn,
    principal: Manager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """An ordered playlist of approved clips with a description."""
    collection = library.create_collection(
        session,
        runtime,
        principal,
        title=body.title,
        description=body.description,
        clip_ids=body.clip_ids,
        source=client_address(request),
    )
    return _json(collection_out(session, runtime, principal, collection), 201)


@router.get("/collections/{collection_id}", response_model=CollectionOut)
def get_collection(
    collection_id: uuid.UUID, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """A collection in order; a clip you may not play shows only why (removed, under review)."""
    collection = library.get_collection(session, collection_id)
    return _json(collection_out(session, runtime, principal, collection))


@router.patch("/collections/{collection_id}", response_model=CollectionOut)
def update_collection(
    collection_id: uuid.UUID,
    body: CollectionPatch,
    principal: Manager,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """Change title, description or the clips and their order."""
    collection = library.update_collection(
        session,
        runtime,
        principal,
        collection_id,
        title=body.title,
        description=body.description,
        clip_ids=body.clip_ids,
        source=client_address(request),
    )
    return _json(collection_out(session, runtime, principal, collection))


@router.delete("/collections/{collection_id}", status_code=204)
def delete_collection(
    collection_id: uuid.UUID, principal: Manager, request: Request, session: SessionDep
) -> Response:
    """Delete a collection (its clips stay in the library)."""
    library.delete_collection(session, principal, collection_id, client_address(request))
    return Response(status_code=204)


__all__ = ["router"]
