"""Recordings for managers (§6): the list their grants cover, and one recording with its consent
evidence, a waveform player marking masked intervals, and the transcript of the allowed variant.

Every read goes through `callvault.access.service` exactly as the JSON API does. The player's
audio streams through the access API's route function (HTTP Range included) from
`/recordings/{id}/audio`, which takes the reason stated for that recording from the
session-bound cookie (`web.stated_reasons`): a reason never appears in a URL, where a proxy's or
server's access log would keep it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from callvault.access import service as access
from callvault.access.api import AUDIO_KINDS, TRANSCRIPT_KINDS, RecordingOut
from callvault.access.grants import active_grants
from callvault.access.reasons import normalise_reason
from callvault.accounts.auth import Principal, client_address
from callvault.consent.models import ConsentEvidence
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import InvalidInput, NotFound
from callvault.inputs import filter_day
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime
from callvault.web.forms import Posted, text
from callvault.web.grants_pages import day_start
from callvault.web.i18n import gettext, using_language
from callvault.web.pages import Reviewer
from callvault.web.stated_reasons import StatedReason, keep_reason_book, reason_book
from callvault.web.templating import language_for, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25


# --- the list ---------------------------------------------------------------------------------


@router.get("/recordings", response_class=HTMLResponse)
def recordings_page(
    request: Request, principal: Reviewer, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """Only what the user's grants cover, newest first, filtered by date, agent and purpose."""
    query = request.query_params
    first, last = filter_day(query.get("from"), "from"), filter_day(query.get("until"), "until")
    filters = access.RecordingFilters(
        started_from=day_start(first) if first else None,
        started_until=day_start(last + timedelta(days=1)) if last else None,
        agent_id=(query.get("agent") or "").strip()[:128] or None,
        purpose=(query.get("purpose") or "").strip()[:40] or None,
    )
    cursor = (query.get("cursor") or "")[:200] or None
    try:
        page = access.visible_recordings(
            session,
            principal,
            filters=filters,
            page=access.PageRequest(PAGE_SIZE, cursor),
            now=runtime.clock.now(),
            audit_source=client_address(request),
            runtime=runtime,
        )
    except InvalidInput:
        page = access.visible_recordings(
            session,
            principal,
            filters=filters,
            page=access.PageRequest(PAGE_SIZE, None),
            now=runtime.clock.now(),
            audit_source=client_address(request),
            runtime=runtime,
        )
    grants = active_grants(session, principal, runtime.clock.now())
    kept = {k: v for k, v in query.items() if k in ("from", "until", "agent", "purpose") and v}
    return render(
        request,
        "recordings/list.html",
        {
            "rows": [RecordingOut.of(item) for item in page.items],
            "values": kept,
            "purposes": sorted({g.purpose_code for g in grants}),
            "has_grants": bool(grants),
            # only offered when it reveals nothing the grants hide
            "agent_filter": access.agent_filter_allowed(grants),
            "next_url": "?" + urlencode({**kept, "cursor": page.next_cursor})
            if page.next_cursor
            else None,
            "first_url": "?" + urlencode(kept) if cursor else None,
        },
        principal=principal,
    )


# --- one recording --------------------------------------------------------------------------


def _modes(
    session: Session, runtime: Runtime, principal: Principal, rid: uuid.UUID
) -> RecordingOut:
    visible = access.with_access_modes(
        session, [rid], active_grants(session, principal, runtime.clock.now())
    )
    if not visible:
        raise NotFound(access.NOT_FOUND)
    return RecordingOut.of(visible[0])


def _consent(session: Session, runtime: Runtime, rid: uuid.UUID) -> dict[str, Any] | None:
    from callvault.recordings.models import Recording

    recording = session.get(Recording, rid)
    if recording is None or recording.consent_evidence_id is None:
        return None
    evidence = session.get(ConsentEvidence, recording.consent_evidence_id)
    if evidence is None:
        return None
    version = session.get(PolicyVersion, evidence.policy_version_id)
    return {
        "digit": evidence.digit,
        "given_at": evidence.given_at,
        "policy_version": version.number if version else None,
        "prompt_version": evidence.prompt_version,
        "prompt_sha256": evidence.prompt_sha256,
        "language": evidence.language,
        "source": evidence.source,
    }


TURN_GAP_S = 1.0  # a pause longer than this starts a new line of the same speaker


