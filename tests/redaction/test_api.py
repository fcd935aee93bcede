"""`POST /api/v1/recordings/{id}/marks` and the pseudonymisation status, by role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal, current_principal
from callvault.accounts.roles import Role
from callvault.recordings.models import Recording
from callvault.redaction.models import SensitiveMark
from callvault.runtime import Runtime
from callvault.worker.queue import immediate
from tests.access import conftest as access_fixtures
from tests.access.conftest import MakeGrant, MakeRecording, principal_of
from tests.accounts.conftest import MakeAccount

# accounts, recordings and grants as the access tests make them
keyring_ready = access_fixtures.keyring_ready
make_account = access_fixtures.make_account
make_recording = access_fixtures.make_recording
make_grant = access_fixtures.make_grant
dpo = access_fixtures.dpo


def principal(role: str, kind: str = "account") -> Principal:
    return Principal(kind=kind, id=uuid.uuid4(), role=role, session_id=None)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    from callvault.app import create_app

    app = create_app(runtime)
    with TestClient(app) as test_client:
        yield test_client


def as_(client: TestClient, who: Principal) -> TestClient:
    cast(FastAPI, client.app).dependency_overrides[current_principal] = lambda: who
    return client


@pytest.mark.parametrize(
    ("role", "told"),
    [("dpo", True), ("qa_manager", True), ("agent", False)],
    ids=["dpo", "qa-manager-with-a-grant", "agent-not-told-whether-it-exists"],
)
def test_people_mark_a_stored_recording_and_it_is_redone(
    client: TestClient,
    session: Session,
    stored_call: str,
    make_account: MakeAccount,
    make_grant: MakeGrant,
    role: str,
    told: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued: list[str] = []
    monkeypatch.setattr("callvault.redaction.tasks.pseudonymise", queued.append)
    who = principal(role)
    if role == "qa_manager":
        account = make_account(Role.QA_MANAGER)
        make_grant(account)
        who = principal_of(account)
    if role == "agent":  # an agent marks only a call they handled
        session.get(Recording, uuid.UUID(stored_call)).agent_id = str(who.id)  # type: ignore[union-attr]
        session.flush()
    response = as_(client, who).post(
        f"/api/v1/recordings/{stored_call}/marks",
        json={"start": 1.0, "end": 2.5, "channel": "agent"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["reprocessing"] is told
    mark = session.query(SensitiveMark).one()
    assert (mark.start_s, mark.end_s, mark.channel) == (1.0, 2.5, 0)
    assert queued == [stored_call]


def test_a_manager_without_a_grant_cannot_mark_or_probe(
    client: TestClient, session: Session, stored_call: str, make_account: MakeAccount
) -> None:
    manager = as_(client, principal_of(make_account(Role.QA_MANAGER)))
    real = manager.post(f"/api/v1/recordings/{stored_call}/marks", json={"start": 1, "end": 2})
    unknown = manager.post(f"/api/v1/recordings/{uuid.uuid4()}/marks", json={"start": 1, "end": 2})
    assert real.status_code == unknown.status_code == 404
    assert real.json() == unknown.json()
    assert session.query(SensitiveMark).count() == 0


def test_an_agent_gets_the_same_answer_for_anothers_recording_and_an_unknown_one(
    client: TestClient, session: Session, stored_call: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[str] = []
    monkeypatch.setattr("callvault.redaction.tasks.pseudonymise", queued.append)
    agent = as_(client, principal("agent"))  # not the agent of the stored call
    real = agent.post(f"/api/v1/recordings/{stored_call}/marks", json={"start": 1, "end": 2})
    unknown = agent.post(f"/api/v1/recordings/{uuid.uuid4()}/marks", json={"start": 1, "end": 2})
    assert real.status_code == unknown.status_code == 404
    assert real.json() == unknown.json()
    assert session.query(SensitiveMark).count() == 0 and queued == []


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


@pytest.fixture
def recording_with_job(session: Session, runtime: Runtime, make_recording: MakeRecording) -> str:
    from callvault.redaction.service import queue_job

    recording = make_recording(artifacts=False)
    queue_job(session, runtime, recording.id)
    return str(recording.id)


@pytest.mark.parametrize("role", ["dpo", "it_admin"])
def test_operators_see_the_status_of_any_recording(
    client: TestClient, recording_with_job: str, role: str
) -> None:
    response = as_(client, principal(role)).get(
        f"/api/v1/recordings/{recording_with_job}/pseudonymisation"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "queued"


@pytest.mark.parametrize("role", [Role.QA_MANAGER, Role.TRAINING_MANAGER])
def test_a_manager_without_a_grant_cannot_tell_a_real_recording_from_an_unknown_id(
    client: TestClient, make_account: MakeAccount, recording_with_job: str, role: Role
) -> None:
    manager = as_(client, principal_of(make_account(role)))
    real = manager.get(f"/api/v1/recordings/{recording_with_job}/pseudonymisation")
    unknown = manager.get(f"/api/v1/recordings/{uuid.uuid4()}/pseudonymisation")
    assert real.status_code == unknown.status_code == 404
    assert real.json() == unknown.json()


def test_a_manager_sees_the_status_of_a_recording_their_grant_covers(
    client: TestClient,
    make_account: MakeAccount,
    make_grant: MakeGrant,
    recording_with_job: str,
) -> None:
    account = make_account(Role.QA_MANAGER)
    make_grant(account, variant="pseudonymised")
    response = as_(client, principal_of(account)).get(
        f"/api/v1/recordings/{recording_with_job}/pseudonymisation"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
