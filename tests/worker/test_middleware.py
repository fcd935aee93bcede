"""The embedded worker inside `callvault serve`: when it runs, and that the app installs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from callvault.config import Settings
from callvault.runtime import Runtime
from callvault.worker import middleware


@pytest.mark.parametrize(
    ("env", "embedded", "queue_url", "expected"),
    [
        ("development", True, None, True),
        ("production", True, None, True),
        ("development", False, None, False),
        ("test", True, None, False),
        ("development", True, "redis://127.0.0.1:6379/0", False),
    ],
)
def test_should_embed(
    runtime: Runtime, env: str, embedded: bool, queue_url: str | None, expected: bool
) -> None:
    runtime.settings = Settings(
        env=env, data_dir=runtime.settings.data_dir, embedded_worker=embedded, queue_url=queue_url
    )
    assert middleware.should_embed(runtime) is expected


def test_install_adds_startup_and_shutdown_hooks(runtime: Runtime) -> None:
    app = FastAPI()
    app.state.runtime = runtime
    middleware.install(app)
    assert len(app.router.on_startup) == 1 and len(app.router.on_shutdown) == 1
    app.router.on_startup[0]()  # env "test": does not start a thread
    assert not app.state.embedded_worker.running


def test_the_embedded_worker_runs_while_the_app_runs(runtime: Runtime, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from callvault.worker.queue import huey

    before = huey.url
    runtime.settings = Settings(
        env="development",
        data_dir=tmp_path / "var",
        queue_url=f"sqlite:///{tmp_path / 'queue.db'}",
    )
    app = FastAPI()
    app.state.runtime = runtime
    middleware.install(app)
    try:
        with TestClient(app):
            assert app.state.embedded_worker.running
        assert not app.state.embedded_worker.running
    finally:
        huey.use(before)