def transcript_lines(document: Any) -> list[dict[str, Any]]:
    """A `callvault.transcript/1` document as dialogue lines {speaker, start, text}.

    Each channel's words are cut into turns at pauses, and the turns of both speakers are put in
    time order, so the page reads like the conversation.
    """
    if not isinstance(document, dict):
        return []
    lines: list[dict[str, Any]] = []
    for channel in document.get("channels") or []:
        if not isinstance(channel, dict):
            continue
        speaker = str(channel.get("role") or channel.get("channel", ""))
        words = [
            w
            for w in channel.get("words") or []
            if isinstance(w, dict)
            and str(w.get("text", "")).strip()
            and isinstance(w.get("start"), int | float)
        ]
        if not words and str(channel.get("text", "")).strip():
            lines.append({"speaker": speaker, "start": None, "text": str(channel["text"]).strip()})
            continue
        turn: list[dict[str, Any]] = []
        for word in words:
            if turn and float(word["start"]) - float(turn[-1].get("end", turn[-1]["start"])) > (
                TURN_GAP_S
            ):
                lines.append(_line(speaker, turn))
                turn = []
            turn.append(word)
        if turn:
            lines.append(_line(speaker, turn))
    return sorted(lines, key=lambda line: (line["start"] is None, line["start"] or 0.0))


def _line(speaker: str, words: list[dict[str, Any]]) -> dict[str, Any]:
    text = " ".join(str(w["text"]).strip() for w in words)
    return {"speaker": speaker, "start": float(words[0]["start"]), "text": text}


