"""The training library's pages (§1, §3, §6): cutting a clip from a recording, the review page
(player, review regions first, marks, approve or reject after playing it through), the library
search, collections and the presentation mode.

Every read and change goes through `callvault.training`, as the JSON API does. The reason for
playing belongs to one clip, or to one presentation of a collection (stated once for all its
clips); the person may tick to reuse it for the next clips, and each page then shows the reason in
use with a way to change it. Reasons travel in a session-bound, signed cookie limited to /training
(`web.stated_reasons`, as in the recording player), never in a URL.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from callvault.access.reasons import is_meaningful, normalise_reason
from callvault.access.service import NOT_FOUND
from callvault.accounts.auth import Principal, client_address
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import CallvaultError, Conflict, InvalidInput, NotFound, PermissionDenied
from callvault.runtime import Runtime
from callvault.training import leaks, library, service
from callvault.training.access import find_clip
from callvault.training.models import TrainingClip
from callvault.training.render import clip_transcript_of, source_detections, source_transcript
from callvault.training.transcript import review_regions
from callvault.web.forms import Posted, safe_next, text, texts
from callvault.web.grants_pages import day_start, parse_day
from callvault.web.i18n import gettext, using_language
from callvault.web.messages import N_
from callvault.web.pages import signed_in
from callvault.web.recording_pages import transcript_lines
from callvault.web.stated_reasons import (
    TRAINING,
    ReasonBook,
    StatedReason,
    keep_reason_book,
    reason_book,
)
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)

Manager = Annotated[Principal, Depends(signed_in("training_manager"))]
REASON_COOKIE = TRAINING.cookie
STATE_LABELS = {
    "draft": N_("Waiting for review"),
    "approved": N_("Approved for training"),
    "rejected": N_("Rejected in review"),
    "removed": N_("Removed under the retention policy"),
}
REGION_LABELS = {
    "skipped_speech": N_("Speech the recogniser skipped"),
    "low_confidence": N_("Words heard with low confidence"),
    "unsure_detection": N_("Possible identifier, not masked"),
}
ENTRY_LABELS = {
    "playable": N_("Ready to play"),
    "under_review": N_("Back in review: not shown until approved again"),
    "removed": N_("Clip removed under the retention policy"),
    "unavailable": N_("Not available to you"),
}
# The services' refusals, in the reader's language.
PROBLEMS = {
    "the range lies outside the recording": N_("The range lies outside the recording."),
    "a clip is at most 10 minutes long": N_("A clip is at most 10 minutes long."),
    "a clip needs 0 <= start < end (seconds)": N_("The end must come after the start."),
    "the title cannot be empty": N_("Give the clip a title."),
    "the lesson cannot be empty": N_("Describe the lesson: what happens and how to handle it."),
    "the mark lies outside the clip": N_("The mark lies outside the clip."),
    "the moment lies outside the clip": N_("The moment lies outside the clip."),
    "the author of a clip never reviews it (four eyes)": N_(
        "You cut this clip, so someone else must review it."
    ),
    "listen to the clip as it is now before deciding": N_(
        "Play the clip as it is now before you decide."
    ),
    "this clip is not waiting for review": N_("This clip is not waiting for review."),
    "the comment cannot be empty": N_("Say why you reject the clip."),
    "the pseudonymised variant of this recording is not ready yet": N_(
        "The pseudonymised variant of this recording is not ready yet."
    ),
    "unknown tag: add it to the vocabulary first": N_("Choose tags from the list."),
    "a collection holds approved clips you can see": N_("A collection holds approved clips only."),
}


def _problem(exc: CallvaultError) -> str:
    known = PROBLEMS.get(exc.message)
    return gettext(known) if known else exc.message


def state_label(state: str) -> str:
    return gettext(STATE_LABELS.get(state, state))


# --- the stated reason ---------------------------------------------------------------------------
# One reason per clip (`clip:<id>`), one per presentation of a collection (`collection:<id>`),
# and, only when the person ticks it on the form, one reused for the next clips of the task. The
# book and its cookie are the recording player's (`web.stated_reasons`), kept under /training.

SCOPES = ("clip", "collection")


def clip_key(clip_id: object) -> str:
    return f"clip:{clip_id}"


def collection_key(collection_id: object) -> str:
    return f"collection:{collection_id}"


def _scope(raw: str) -> str | None:
    """`clip:<uuid>` or `collection:<uuid>`, canonical; anything else is None."""
    kind, _, ident = raw.partition(":")
    if kind not in SCOPES:
        return None
    try:
        return f"{kind}:{uuid.UUID(ident)}"
    except ValueError:
        return None


def _training_reason(reason: str) -> StatedReason:
    return StatedReason(purpose="training", variant="pseudonymised", reason=reason)


def _in_use(
    request: Request, runtime: Runtime, principal: Principal, key: str
) -> tuple[ReasonBook, StatedReason | None]:
    """The book, and the reason that applies to `key` (its own, or the reuse the person chose);
    none while the person asks to change it (`?change=1`)."""
    book = reason_book(request, runtime, principal, TRAINING)
    stated = book.in_use(key)
    if stated is not None and not is_meaningful(stated.reason):
        stated = None
    if request.query_params.get("change"):
        return book, None
    return book, stated


def _keep_reused(
    response: Response,
    request: Request,
    runtime: Runtime,
    book: ReasonBook,
    key: str,
    stated: StatedReason | None,
) -> None:
    """A reused reason shown on a page is remembered for that clip or presentation, so its audio
    plays under the reason the page showed."""
    if stated is not None and stated.reused:
        book.remember(key, stated)
        keep_reason_book(response, request, runtime, book, TRAINING)


def _reason_context(
    request: Request, book: ReasonBook, key: str, stated: StatedReason | None, back: str = ""
) -> dict[str, Any]:
    shown = stated or book.for_recording(key) or book.reuse
    return {
        "stated": stated,
        "reason": stated.reason if stated else None,
        "reason_short": request.query_params.get("reason") == "short",
        "reason_scope": key,
        "reason_value": shown.reason if shown else "",
        "reason_back": back,
        "reason_change": f"{back}&change=1" if back else "change=1",
        "reusing": book.reuse is not None,
    }


@router.post("/training/reason")
def state_reason(
    request: Request, principal: Manager, runtime: RuntimeDep, form: Posted
) -> Response:
    """The reason for playing one clip, or for presenting one collection (`scope`). With `reuse`
    ticked it is also used for the next clips of the same task, each page saying so."""
    scope = _scope(text(form, "scope"))
    if scope is None:
        raise InvalidInput("the reason is for one clip or one collection (scope)")
    reason = normalise_reason(text(form, "reason"))
    target = safe_next(text(form, "next"), "/training")
    if not is_meaningful(reason):
        joiner = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{joiner}reason=short", status_code=303)
    stated = _training_reason(reason)
    book = reason_book(request, runtime, principal, TRAINING)
    book.remember(scope, stated)
    book.reuse = stated if text(form, "reuse") else None
    response = RedirectResponse(target, status_code=303)
    keep_reason_book(response, request, runtime, book, TRAINING)
    return response


# --- the library ---------------------------------------------------------------------------------


def _tags(session: Session, language: str) -> list[tuple[str, str]]:
    return [
        (t.code, t.label_sv if language == "sv" else t.label_en) for t in service.list_tags(session)
    ]


@router.get("/training", response_class=HTMLResponse)
def library_page(
    request: Request, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Search the clips your training grants cover: words, tag, team, date and state."""
    query = request.query_params
    first, last = parse_day(query.get("from", "")), parse_day(query.get("until", ""))
    state = query.get("state", "approved")
    values = {k: v for k, v in query.items() if k in ("q", "tag", "team", "from", "until") and v}
    values["state"] = state
    clips = library.search_clips(
        session,
        runtime,
        principal,
        library.ClipQuery(
            state=state if state in STATE_LABELS else None,
            q=(query.get("q") or "")[:200] or None,
            tag=(query.get("tag") or "")[:40] or None,
            team=(query.get("team") or "")[:128] or None,
            started_from=day_start(first) if first else None,
            started_until=day_start(last + timedelta(days=1)) if last else None,
            limit=50,
        ),
    )
    language = language_for(request, principal)
    tags = _tags(session, language)
    return render(
        request,
        "training/library.html",
        {
            "clips": clips,
            "values": values,
            "tags": tags,
            "tag_labels": dict(tags),
            "states": STATE_LABELS,
            "state_label": state_label,
        },
        principal=principal,
    )


