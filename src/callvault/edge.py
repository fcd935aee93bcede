"""The edge of the app, before any route runs: request bodies are limited before they are read.

Pure ASGI middleware (no BaseHTTPMiddleware), outermost, so nothing inside it (form parsing, the
CSRF check, signature checks) can read more than the limit of the route it is going to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callvault.config import Settings
from callvault.errors import TooLarge

SMALL_BODY = 64 * 1024  # webhooks, JSON and forms
INGEST_PATH = "/api/v1/recordings"
PROMPT_AUDIO = re.compile(r"^/api/v1/policy/versions/[^/]+/prompt-audio/[^/]+$")
MAX_DECLARED_DIGITS = 19


def body_limit_for(settings: Settings) -> Callable[[str, str], int]:
    """The most bytes a request body to `path` may have: the upload limit (with its metadata
    and multipart envelope) for ingest, the prompt-audio limit for prompt uploads, 64 KiB for
    everything else."""
    from callvault.policy.prompt_audio import MAX_PROMPT_BYTES
    from callvault.recordings.api import ingest_body_limit

    ingest = ingest_body_limit(settings)

    def limit(method: str, path: str) -> int:
        if method == "POST" and path.rstrip("/") == INGEST_PATH:
            return ingest
        if method == "POST" and PROMPT_AUDIO.match(path):
            return MAX_PROMPT_BYTES
        return SMALL_BODY

    return limit


class BodyTooLarge(TooLarge):
    """A streamed body passed its limit. Raised from `receive`, so a route reading the body
    answers 413 through the app's error handlers (a page for people, JSON for machines)."""


class BodyLimit:
    """413 for a body over its route's limit: at once when Content-Length says so (the body is
    never read), or as soon as a streamed (chunked) body passes the limit."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        seen = 0
        started = exceeded = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLarge(f"the request body is over the limit of {limit} bytes")
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # Whatever the app made of a cut-off body (FastAPI says 400, "error parsing the
                # body"), the answer is 413.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _too_large(send, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except Exception:
            # The body was read outside the routes' error handlers (a middleware, which may wrap
            # the error in an ExceptionGroup): answered here.
            if not (exceeded and not started):
                raise
            await _too_large(send, limit)


def _content_length(scope: Scope) -> int | None:
    """The declared length; an unreadable one counts as too large (it cannot be trusted)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit() or len(text) > MAX_DECLARED_DIGITS:
                return 2**63
            return int(text)
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {"error": TooLarge.code, "message": f"the request body is over the limit of {limit} bytes"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
