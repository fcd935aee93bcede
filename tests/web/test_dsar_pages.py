"""The DPO's access-request pages: open, build the bundle, deliver, close."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.dsar.models import DataSubjectRequest
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime
from callvault.worker.queue import immediate
from tests.web.conftest import Person, log_in
from tests.web.seed import add_recording


def test_the_dpo_opens_builds_delivers_and_closes_a_callers_request(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    add_recording(
        session, runtime, call_id="CA-dsar-1", started_at=runtime.clock.now() - timedelta(days=1)
    )
    token = log_in(client, runtime, people["dpo"])
    opened = client.post(
        "/dsars",
        data={"csrf_token": token, "kind": "caller", "number": "070-123 45 67", "language": "sv"},
    )
    assert opened.status_code == 200
    assert "Begäran om registerutdrag har sparats." in opened.text
    request = session.query(DataSubjectRequest).one()
    assert request.reference in opened.text
    with immediate():
        built = client.post(f"/dsars/{request.id}/build", data={"csrf_token": token})
    assert built.status_code == 200
    session.refresh(request)
    assert request.built_at is not None
    assert f"/api/v1/dsars/{request.id}/bundle" in client.get(f"/dsars/{request.id}").text
    client.post(f"/dsars/{request.id}/deliver", data={"csrf_token": token})
    closed = client.post(f"/dsars/{request.id}/close", data={"csrf_token": token})
    assert re.search(r"Stängd", closed.text)
    listing = client.get("/dsars")
    assert request.reference in listing.text


def test_a_request_needs_a_number_or_an_account(
    client: TestClient, runtime: Runtime, people: dict[str, Person], policy_version: PolicyVersion
) -> None:
    token = log_in(client, runtime, people["dpo"])
    response = client.post(
        "/dsars", data={"csrf_token": token, "kind": "caller", "number": "", "language": "sv"}
    )
    assert response.status_code == 422
    assert "telefonnummer" in response.text


def test_only_the_dpo_handles_access_requests(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    log_in(client, runtime, people["it_admin"])
    assert client.get("/dsars").status_code == 403