def masked_intervals(document: Any) -> list[dict[str, float]]:
    """Only the times of the masked spans (never what was said there), merged and sorted."""
    items: Any = document.get("spans", []) if isinstance(document, dict) else []
    spans = sorted(
        (float(i["start"]), float(i["end"]))
        for i in items
        if isinstance(i, dict)
        and isinstance(i.get("start"), int | float)
        and isinstance(i.get("end"), int | float)
        and i["end"] > i["start"]
    )
    merged: list[list[float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [{"start": round(s, 2), "end": round(e, 2)} for s, e in merged]


def _read_json(session: Session, runtime: Runtime, rid: uuid.UUID, kind: str) -> Any:
    from callvault.vault.service import has_artifact, open_artifact

    if not has_artifact(session, rid, kind):
        return None
    return json.loads(open_artifact(session, runtime, rid, kind).read())


def _recording_page(
    request: Request,
    principal: Principal,
    session: Session,
    runtime: Runtime,
    rid: uuid.UUID,
    *,
    stated: StatedReason | None,
    problems: list[str] | None = None,
    status_code: int = 200,
    reuse: StatedReason | None = None,
    values: StatedReason | None = None,
) -> HTMLResponse:
    metadata = _modes(session, runtime, principal, rid)
    playback: dict[str, Any] | None = None
    if stated is not None:
        from callvault.vault.service import has_artifact

        transcript = _read_json(session, runtime, rid, TRANSCRIPT_KINDS[stated.variant])
        playback = {
            "stated": stated,
            "audio_url": f"/recordings/{rid}/audio?{urlencode({'variant': stated.variant})}",
            "has_audio": has_artifact(session, rid, AUDIO_KINDS[stated.variant]),
            "transcript": transcript_lines(transcript) if transcript is not None else None,
            "masked": masked_intervals(_read_json(session, runtime, rid, "detections"))
            if stated.variant == "pseudonymised"
            else [],
        }
    modes = metadata.access
    shown = stated or values  # what the reason form is filled with
    return render(
        request,
        "recordings/detail.html",
        {
            "rec": metadata,
            "consent": _consent(session, runtime, rid),
            "playback": playback,
            "masked_json": json.dumps(playback["masked"]) if playback else "[]",
            "purposes": sorted({m.purpose for m in modes}),
            "variants": [
                v for v in ("pseudonymised", "original") if v in {m.variant for m in modes}
            ],
            "problems": problems or [],
            "reusing": reuse is not None,
            "values": {
                "purpose": shown.purpose if shown else "",
                "variant": shown.variant if shown else "pseudonymised",
                "reason": shown.reason if shown else "",
            },
        },
        principal=principal,
        status_code=status_code,
    )


def _usable(stated: StatedReason | None, metadata: RecordingOut) -> bool:
    return stated is not None and any(
        m.purpose == stated.purpose and m.variant == stated.variant for m in metadata.access
    )


@router.get("/recordings/{recording_id}", response_class=HTMLResponse)
def recording_page(
    recording_id: str,
    request: Request,
    principal: Reviewer,
    session: SessionDep,
    runtime: RuntimeDep,
    change: str = "",
) -> Response:
    """Unknown ids and ids outside one's grants give the same "not found" (and are audited).

    The transcript and player show under the reason stated for this recording, or under the
    reason the person chose to reuse for the same task (then the page says so); `?change=1`
    asks for the reason again."""
    access.authorize(
        session,
        runtime,
        principal,
        recording_id,
        variant=None,
        purpose=None,
        reason=None,
        action="recording.view",
        source=client_address(request),
    )
    rid = _recording_uuid(recording_id)
    book = reason_book(request, runtime, principal)
    metadata = _modes(session, runtime, principal, rid)
    stated = book.for_recording(str(rid))
    if not _usable(stated, metadata):
        stated = None
    if stated is None and book.reuse is not None and _usable(book.reuse, metadata):
        stated = replace(book.reuse, reused=True)
    if change:
        return _recording_page(
            request, principal, session, runtime, rid, stated=None, reuse=book.reuse, values=stated
        )
    if stated is not None:
        access.authorize(
            session,
            runtime,
            principal,
            rid,
            variant=stated.variant,
            purpose=stated.purpose,
            reason=stated.reason,
            action="recording.transcript",
            source=client_address(request),
        )
        book.remember(str(rid), stated)  # the player's audio is heard under this reason
    response = _recording_page(
        request, principal, session, runtime, rid, stated=stated, reuse=book.reuse
    )
    if stated is not None and stated.reused:
        keep_reason_book(response, request, runtime, book)
    return response


@router.get("/recordings/{recording_id}/audio")
def recording_audio(
    recording_id: str,
    request: Request,
    principal: Reviewer,
    session: SessionDep,
    runtime: RuntimeDep,
    variant: Literal["pseudonymised", "original"],
) -> Response:
    """The player's audio, under the purpose and reason stated for this recording and `variant`.

    Without one (or for another variant) the access rules refuse it, audited, as they refuse an
    API call without a reason.
    """
    from callvault.access.api import get_audio

    stated = reason_book(request, runtime, principal).for_recording(recording_id)
    matches = stated is not None and stated.variant == variant
    return get_audio(
        recording_id,
        principal,
        request,
        session,
        runtime,
        variant=variant,
        purpose=stated.purpose if stated is not None else "",
        reason=stated.reason if stated is not None and matches else None,
        download=False,
        x_access_reason=None,
        range_=request.headers.get("range"),
    )


@router.post("/recordings/{recording_id}/reason", response_class=HTMLResponse)
def state_reason(
    recording_id: str,
    request: Request,
    principal: Reviewer,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """The reason for this recording, checked by the access rules. With `reuse` ticked it is
    also used for the next recordings of the same task, each page saying so."""
    stated = StatedReason(
        purpose=text(form, "purpose")[:40],
        variant=text(form, "variant")[:16],
        reason=normalise_reason(text(form, "reason")),
    )
    reuse = bool(text(form, "reuse"))
    try:
        access.authorize(
            session,
            runtime,
            principal,
            recording_id,
            variant=stated.variant,
            purpose=stated.purpose,
            reason=stated.reason,
            action="recording.transcript",
            source=client_address(request),
        )
    except InvalidInput as exc:
        session.rollback()
        with using_language(language_for(request, principal)):
            if "reason" in exc.message:
                problem = gettext(
                    "Give a reason of at least 10 visible characters: "
                    "two words or more, or at least 10 letters."
                )
            elif "purpose" in exc.message:
                problem = gettext("Choose the purpose of this access.")
            else:
                problem = gettext("Choose the variant your grant allows.")
        rid = _recording_uuid(recording_id)
        return _recording_page(
            request,
            principal,
            session,
            runtime,
            rid,
            stated=None,
            problems=[problem],
            status_code=422,
            values=stated,
            reuse=stated if reuse else None,
        )
    rid = _recording_uuid(recording_id)
    book = reason_book(request, runtime, principal)
    book.remember(str(rid), stated)
    book.reuse = stated if reuse else None
    response = _recording_page(
        request, principal, session, runtime, rid, stated=stated, reuse=book.reuse
    )
    keep_reason_book(response, request, runtime, book)
    return response


@router.post("/recordings/{recording_id}/leak-reports")
def report_leak(
    recording_id: str,
    request: Request,
    principal: Reviewer,
    session: SessionDep,
    runtime: RuntimeDep,
    form: Posted,
) -> Response:
    """ "I heard an identifier here" in the pseudonymised variant (§3): the moment gets a mark
    of ±1.5 s, the variant is masked again and every clip holding it goes back to review."""
    from fastapi.responses import RedirectResponse

    from callvault.training.leaks import report_leak_in_recording

    rid = _recording_uuid(recording_id)
    try:
        at = float(text(form, "at").replace(",", "."))
        if not at >= 0:
            raise ValueError
        report_leak_in_recording(
            session, runtime, principal, rid, at=at, source=client_address(request)
        )
    except (ValueError, InvalidInput):
        session.rollback()
        return RedirectResponse(f"/recordings/{rid}?leak=invalid#leak-report", status_code=303)
    return RedirectResponse(f"/recordings/{rid}?leak=reported#leak-report", status_code=303)


def _recording_uuid(recording_id: str) -> uuid.UUID:
    """A malformed id is "not found", like every other id one may not see."""
    try:
        return uuid.UUID(recording_id)
    except ValueError:
        raise NotFound(access.NOT_FOUND) from None
