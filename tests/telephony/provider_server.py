"""A real HTTP server on 127.0.0.1 playing a Twilio-compatible provider's media and REST API."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Recordings/(?P<sid>[^/.]+)\.(?P<ext>\w+)$"
)


@dataclass
class ProviderState:
    """What the provider holds and what it was asked; tests arrange failures here."""

    account_sid: str
    auth_token: str
    recordings: dict[str, bytes] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    requests: list[tuple[str, str, bool]] = field(default_factory=list)  # method, sid, auth ok
    fail_fetches: int = 0  # answer the next N fetches with 503
    truncate_fetches: int = 0  # promise more bytes than sent on the next N fetches
    fail_deletes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fetches(self) -> int:
        return sum(1 for method, _, _ in self.requests if method == "GET")


def _handler(state: ProviderState) -> type[BaseHTTPRequestHandler]:
    expected_auth = (
        "Basic " + base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
    )

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _route(self) -> tuple[str, str] | None:
            match = PATH.match(self.path)
            authorised = self.headers.get("Authorization") == expected_auth
            with state.lock:
                state.requests.append((self.command, match["sid"] if match else "", authorised))
            if match is None or match["account"] != state.account_sid:
                self._send(404, b'{"code": 20404}')
                return None
            if not authorised:
                self._send(401, b'{"code": 20003}')
                return None
            return match["sid"], match["ext"]

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            route = self._route()
            if route is None:
                return
            sid, ext = route
            with state.lock:
                failing = state.fail_fetches > 0
                state.fail_fetches -= int(failing)
                truncating = not failing and state.truncate_fetches > 0
                state.truncate_fetches -= int(truncating)
                audio = state.recordings.get(sid)
            if failing:
                self._send(503, b'{"code": 20500}')
            elif audio is None or ext != "wav":
                self._send(404, b'{"code": 20404}')
            elif truncating:
                self.send_response(200)
                self.send_header("Content-Type", "audio/x-wav")
                self.send_header("Content-Length", str(len(audio)))
                self.end_headers()
                self.wfile.write(audio[: len(audio) // 2])
                self.close_connection = True
            else:
                self._send(200, audio, "audio/x-wav")

        def do_DELETE(self) -> None:  # noqa: N802
            route = self._route()
            if route is None:
                return
            sid, ext = route
            with state.lock:
                failing = state.fail_deletes > 0
                state.fail_deletes -= int(failing)
                present = not failing and state.recordings.pop(sid, None) is not None
                if present:
                    state.deleted.append(sid)
            if failing:
                self._send(500, b'{"code": 20500}')
            elif present and ext == "json":
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(404, b'{"code": 20404}')

    return Handler


@contextmanager
def provider_server(state: ProviderState) -> Iterator[str]:
    """Serve `state` on an ephemeral port; yields the API base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
