"""`POST /api/v1/recordings/{id}/marks` and the pseudonymisation status, by role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal, current_principal
from callvault.redaction.models import SensitiveMark
from callvault.runtime import Runtime
from callvault.worker.queue import immediate


def principal(role: str, kind: str = "account") -> Principal:
    return Principal(kind=kind, id=uuid.uuid4(), role=role, session_id=None)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    from callvault.app import create_app

    app = create_app(runtime)
    with TestClient(app) as test_client:
        test_client.app_state = app  # type: ignore[attr-defined]
        yield test_client


def as_(client: TestClient, who: Principal) -> TestClient:
    client.app_state.dependency_overrides[current_principal] = lambda: who  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize("role", ["agent", "qa_manager", "dpo"])
def test_people_mark_a_stored_recording_and_it_is_redone(
    client: TestClient,
    session: Session,
    stored_call: str,
    role: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued: list[str] = []
    monkeypatch.setattr("callvault.redaction.tasks.pseudonymise", queued.append)
    response = as_(client, principal(role)).post(
        f"/api/v1/recordings/{stored_call}/marks",
        json={"start": 1.0, "end": 2.5, "channel": "agent"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["reprocessing"] is True
    mark = session.query(SensitiveMark).one()
    assert (mark.start_s, mark.end_s, mark.channel) == (1.0, 2.5, 0)
    assert queued == [stored_call]


def test_the_telephony_service_marks_a_call_in_progress_by_call_id(
    client: TestClient, session: Session
) -> None:
    telephony = principal("service:telephony", kind="service")
    response = as_(client, telephony).post(
        "/api/v1/recordings/call-in-progress-1/marks", json={"start": 3, "end": 4}
    )
    assert response.status_code == 201
    assert response.json()["reprocessing"] is False
    assert session.query(SensitiveMark).one().call_id == "call-in-progress-1"


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        (principal("it_admin"), {"start": 1, "end": 2}, 403),
        (principal("training_manager"), {"start": 1, "end": 2}, 403),
        (principal("agent"), {"start": 1, "end": 2}, 404),  # unknown recording
        (principal("service:telephony", "service"), {"start": 2, "end": 1}, 422),
    ],
)
def test_marks_are_refused_for_other_roles_and_bad_intervals(
    client: TestClient, session: Session, who: Principal, body: dict[str, float], status: int
) -> None:
    response = as_(client, who).post(f"/api/v1/recordings/{uuid.uuid4()}/marks", json=body)
    assert response.status_code == status
    assert session.query(SensitiveMark).count() == 0


def test_status_shows_the_job_without_personal_data(
    client: TestClient, runtime: Runtime, stored_call: str
) -> None:
    from callvault.redaction.service import pseudonymise_recording
    from tests.redaction.conftest import ScriptedRecogniser, words

    pseudonymise_recording(
        runtime, uuid.UUID(stored_call), recogniser=ScriptedRecogniser([words("hej", 0.5), []])
    )
    response = as_(client, principal("dpo")).get(
        f"/api/v1/recordings/{stored_call}/pseudonymisation"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done" and body["error_code"] is None
    assert (
        as_(client, principal("agent"))
        .get(f"/api/v1/recordings/{stored_call}/pseudonymisation")
        .status_code
        == 403
    )


def test_the_task_runs_the_job_for_a_recording_id(
    runtime: Runtime, stored_call: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callvault.redaction import service, tasks
    from tests.redaction.conftest import ScriptedRecogniser

    monkeypatch.setattr(service, "shared_recogniser", lambda settings: ScriptedRecogniser([[], []]))
    with immediate():
        tasks.pseudonymise(stored_call)
    with runtime.sessions() as s:
        view = service.job_status(s, uuid.UUID(stored_call))
    assert view is not None and view.status == "done"
