"""`POST /api/v1/recordings`: a platform posts a consented call (multipart audio + JSON meta)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from callvault.accounts.auth import client_address
from callvault.config import Settings
from callvault.deps import RuntimeDep, SessionDep
from callvault.errors import AuthenticationFailed, InvalidInput, TooLarge

router = APIRouter(prefix="/api/v1/recordings", tags=["recordings"])

META_LIMIT = 256 * 1024  # the JSON metadata part
ENVELOPE_SLACK = 64 * 1024  # multipart boundaries and headers


def ingest_body_limit(settings: Settings) -> int:
    """The largest ingest request: the audio limit, the metadata part and the envelope."""
    return settings.max_upload_bytes + META_LIMIT + ENVELOPE_SLACK


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("a bearer API token with the ingest scope is required")
    return token.strip()


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, refused as soon as it passes `limit` (while streaming, not after)."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise TooLarge(f"the upload is over the limit of {limit} bytes")
        yield chunk


@router.post(
    "",
    status_code=201,
    summary="Ingest a consented call recording",
    responses={
        200: {"description": "The same call id with the same audio and metadata: already there"},
        401: {},
        409: {},
        413: {},
        415: {},
        422: {},
        503: {},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["audio", "meta"],
                        "properties": {
                            "audio": {"type": "string", "format": "binary"},
                            "meta": {"type": "string", "description": "ingest metadata JSON"},
                        },
                    }
                }
            },
        }
    },
)
async def ingest(request: Request, runtime: RuntimeDep, session: SessionDep) -> JSONResponse:
    """201 with `{id, state, created: true}`; 200 with `created: false` for a repeat."""
    from callvault.accounts.tokens import authenticate_token, note_use_apart
    from callvault.recordings.service import ingest_recording, parse_metadata

    token = _bearer(request)
    account = await run_in_threadpool(authenticate_token, session, token, "ingest")
    account_id = account.id
    await run_in_threadpool(note_use_apart, runtime, account)
    # End this request's read transaction: on SQLite (WAL) a transaction that read before
    # another connection committed (the "last used" write just above) may not write later
    # ("database is locked", a 500 on the first ingest of each minute).
    await run_in_threadpool(session.rollback)
    limit = ingest_body_limit(runtime.settings)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the upload is over the limit of {runtime.settings.max_upload_bytes} bytes")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput("send multipart/form-data with the parts `audio` and `meta`")
    parser = MultiPartParser(
        request.headers,
        _limited(request, limit),
        max_files=2,
        max_fields=2,
        max_part_size=META_LIMIT,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(f"the multipart body is not acceptable ({exc.message})") from None
    try:
        audio: Any = form.get("audio")
        meta_part: Any = form.get("meta")
        if not isinstance(audio, UploadFile):
            raise InvalidInput("the part `audio` (a file) is missing")
        if meta_part is None:
            raise InvalidInput("the part `meta` (JSON) is missing")
        raw = (
            await meta_part.read(META_LIMIT + 1) if isinstance(meta_part, UploadFile) else meta_part
        )
        if len(raw) > META_LIMIT:
            raise TooLarge("the metadata part is too large")
        meta = parse_metadata(raw)
        source = client_address(request)
        result = await run_in_threadpool(
            ingest_recording,
            session,
            runtime,
            audio.file,
            meta,
            actor=f"service:{account_id}",
            source=source,
        )
    finally:
        await form.close()
    body = {"id": str(result.id), "state": str(result.state), "created": result.created}
    return JSONResponse(body, status_code=201 if result.created else 200)