# --- cutting a clip ----------------------------------------------------------------------------


def _cut_form(
    request: Request,
    principal: Principal,
    session: Session,
    recording_id: str,
    values: dict[str, Any],
    problems: list[str],
    status_code: int = 200,
) -> HTMLResponse:
    language = language_for(request, principal)
    return render(
        request,
        "training/new.html",
        {
            "recording_id": recording_id,
            "values": values,
            "problems": problems,
            "tags": _tags(session, language),
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/training/clips/new", response_class=HTMLResponse)
def new_clip_page(
    request: Request, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """The form to cut a clip from a recording your training grant covers."""
    from callvault.access.service import authorize

    recording_id = (request.query_params.get("recording") or "")[:64]
    authorize(
        session,
        runtime,
        principal,
        recording_id,
        variant="pseudonymised",
        purpose="training",
        reason=None,
        action="recording.view",
        source=client_address(request),
    )
    values = {"start": "", "end": "", "title": "", "lesson": "", "tags": []}
    return _cut_form(request, principal, session, recording_id, values, [])


def _seconds(value: str) -> float:
    """Seconds, or m:ss, or h:mm:ss."""
    try:
        parts = [float(p) for p in value.strip().replace(",", ".").split(":")]
    except ValueError:
        raise InvalidInput("a clip needs 0 <= start < end (seconds)") from None
    if not parts or len(parts) > 3:
        raise InvalidInput("a clip needs 0 <= start < end (seconds)")
    total = 0.0
    for part in parts:
        total = total * 60 + part
    return total


@router.post("/training/clips", response_class=HTMLResponse)
def cut_clip(
    request: Request, principal: Manager, session: SessionDep, runtime: RuntimeDep, form: Posted
) -> Response:
    recording_id = text(form, "recording_id")[:64]
    values = {
        "start": text(form, "start")[:20],
        "end": text(form, "end")[:20],
        "title": text(form, "title")[:400],
        "lesson": text(form, "lesson")[:8000],
        "tags": texts(form, "tags")[:20],
    }
    try:
        clip = service.cut_clip(
            session,
            runtime,
            principal,
            recording_id=recording_id,
            start=_seconds(str(values["start"])),
            end=_seconds(str(values["end"])),
            title=str(values["title"]),
            tags=list(values["tags"]),
            lesson=str(values["lesson"]),
            source=client_address(request),
        )
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        with using_language(language_for(request, principal)):
            problem = _problem(exc)
        return _cut_form(request, principal, session, recording_id, values, [problem], 422)
    return RedirectResponse(f"/training/clips/{clip.id}", status_code=303)


# --- the review page ---------------------------------------------------------------------------


def _clip_page(
    request: Request,
    principal: Principal,
    session: Session,
    runtime: Runtime,
    clip_id: str,
    problems: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    clip, _ = find_clip(
        session,
        runtime,
        principal,
        clip_id,
        action="recording.view",
        source=client_address(request),
    )
    key = clip_key(clip.id)
    book, stated = _in_use(request, runtime, principal, key)
    reason = stated.reason if stated is not None else None
    regions = review_regions(
        source_transcript(session, runtime, clip),
        clip.start_s,
        clip.end_s,
        source_detections(session, runtime, clip),
    )
    lines = None
    if reason is not None:
        find_clip(
            session,
            runtime,
            principal,
            clip.id,
            action="recording.transcript",
            reason=reason,
            needs_reason=True,
            source=client_address(request),
        )
        lines = transcript_lines(clip_transcript_of(session, runtime, clip))
    language = language_for(request, principal)
    response = render(
        request,
        "training/clip.html",
        {
            **_reason_context(request, book, key, stated),
            "clip": clip,
            "lines": lines,
            "regions": regions,
            "region_labels": REGION_LABELS,
            "marks_json": json.dumps(_marks(clip)),
            "regions_json": json.dumps([{"start": r.start, "end": r.end} for r in regions]),
            "marks": _marks(clip),
            "notes": [(n.at_s - clip.start_s, n.text) for n in clip.notes],
            "reviews": service.reviews_of(session, clip.id),
            "is_author": clip.author_id == principal.id,
            "heard": service.has_heard(session, clip, principal.id),
            "tag_labels": dict(_tags(session, language)),
            "state_label": state_label,
            "problems": problems or [],
        },
        principal=principal,
        status_code=status_code,
    )
    _keep_reused(response, request, runtime, book, key, stated)
    return response


def _marks(clip: TrainingClip) -> list[dict[str, float]]:
    from callvault.training.render import clip_marks

    return [{"start": round(a, 2), "end": round(b, 2)} for a, b in clip_marks(clip)]


@router.get("/training/clips/{clip_id}", response_class=HTMLResponse)
def clip_page(
    clip_id: str, request: Request, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """The review page: where the pseudonymisation was unsure first, then player and marks."""
    return _clip_page(request, principal, session, runtime, clip_id)


@router.get("/training/clips/{clip_id}/audio")
def clip_audio(
    clip_id: str, request: Request, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """The player's audio under the reason for this clip, or the one the person chose to reuse;
    with `collection=<id>` (the presentation's player) under that collection's reason, when the
    clip is in it. Refused without one, audited with the reason that applied."""
    from callvault.training.api import get_clip_audio

    book = reason_book(request, runtime, principal, TRAINING)
    wanted = _scope(f"clip:{clip_id}")
    collection_id = request.query_params.get("collection")
    stated: StatedReason | None = None
    if collection_id is not None:
        collection = _collection(session, collection_id)
        if wanted is not None and any(clip_key(i.clip_id) == wanted for i in collection.items):
            stated = book.in_use(collection_key(collection.id))
    elif wanted is not None:
        stated = book.in_use(wanted)
    return get_clip_audio(
        clip_id,
        principal,
        request,
        session,
        runtime,
        purpose="training",
        reason=stated.reason if stated is not None else None,
        x_access_reason=None,
        range_=request.headers.get("range"),
    )


def _act(
    request: Request,
    principal: Principal,
    session: Session,
    runtime: Runtime,
    clip_id: str,
    action: Any,
    done: str,
) -> Response:
    try:
        action()
    except (InvalidInput, Conflict, PermissionDenied) as exc:
        session.rollback()
        with using_language(language_for(request, principal)):
            problem = _problem(exc)
        return _clip_page(request, principal, session, runtime, clip_id, [problem], 422)
    return RedirectResponse(
        f"/training/clips/{clip_id}?{urlencode({'done': done})}", status_code=303
    )


@router.post("/training/clips/{clip_id}/marks", response_class=HTMLResponse)
def add_mark(
    clip_id: str,
    request: Request,
    principal: Manager,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    def go() -> None:
        start, end = _seconds(text(form, "start")), _seconds(text(form, "end"))
        service.add_marks(
            session, runtime, principal, clip_id, [(start, end)], source=client_address(request)
        )

    return _act(request, principal, session, runtime, clip_id, go, "clip_marked")


@router.post("/training/clips/{clip_id}/review", response_class=HTMLResponse)
def review(
    clip_id: str,
    request: Request,
    principal: Manager,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    decision = text(form, "decision")

    def go() -> None:
        service.review_clip(
            session,
            runtime,
            principal,
            clip_id,
            decision=decision,
            comment=text(form, "comment")[:4000],
            source=client_address(request),
        )

    done = "clip_approved" if decision == "approve" else "clip_rejected"
    return _act(request, principal, session, runtime, clip_id, go, done)


@router.post("/training/clips/{clip_id}/leak-reports", response_class=HTMLResponse)
def report_leak(
    clip_id: str,
    request: Request,
    principal: Manager,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    def go() -> None:
        leaks.report_leak_in_clip(
            session,
            runtime,
            principal,
            clip_id,
            at=_seconds(text(form, "at")),
            source=client_address(request),
        )

    return _act(request, principal, session, runtime, clip_id, go, "leak_reported")


# --- collections and the presentation mode ----------------------------------------------------


@router.get("/training/collections", response_class=HTMLResponse)
def collections_page(
    request: Request, principal: Manager, session: SessionDep, runtime: RuntimeDep
) -> Response:
    approved = library.search_clips(
        session, runtime, principal, library.ClipQuery(state="approved", limit=100)
    )
    return render(
        request,
        "training/collections.html",
        {
            "collections": library.list_collections(session),
            "approved": approved,
            "problems": [],
            "values": {},
        },
        principal=principal,
    )


@router.post("/training/collections", response_class=HTMLResponse)
def create_collection(
    request: Request, principal: Manager, session: SessionDep, runtime: RuntimeDep, form: Posted
) -> Response:
    ids: list[uuid.UUID] = []
    for raw in texts(form, "clip_ids")[: library.MAX_COLLECTION]:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    try:
        collection = library.create_collection(
            session,
            runtime,
            principal,
            title=text(form, "title")[:400],
            description=text(form, "description")[:8000],
            clip_ids=ids,
            source=client_address(request),
        )
    except InvalidInput as exc:
        session.rollback()
        with using_language(language_for(request, principal)):
            problem = _problem(exc)
        approved = library.search_clips(
            session, runtime, principal, library.ClipQuery(state="approved", limit=100)
        )
        return render(
            request,
            "training/collections.html",
            {
                "collections": library.list_collections(session),
                "approved": approved,
                "problems": [problem],
                "values": {
                    "title": text(form, "title")[:400],
                    "description": text(form, "description")[:8000],
                },
            },
            principal=principal,
            status_code=422,
        )
    return RedirectResponse(f"/training/collections/{collection.id}", status_code=303)


def _collection(session: Session, collection_id: str) -> Any:
    try:
        return library.get_collection(session, uuid.UUID(collection_id))
    except ValueError:
        raise NotFound("no such collection") from None


@router.get("/training/collections/{collection_id}", response_class=HTMLResponse)
def collection_page(
    collection_id: str,
    request: Request,
    principal: Manager,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    collection = _collection(session, collection_id)
    return render(
        request,
        "training/collection.html",
        {
            "collection": collection,
            "entries": library.entries(session, runtime, principal, collection),
            "entry_labels": ENTRY_LABELS,
        },
        principal=principal,
    )


@router.get("/training/collections/{collection_id}/present", response_class=HTMLResponse)
def present(
    collection_id: str,
    request: Request,
    principal: Manager,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """Presentation mode: a large player, the transcript with its labels, the lesson and notes,
    and the next clip; keyboard control. The reason is stated once for the whole collection."""
    collection = _collection(session, collection_id)
    playable = [
        e
        for e in library.entries(session, runtime, principal, collection)
        if e.status == "playable" and e.clip is not None
    ]
    key = collection_key(collection.id)
    book, stated = _in_use(request, runtime, principal, key)
    reason = stated.reason if stated is not None else None
    try:
        at = max(0, min(int(request.query_params.get("at", "0")), max(0, len(playable) - 1)))
    except ValueError:
        at = 0
    current = playable[at].clip if playable else None
    lines = None
    if reason is not None and current is not None:
        find_clip(
            session,
            runtime,
            principal,
            current.id,
            action="recording.transcript",
            reason=reason,
            needs_reason=True,
            source=client_address(request),
        )
        lines = transcript_lines(clip_transcript_of(session, runtime, current))
    response = render(
        request,
        "training/present.html",
        {
            **_reason_context(request, book, key, stated, urlencode({"at": at}) if at else ""),
            "collection": collection,
            "current": current,
            "at": at,
            "count": len(playable),
            "next": playable[at + 1].clip if at + 1 < len(playable) else None,
            "lines": lines,
            "notes": [(n.at_s - current.start_s, n.text) for n in current.notes] if current else [],
        },
        principal=principal,
    )
    _keep_reused(response, request, runtime, book, key, stated)
    return response


__all__ = ["router", "NOT_FOUND"]
