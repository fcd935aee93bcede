"""/api/v1/policy: the published versions and Art. 13 information (public), drafts and approval
(DPO only), and the recorded consent prompts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from callvault.accounts.auth import Principal, require_roles
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import InvalidInput, TooLarge
from callvault.policy import drafts as draft_service
from callvault.policy.art13 import art13_information
from callvault.policy.models import PolicyDraft, PolicyVersion
from callvault.policy.prompt_audio import (
    MAX_PROMPT_BYTES,
    current_prompt_audio,
    read_prompt_audio,
    upload_prompt_audio,
)
from callvault.policy.purposes import PurposeSpec
from callvault.policy.service import published_versions, version_by_number, version_in_force

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])

#: The DPO alone proposes and approves purpose changes (§2). Module-level so it is one object.
dpo_only = require_roles("dpo")
DpoDep = Annotated[Principal, Depends(dpo_only)]


class TextsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text_sv: str | None = None
    text_en: str | None = None
    prompt_sv: str | None = None
    prompt_en: str | None = None
    employee_basis_sv: str | None = None
    employee_basis_en: str | None = None

    def given(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    change_note: Annotated[str, Field(min_length=3, max_length=4000)]
    purposes: list[PurposeSpec] | None = None
    texts: TextsIn | None = None


class DraftPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    change_note: Annotated[str | None, Field(min_length=3, max_length=4000)] = None
    purposes: list[PurposeSpec] | None = None
    texts: TextsIn | None = None


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_from: datetime | None = None


def version_summary(version: PolicyVersion, in_force_id: uuid.UUID | None) -> dict[str, Any]:
    """What anyone may read about a version (the approving DPO's account id stays internal)."""
    return {
        "number": version.number,
        "effective_from": version.effective_from.isoformat(),
        "in_force": version.id == in_force_id,
        "change_note": version.change_note,
        "approved_by_dpo": version.approved_by is not None,
        "purposes": [PurposeSpec.of(p).model_dump() for p in version.purposes],
    }


def version_document(
    session: Any, runtime: Any, version: PolicyVersion, in_force_id: uuid.UUID | None
) -> dict[str, Any]:
    """A version in full: texts and prompts with the organisation's identity filled in, and
    the templates as stored."""
    from callvault.policy.art13 import employee_basis
    from callvault.policy.identity import identity_in_force
    from callvault.policy.texts import one_line

    identity = identity_in_force(session, runtime.settings)
    return {
        **version_summary(version, in_force_id),
        "text": {
            "sv": identity.fill(version.text_sv, "sv"),
            "en": identity.fill(version.text_en, "en"),
        },
        "prompt": {
            "sv": one_line(identity.fill(version.prompt_sv, "sv")),
            "en": one_line(identity.fill(version.prompt_en, "en")),
        },
        "templates": {
            "text": {"sv": version.text_sv, "en": version.text_en},
            "prompt": {"sv": version.prompt_sv, "en": version.prompt_en},
        },
        "employee_basis": {
            "sv": identity.fill(employee_basis(version, "sv"), "sv"),
            "en": identity.fill(employee_basis(version, "en"), "en"),
            "checked_by_dpo": version.employee_basis_sv is not None,
        },
    }


def draft_document(session: Any, draft: PolicyDraft) -> dict[str, Any]:
    changes = draft_service.draft_changes(session, draft)
    return {
        "id": str(draft.id),
        "state": draft.state,
        "change_note": draft.change_note,
        "purposes": draft.purposes,
        "texts": {f: getattr(draft, f) for f in draft_service.TEXT_FIELDS},
        "created_by": str(draft.created_by),
        "created_at": draft.created_at.isoformat(),
        "updated_at": draft.updated_at.isoformat(),
        "decided_at": draft.decided_at.isoformat() if draft.decided_at else None,
        "changes": {
            "added": changes.added,
            "removed": changes.removed,
            "changed": changes.changed,
            "retention": {k: list(v) for k, v in changes.retention.items()},
            "texts": changes.texts,
        },
    }


def _in_force_id(session: Any, runtime: Any) -> uuid.UUID | None:
    versions = published_versions(session, runtime.clock.now())
    return versions[0].id if versions else None


@router.get("/versions")
def list_versions(session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Every published version, newest first (approved ones not yet in force included)."""
    current = _in_force_id(session, runtime)
    return {"versions": [version_summary(v, current) for v in published_versions(session)]}


@router.get("/versions/current")
def current_version(session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    version = version_in_force(session, runtime.clock.now())
    return version_document(session, runtime, version, version.id)


@router.get("/versions/{number}")
def get_version(number: int, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    return version_document(
        session, runtime, version_by_number(session, number), _in_force_id(session, runtime)
    )


@router.get("/art13")
def get_art13(
    session: SessionDep,
    runtime: RuntimeDep,
    audience: Literal["caller", "employee"] = "caller",
    language: Literal["sv", "en"] = "sv",
) -> dict[str, object]:
    return art13_information(session, runtime, audience, language)


@router.get("/drafts")
def list_drafts(
    session: SessionDep,
    principal: DpoDep,
    state: Annotated[Literal["open", "approved", "discarded"] | None, Query()] = "open",
) -> dict[str, Any]:
    return {
        "drafts": [draft_document(session, d) for d in draft_service.list_drafts(session, state)]
    }


@router.post("/drafts", status_code=201)
def create_draft(
    body: DraftIn, session: SessionDep, runtime: RuntimeDep, principal: DpoDep
) -> dict[str, Any]:
    draft = draft_service.create_draft(
        session,
        runtime,
        actor=principal,
        change_note=body.change_note,
        purposes=body.purposes,
        texts=body.texts.given() if body.texts else None,
    )
    return draft_document(session, draft)


@router.get("/drafts/{draft_id}")
def get_draft(draft_id: uuid.UUID, session: SessionDep, principal: DpoDep) -> dict[str, Any]:
    return draft_document(session, draft_service.get_draft(session, draft_id))


@router.patch("/drafts/{draft_id}")
def update_draft(
    draft_id: uuid.UUID,
    body: DraftPatch,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: DpoDep,
) -> dict[str, Any]:
    draft = draft_service.update_draft(
        session,
        runtime,
        draft_id,
        actor=principal,
        change_note=body.change_note,
        purposes=body.purposes,
        texts=body.texts.given() if body.texts else None,
    )
    return draft_document(session, draft)


@router.post("/drafts/{draft_id}/approve", status_code=201)
def approve_draft(
    draft_id: uuid.UUID,
    body: ApproveIn,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: DpoDep,
) -> dict[str, Any]:
    version = draft_service.approve_draft(
        session, runtime, draft_id, actor=principal, effective_from=body.effective_from
    )
    return version_document(session, runtime, version, _in_force_id(session, runtime))


@router.post("/drafts/{draft_id}/discard")
def discard_draft(
    draft_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, principal: DpoDep
) -> dict[str, Any]:
    return draft_document(
        session, draft_service.discard_draft(session, runtime, draft_id, actor=principal)
    )


@router.post("/versions/{number}/prompt-audio/{language}", status_code=201)
async def upload_audio(
    number: int,
    language: Literal["sv", "en"],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: DpoDep,
) -> dict[str, Any]:
    """The raw body is the audio (Content-Type audio/wav or audio/mpeg)."""
    data = bytearray()
    async for chunk in request.stream():
        data.extend(chunk)
        if len(data) > MAX_PROMPT_BYTES:
            raise TooLarge("a prompt recording may be at most 20 MiB")
    if not data:
        raise InvalidInput("send the audio as the request body")
    version = version_by_number(session, number)
    row = upload_prompt_audio(
        session,
        runtime,
        version,
        language,
        data=bytes(data),
        media_type=request.headers.get("content-type", ""),
        uploaded_by=principal.id,
    )
    return {
        "id": str(row.id),
        "policy_version": version.number,
        "language": language,
        "sha256": row.sha256,
        "size": row.size,
        "url": f"/api/v1/policy/prompt-audio/{row.id}",
    }


@router.get("/versions/{number}/prompt-audio/{language}")
def describe_audio(
    number: int, language: Literal["sv", "en"], session: SessionDep
) -> dict[str, Any]:
    version = version_by_number(session, number)
    row = current_prompt_audio(session, version.id, language)
    if row is None:
        return {"policy_version": number, "language": language, "audio": None}
    return {
        "policy_version": number,
        "language": language,
        "audio": {
            "id": str(row.id),
            "sha256": row.sha256,
            "url": f"/api/v1/policy/prompt-audio/{row.id}",
        },
    }


@router.get("/prompt-audio/{audio_id}")
def serve_audio(audio_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Public: the telephony provider fetches the prompt from here for <Play>."""
    audio = read_prompt_audio(session, runtime, audio_id)
    return Response(
        audio.data,
        media_type=audio.media_type,
        headers={"ETag": f'"{audio.sha256}"', "Cache-Control": "public, max-age=86400, immutable"},
    )
