"""The edge of the app, before any route runs: request bodies are limited before they are read,
and the client's address is taken from forwarding headers only when a trusted proxy sent them.

Pure ASGI middleware (no BaseHTTPMiddleware), outermost, so nothing inside them (form parsing,
the CSRF check, signature checks) reads more than its route's limit or sees a forged address.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callvault.config import Settings
from callvault.errors import InvalidInput, TooLarge

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
    never read), or as soon as a streamed (chunked) body passes the limit.

    It also refuses (422) a NUL character in the path, the query or a form or JSON body: no
    text callvault keeps may hold one, and PostgreSQL refuses it with an error (a 500) wherever
    it reaches a query. Binary bodies (audio uploads) are not looked at."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or any(n in scope.get("query_string", b"") for n in NULS_URL):
            await _refuse(send, NUL_REFUSAL)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, _too_large(limit))
            return
        nuls = _nul_forms(scope)
        seen = 0
        tail = b""
        started = False
        refusal: tuple[int, str, str] | None = None

        async def limited_receive() -> Message:
            nonlocal seen, tail, refusal
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                seen += len(body)
                if seen > limit:
                    refusal = _too_large(limit)
                    raise BodyTooLarge(refusal[2])
                window = tail + body
                if nuls and any(n in window for n in nuls):
                    refusal = NUL_REFUSAL
                    raise InvalidInput(refusal[2])
                tail = window[-NUL_TAIL:]
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if refusal is not None:
                # Whatever the app made of a refused body (FastAPI says 400, "error parsing the
                # body"), the answer is the refusal.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _refuse(send, refusal)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except Exception:
            # The body was read outside the routes' error handlers (a middleware, which may wrap
            # the error in an ExceptionGroup): answered here.
            if refusal is None or started:
                raise
            await _refuse(send, refusal)


NUL_REFUSAL = (422, InvalidInput.code, "the request holds a NUL character")
NULS_URL = (b"%00", b"\x00")
NUL_TAIL = 5  # bytes kept from the previous chunk, so "\\u0000" split across chunks is seen


def _nul_forms(scope: Scope) -> tuple[bytes, ...]:
    """How a NUL is written in this body's type; nothing for bodies that are not text."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            kind = value.decode("latin-1").split(";", 1)[0].strip().lower()
            if kind == "application/x-www-form-urlencoded":
                return NULS_URL
            if kind == "application/json" or kind.endswith("+json"):
                return (b"\\u0000", b"\x00")
    return ()


def _too_large(limit: int) -> tuple[int, str, str]:
    return (413, TooLarge.code, f"the request body is over the limit of {limit} bytes")


def _content_length(scope: Scope) -> int | None:
    """The declared length; an unreadable one counts as too large (it cannot be trusted)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit() or len(text) > MAX_DECLARED_DIGITS:
                return 2**63
            return int(text)
    return None


async def _refuse(send: Send, refusal: tuple[int, str, str]) -> None:
    status, code, message = refusal
    body = json.dumps({"error": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- the client's address behind trusted proxies ------------------------------------------------

Network = IPv4Network | IPv6Network
INVALID_ADDRESS = "invalid"


def client_host(value: str | None) -> str:
    """An address as the login throttle and the audit trail keep it: a valid IP address in its
    short form, "unknown" when there is none, and "invalid" for anything else (`a@b`)."""
    if not value:
        return "unknown"
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ip_address(text).compressed
    except ValueError:
        return INVALID_ADDRESS


def _trusted(host: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _forwarded_chain(headers: list[tuple[bytes, bytes]]) -> tuple[list[str], str | None]:
    """The addresses a request passed through, first hop first, and the original scheme, from
    `Forwarded` (RFC 7239) if present, else `X-Forwarded-For` and `X-Forwarded-Proto`."""
    values: dict[bytes, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value.decode("latin-1"))
    if b"forwarded" in values:
        chain, proto = [], None
        for element in ",".join(values[b"forwarded"]).split(","):
            pairs = dict(
                (key.strip().lower(), raw.strip().strip('"'))
                for key, _, raw in (pair.partition("=") for pair in element.split(";"))
            )
            chain.append(_without_port(pairs.get("for", "")))
            proto = pairs.get("proto", proto)
        return chain, proto
    chain = [
        _without_port(item.strip())
        for item in ",".join(values.get(b"x-forwarded-for", [])).split(",")
        if item.strip()
    ]
    protos = values.get(b"x-forwarded-proto", [])
    return chain, protos[-1].split(",")[-1].strip() if protos else None


def _without_port(value: str) -> str:
    if value.startswith("["):  # "[2001:db8::17]:4711"
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:  # "192.0.2.60:4711"
        return value.split(":", 1)[0]
    return value


class TrustedProxies:
    """Only a request whose peer is a trusted proxy may say, through `X-Forwarded-For` or
    `Forwarded`, who the client is (and whether it came over https). The client is the last
    address in the chain that is not itself a trusted proxy; anything else keeps the peer."""

    def __init__(self, app: ASGIApp, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = scope.get("client")
        if scope["type"] in ("http", "websocket") and peer and _trusted(peer[0], self.networks):
            chain, proto = _forwarded_chain(scope.get("headers", []))
            if chain:
                client = next(
                    (hop for hop in reversed(chain) if not _trusted(hop, self.networks)), chain[0]
                )
                scope = {**scope, "client": (client_host(client), 0)}
            if proto in ("http", "https"):
                scope = {**scope, "scheme": proto if scope["type"] == "http" else scope["scheme"]}
        await self.app(scope, receive, send)
