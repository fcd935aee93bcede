"""Request bodies are limited before they are read: 413 on a large Content-Length without
reading a byte, and as soon as a chunked body passes the limit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callvault.app import create_app
from callvault.edge import SMALL_BODY, body_limit_for
from callvault.runtime import Runtime

CLAIMED = 300 * 1000 * 1000  # 300 MB


class Exchange:
    """Drives one ASGI request by hand, counting how much of the body the app asked for."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.read = 0
        self.status: int | None = None
        self.body = b""

    async def receive(self) -> dict[str, Any]:
        if self.read < len(self.chunks):
            chunk = self.chunks[self.read]
            self.read += 1
            return {
                "type": "http.request",
                "body": chunk,
                "more_body": self.read < len(self.chunks),
            }
        await asyncio.sleep(3600)  # a client that stalls: the app must not wait for it
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")


def run(app: Any, path: str, headers: list[tuple[bytes, bytes]], exchange: Exchange) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("203.0.113.9", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, exchange.receive, exchange.send), timeout=30))


FORM = (b"content-type", b"application/x-www-form-urlencoded")
JSON = (b"content-type", b"application/json")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/telephony/twilio/voice", FORM),
        ("/api/v1/session", JSON),
        ("/login", FORM),
        ("/api/v1/recordings", (b"content-type", b"multipart/form-data; boundary=x")),
    ],
)
def test_a_claimed_300_mb_body_is_refused_unread(
    path: str, kind: tuple[bytes, bytes], runtime: Runtime
) -> None:
    runtime.settings.max_upload_bytes = 10 * 1024 * 1024
    exchange = Exchange([b"x" * 1024] * 10)
    run(create_app(runtime), path, [kind, (b"content-length", str(CLAIMED).encode())], exchange)
    assert exchange.status == 413
    assert exchange.read == 0, "not one byte of the body was read"
    assert b'"too_large"' in exchange.body


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/telephony/twilio/voice", FORM), ("/api/v1/session", JSON), ("/login", FORM)],
)
def test_a_chunked_body_is_cut_off_at_the_limit(
    path: str, kind: tuple[bytes, bytes], runtime: Runtime
) -> None:
    chunks = [b"a=" + b"x" * 16 * 1024] + [b"x" * 16 * 1024] * 2000  # 32 MB, no length given
    exchange = Exchange(chunks)
    run(create_app(runtime), path, [kind], exchange)
    assert exchange.status == 413
    assert exchange.read <= SMALL_BODY // (16 * 1024) + 2, "reading stopped at the limit"


def test_a_malformed_content_length_is_refused(runtime: Runtime) -> None:
    exchange = Exchange([b"{}"])
    run(create_app(runtime), "/api/v1/session", [JSON, (b"content-length", b"9" * 4300)], exchange)
    assert exchange.status == 413 and exchange.read == 0


def test_limits_per_route(runtime: Runtime) -> None:
    runtime.settings.max_upload_bytes = 10 * 1024 * 1024
    limit = body_limit_for(runtime.settings)
    assert limit("POST", "/telephony/twilio/recording-status") == 64 * 1024
    assert limit("POST", "/api/v1/grants") == 64 * 1024
    assert limit("POST", "/api/v1/recordings") > 10 * 1024 * 1024
    assert limit("POST", "/api/v1/policy/versions/2/prompt-audio/sv") == 20 * 1024 * 1024
    assert limit("POST", "/api/v1/recordings/abc/marks") == 64 * 1024


def test_a_small_body_passes(runtime: Runtime) -> None:
    exchange = Exchange([b'{"email": "nobody@example.org", "password": "x"}'])
    run(create_app(runtime), "/api/v1/session", [JSON], exchange)
    assert exchange.status == 401
