"""A real `callvault serve` on SQLite in a temporary data directory, with a signed-in session for
every role and a service token for every scope, for contract tests from outside."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from callvault.accounts import service as accounts
from callvault.accounts.csrf import token_for_session
from callvault.accounts.roles import Role
from callvault.accounts.sessions import cookie_spec, open_session
from callvault.accounts.tokens import TOKEN_SCOPES, create_service_token
from callvault.config import Settings
from callvault.db import transaction
from callvault.runtime import Runtime
from callvault.setup import initialise

PASSWORD = "Contract-Harbour-Lantern-58"  # noqa: S105 (synthetic test password)
REPO = Path(__file__).resolve().parents[2]


@dataclass
class RunningServer:
    base_url: str
    # credential name -> headers that sign a request in as it ("anonymous": none)
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _credentials(runtime: Runtime) -> dict[str, dict[str, str]]:
    settings = runtime.settings
    secret = settings.session_secret()
    cookie = cookie_spec(settings).name
    found: dict[str, dict[str, str]] = {"anonymous": {}}
    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        for role in Role:
            account = accounts.create_account(
                session,
                runtime,
                email=f"{role.value.replace('_', '-')}@example.org",
                role=role.value,
                password=PASSWORD,
                actor="system",
                source="cli",
            )
            opened = open_session(
                session,
                account=account,
                now=now,
                settings=settings,
                second_factor=True,
                source_hash=None,
            )
            found[role.value] = {
                "Cookie": f"{cookie}={opened.token}",
                "X-CSRF-Token": token_for_session(secret, str(opened.id)),
            }
        for scope in TOKEN_SCOPES:
            issued = create_service_token(session, runtime.clock, name=f"st-{scope}", scope=scope)
            found[f"service:{scope}"] = {"Authorization": f"Bearer {issued.token}"}
    return found


@contextmanager
def running_server(data_dir: Path) -> Iterator[RunningServer]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLVAULT_")}
    env.update(
        CALLVAULT_DATA_DIR=str(data_dir),
        CALLVAULT_ENV="development",
        CALLVAULT_EMBEDDED_WORKER="false",
        PYTHONPATH=str(REPO / "src"),
    )
    settings = Settings(data_dir=data_dir, env="development")
    runtime = Runtime.from_settings(settings)
    initialise(runtime)
    credentials = _credentials(runtime)
    runtime.engine.dispose()
    port = _free_port()
    command = "from callvault.cli import main; main()"
    server = subprocess.Popen(  # noqa: S603 (our interpreter, our arguments)
        [sys.executable, "-c", command, "serve", "--port", str(port), "--no-init"],
        env=env,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=5)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("callvault serve did not start") from None
                time.sleep(0.3)
        yield RunningServer(base, credentials)
    finally:
        server.terminate()
        server.wait(timeout=30)
