"""`/api/v1/dsars`: DPO only; open, list, build, download, deliver and close over HTTP."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from callvault.accounts.auth import Principal, current_principal
from callvault.app import _callvault_error
from callvault.dsar.api import router
from callvault.errors import CallvaultError
from callvault.runtime import Runtime
from callvault.worker.queue import immediate
from tests.retention.factory import RecordingFactory


def client_as(runtime: Runtime, role: str) -> TestClient:
    app = FastAPI()
    app.state.runtime = runtime
    app.add_exception_handler(CallvaultError, _callvault_error)
    app.include_router(router)
    principal = Principal(kind="account", id=uuid.uuid4(), role=role, session_id="s")
    app.dependency_overrides[current_principal] = lambda: principal
    return TestClient(app)


@pytest.fixture
def run_jobs_now() -> Iterator[None]:
    with immediate():
        yield


@pytest.mark.parametrize("role", ["agent", "qa_manager", "training_manager", "it_admin"])
def test_only_the_dpo_may_handle_requests(vault_runtime: Runtime, role: str) -> None:
    client = client_as(vault_runtime, role)
    assert client.get("/api/v1/dsars").status_code == 403
    opened = client.post("/api/v1/dsars", json={"subject": "caller", "number": "070-123 45 67"})
    assert opened.status_code == 403


def test_the_dpo_takes_a_request_from_open_to_closed(
    vault_runtime: Runtime, make_recording: RecordingFactory, run_jobs_now: None
) -> None:
    recording = make_recording(number="+46701234567")
    client = client_as(vault_runtime, "dpo")

    opened = client.post(
        "/api/v1/dsars", json={"subject": "caller", "number": "070-123 45 67", "language": "en"}
    )
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["status"] == "open" and body["due_soon"] is False
    dsar = body["id"]
    assert [r["id"] for r in client.get("/api/v1/dsars").json()] == [dsar]

    assert client.post(f"/api/v1/dsars/{dsar}/build").status_code == 202
    shown = client.get(f"/api/v1/dsars/{dsar}").json()
    assert shown["status"] == "in_progress" and shown["built_at"]

    download = client.get(f"/api/v1/dsars/{dsar}/bundle")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert f"recordings/{recording.id}/audio.flac" in names

    assert client.post(f"/api/v1/dsars/{dsar}/deliver").json()["status"] == "delivered"
    assert client.post(f"/api/v1/dsars/{dsar}/build").status_code == 409
    assert client.post(f"/api/v1/dsars/{dsar}/close").json()["status"] == "closed"


@pytest.mark.parametrize(
    "body",
    [
        {"subject": "caller"},
        {"subject": "employee", "number": "070-123 45 67"},
        {"subject": "caller", "number": "070-123 45 67", "language": "de"},
        # year 1 at +14:00 is before year 1 in UTC: the insert overflowed (a 500)
        {"subject": "caller", "number": "070-123 45 67", "received_at": "0001-01-01T00:00+14:00"},
        {"subject": "caller", "number": "070-123 45 67", "received_at": "1700000000"},
    ],
    ids=[
        "caller-without-number",
        "employee-by-number",
        "unknown-language",
        "received-before-year-1",
        "received-as-a-number",
    ],
)
def test_open_refuses_a_malformed_request(vault_runtime: Runtime, body: dict[str, str]) -> None:
    assert client_as(vault_runtime, "dpo").post("/api/v1/dsars", json=body).status_code == 422


def test_unknown_request_is_404(vault_runtime: Runtime) -> None:
    client = client_as(vault_runtime, "dpo")
    assert client.get(f"/api/v1/dsars/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/api/v1/dsars/{uuid.uuid4()}/bundle").status_code == 404
