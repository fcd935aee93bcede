"""GET /healthz: 200 when database, storage and keyring work; 503 naming the one that does not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from callvault.db import make_engine
from callvault.runtime import Runtime
from callvault.vault.keyring import LocalKeyring
from callvault.vault.storage import FileBlobStore


def _break_keyring(rt: Runtime, tmp_path: Path) -> None:
    assert isinstance(rt.keyring, LocalKeyring)
    rt.keyring.path.unlink()


def _break_storage(rt: Runtime, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    rt.__dict__["blobs"] = FileBlobStore(blocker / "blobs")


def _break_database(rt: Runtime, tmp_path: Path) -> None:
    rt.engine = make_engine(f"sqlite:///{tmp_path}")  # a directory cannot be opened as a database


@pytest.mark.parametrize(
    ("breaker", "failed"),
    [
        (None, []),
        (_break_keyring, ["keyring"]),
        (_break_storage, ["storage"]),
        (_break_database, ["database"]),
    ],
    ids=["healthy", "keyring", "storage", "database"],
)
def test_healthz_reports_which_dependency_failed(
    runtime: Runtime,
    tmp_path: Path,
    breaker: Callable[[Runtime, Path], None] | None,
    failed: list[str],
) -> None:
    from callvault.app import create_app

    runtime.keyring.ensure()
    if breaker:
        breaker(runtime, tmp_path)
    with TestClient(create_app(runtime)) as client:
        reply = client.get("/healthz")
    body = reply.json()
    if failed:
        assert reply.status_code == 503
        assert body["status"] == "unavailable" and body["failed"] == failed
    else:
        assert reply.status_code == 200
        assert body == {
            "status": "ok",
            "checks": {"database": "ok", "storage": "ok", "keyring": "ok"},
        }
