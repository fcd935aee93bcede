"""`POST /api/v1/withdrawals`: agents and the DPO only; one answer for known and unknown numbers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from callvault.accounts.auth import Principal, current_principal
from callvault.app import _callvault_error
from callvault.errors import CallvaultError
from callvault.runtime import Runtime
from callvault.withdrawal.api import router
from callvault.worker.queue import huey
from tests.retention.factory import RecordingFactory


def client_as(runtime: Runtime, role: str | None) -> TestClient:
    app = FastAPI()
    app.state.runtime = runtime
    app.add_exception_handler(CallvaultError, _callvault_error)
    app.include_router(router)
    if role is not None:
        principal = Principal(kind="account", id=uuid.uuid4(), role=role, session_id="s")
        app.dependency_overrides[current_principal] = lambda: principal
    return TestClient(app)


@pytest.fixture(autouse=True)
def queue_in_memory() -> Iterator[None]:
    before = huey.url
    huey.use("memory://")
    yield
    huey.use(before)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("agent", 202),
        ("dpo", 202),
        ("qa_manager", 403),
        ("training_manager", 403),
        ("it_admin", 403),
        ("service:ingest", 403),
        (None, 401),
    ],
)
def test_only_agents_and_the_dpo_may_register(
    vault_runtime: Runtime, role: str | None, status: int
) -> None:
    response = client_as(vault_runtime, role).post(
        "/api/v1/withdrawals", json={"number": "070-123 45 67"}
    )
    assert response.status_code == status


def test_known_and_unknown_numbers_get_the_same_answer(
    vault_runtime: Runtime, make_recording: RecordingFactory
) -> None:
    make_recording(number="+46701234567")
    client = client_as(vault_runtime, "agent")
    known = client.post("/api/v1/withdrawals", json={"number": "+46 70 123 45 67"})
    unknown = client.post("/api/v1/withdrawals", json={"number": "+46 70 999 99 99"})
    assert known.status_code == unknown.status_code == 202
    k, u = known.json(), unknown.json()
    assert set(k) == set(u) == {"reference", "status", "message"}
    assert (k["status"], k["message"]) == (u["status"], u["message"])
    assert k["reference"] != u["reference"]


@pytest.mark.parametrize(
    "body",
    [{}, {"number": "070-123 45 67", "call_reference": "CA1"}, {"number": "abc"}],
    ids=["neither", "both", "not-a-number"],
)
def test_refuses_a_request_it_cannot_act_on(vault_runtime: Runtime, body: dict[str, str]) -> None:
    response = client_as(vault_runtime, "dpo").post("/api/v1/withdrawals", json=body)
    assert response.status_code == 422
