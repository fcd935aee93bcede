"""Times every request by its route template, and serves `/metrics` on CALLVAULT_METRICS_BIND
(a separate address, without a token) when that is set."""

from __future__ import annotations

import time
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callvault.errors import ConfigurationError
from callvault.metrics.instruments import HTTP_REQUEST_DURATION
from callvault.runtime import Runtime

log = structlog.get_logger(__name__)

UNMATCHED = "unmatched"  # no route: raw paths would let anyone create label values


class RequestTimer:
    """Pure ASGI middleware: the route is known only after routing, so it is read at the end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            HTTP_REQUEST_DURATION.labels(
                method=scope.get("method", "GET"), route=route, status=f"{status // 100}xx"
            ).observe(time.perf_counter() - started)


def parse_bind(value: str) -> tuple[str, int]:
    """`host:port` or `:port` (all interfaces are never the default: give 0.0.0.0 to mean it)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError("CALLVAULT_METRICS_BIND must be host:port, e.g. 127.0.0.1:9464")
    return (host.strip("[]") or "127.0.0.1"), int(port)


def install(app: FastAPI) -> None:
    app.add_middleware(RequestTimer)
    runtime: Runtime = app.state.runtime
    bind = runtime.settings.metrics_bind
    if not bind:
        return
    host, port = parse_bind(bind)
    servers: list[Any] = []

    def _start() -> None:
        from prometheus_client import start_http_server

        from callvault.metrics.service import scrape_registry

        server, _thread = start_http_server(port, addr=host, registry=scrape_registry(runtime))
        servers.append(server)
        log.info("metrics_listening", host=host, port=port)

    def _stop() -> None:
        for server in servers:
            server.shutdown()
            server.server_close()

    app.router.add_event_handler("startup", _start)
    app.router.add_event_handler("shutdown", _stop)
