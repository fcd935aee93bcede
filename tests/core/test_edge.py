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


# --- trusted proxies ----------------------------------------------------------------------------


def _seen_client(peer: str, headers: dict[str, str], trusted: str = "") -> tuple[str | None, str]:
    """The client address and scheme an app sees behind TrustedProxies."""
    from ipaddress import ip_network

    from callvault.edge import TrustedProxies

    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["client"], seen["scheme"] = scope["client"][0], scope["scheme"]

    networks = tuple(ip_network(n.strip(), strict=False) for n in trusted.split(",") if n.strip())
    scope = {
        "type": "http",
        "scheme": "http",
        "client": (peer, 1234),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(TrustedProxies(app, networks)(scope, None, None))  # type: ignore[arg-type]
    return seen["client"], seen["scheme"]


@pytest.mark.parametrize(
    ("peer", "headers", "trusted", "client"),
    [
        # uvicorn's default believed 127.0.0.1; without CALLVAULT_TRUSTED_PROXIES nobody is
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.7"}, "", "127.0.0.1"),
        ("203.0.113.9", {"X-Forwarded-For": "198.51.100.7"}, "127.0.0.1", "203.0.113.9"),
        ("127.0.0.1", {"X-Forwarded-For": "198.51.100.7"}, "127.0.0.1", "198.51.100.7"),
        # a client's own X-Forwarded-For is the left part of the chain: the proxy's hop wins
        (
            "10.0.0.2",
            {"X-Forwarded-For": "192.0.2.1, 198.51.100.7, 10.0.0.3"},
            "10.0.0.0/8",
            "198.51.100.7",
        ),
        (
            "10.0.0.2",
            {"Forwarded": 'for="[2001:db8::17]:4711";proto=https'},
            "10.0.0.0/8",
            "2001:db8::17",
        ),
        ("10.0.0.2", {"Forwarded": "for=192.0.2.60:80, for=10.0.0.9"}, "10.0.0.0/8", "192.0.2.60"),
        ("127.0.0.1", {"X-Forwarded-For": "a@b"}, "127.0.0.1", "invalid"),
        ("::1", {}, "::1", "::1"),
    ],
)
def test_only_trusted_proxies_say_who_the_client_is(
    peer: str, headers: dict[str, str], trusted: str, client: str
) -> None:
    assert _seen_client(peer, headers, trusted)[0] == client


def test_a_trusted_proxy_says_the_scheme() -> None:
    headers = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    assert _seen_client("127.0.0.1", headers, "127.0.0.1")[1] == "https"
    assert _seen_client("127.0.0.1", headers, "")[1] == "http"


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("a@b", "invalid"),
        (None, "unknown"),
    ],
)
def test_client_host_keeps_only_addresses(raw: str | None, kept: str) -> None:
    from callvault.edge import client_host

    assert client_host(raw) == kept


def test_a_malformed_trusted_proxy_list_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from callvault.config import Settings
    from callvault.errors import ConfigurationError

    monkeypatch.setenv("CALLVAULT_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example")
    with pytest.raises(ConfigurationError):
        Settings()


def test_serve_runs_uvicorn_without_its_proxy_headers() -> None:
    from callvault.cli import UVICORN_OPTIONS

    assert UVICORN_OPTIONS["proxy_headers"] is False
    assert UVICORN_OPTIONS["access_log"] is False


# --- NUL characters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "kind", "chunks"),
    [
        ("/api/v1/audit", b"actor=%00", JSON, []),
        ("/login", b"", FORM, [b"email=a%00%40example.org&password=x"]),
        ("/api/v1/session", b"", JSON, [b'{"email": "a\\u0000@example.org", "password": "x"}']),
        # split across chunks, as a streamed body may be
        (
            "/api/v1/session",
            b"",
            JSON,
            [b'{"email": "a\\u00', b'00@example.org", "password": "x"}'],
        ),
    ],
)
def test_a_nul_in_the_query_or_a_text_body_is_refused(
    path: str, query: bytes, kind: tuple[bytes, bytes], chunks: list[bytes], runtime: Runtime
) -> None:
    exchange = Exchange(chunks)
    run_query(create_app(runtime), path, query, [kind], exchange)
    assert exchange.status == 422
    assert b'"invalid_input"' in exchange.body


def test_binary_bodies_are_not_searched_for_nuls(runtime: Runtime) -> None:
    exchange = Exchange([b"--x\r\n\x00\x00\x00audio\r\n--x--\r\n"])
    multipart = (b"content-type", b"multipart/form-data; boundary=x")
    run(create_app(runtime), "/api/v1/recordings", [multipart], exchange)
    assert exchange.status == 401  # no bearer token: the body got as far as the route


def run_query(
    app: Any, path: str, query: bytes, headers: list[tuple[bytes, bytes]], exchange: Exchange
) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST" if exchange.chunks else "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("203.0.113.9", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, exchange.receive, exchange.send), timeout=30))


# --- the public URL serve hands out ---------------------------------------------------------------


def test_serve_points_links_at_its_own_port_unless_a_public_url_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from callvault.cli import served_settings
    from callvault.config import Settings

    monkeypatch.delenv("CALLVAULT_PUBLIC_URL", raising=False)
    assert served_settings(Settings(), "127.0.0.1", 8840).public_url == "http://127.0.0.1:8840"
    assert served_settings(Settings(), "0.0.0.0", 8080).public_url == "http://127.0.0.1:8080"  # noqa: S104
    monkeypatch.setenv("CALLVAULT_PUBLIC_URL", "https://callvault.example")
    assert served_settings(Settings(), "0.0.0.0", 8080).public_url == "https://callvault.example"  # noqa: S104
