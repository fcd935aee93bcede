"""/api/v1/policy: published versions for anyone, drafts and approval for the DPO alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal
from callvault.audit.models import AuditEntry
from callvault.policy.identity import EXAMPLE
from callvault.policy.models import PolicyVersion
from tests.policy.conftest import principal

Login = Callable[[Principal | None], None]


def qa_60_days(client: TestClient) -> dict[str, object]:
    current = client.get("/api/v1/policy/versions/current").json()
    purposes = [
        {**p, "retention_days": 60} if p["code"] == "quality_assurance" else p
        for p in current["purposes"]
    ]
    return {"change_note": "QA recordings kept 60 days (DPIA follow-up).", "purposes": purposes}


def test_published_versions_are_public(client: TestClient, first_version: PolicyVersion) -> None:
    versions = client.get("/api/v1/policy/versions")
    assert versions.status_code == 200
    (only,) = versions.json()["versions"]
    assert (only["number"], only["in_force"]) == (1, True)
    assert {p["code"]: p["retention_days"] for p in only["purposes"]} == {
        "training": 90,
        "quality_assurance": 90,
    }
    assert "approved_by" not in only  # the DPO's account id stays internal
    current = client.get("/api/v1/policy/versions/current").json()
    assert current["text"]["sv"] == EXAMPLE.fill(first_version.text_sv, "sv")
    assert current["prompt"]["en"] == EXAMPLE.fill(first_version.prompt_en, "en")
    assert current["templates"]["prompt"]["en"] == first_version.prompt_en
    assert client.get("/api/v1/policy/versions/1").json() == current
    assert client.get("/api/v1/policy/versions/9").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/policy/drafts"),
        ("post", "/api/v1/policy/drafts"),
        ("post", "/api/v1/policy/drafts/00000000-0000-0000-0000-000000000000/approve"),
    ],
)
@pytest.mark.parametrize(("role", "status"), [(None, 401), ("qa_manager", 403), ("it_admin", 403)])
def test_drafts_are_for_the_dpo_only(
    client: TestClient, login_as: Login, method: str, path: str, role: str | None, status: int
) -> None:
    login_as(principal(role) if role else None)
    response = client.request(method, path, json={"change_note": "x" * 5})
    assert response.status_code == status


def test_dpo_drafts_and_approves_a_retention_change(
    client: TestClient, login_as: Login, dpo: Principal, session: Session
) -> None:
    login_as(dpo)
    created = client.post("/api/v1/policy/drafts", json=qa_60_days(client))
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["changes"]["retention"] == {"quality_assurance": [90, 60]}
    assert client.get("/api/v1/policy/drafts").json()["drafts"][0]["id"] == draft["id"]

    approved = client.post(f"/api/v1/policy/drafts/{draft['id']}/approve", json={})
    assert approved.status_code == 201, approved.text
    version = approved.json()
    assert (version["number"], version["in_force"]) == (2, True)
    assert version["change_note"] == "QA recordings kept 60 days (DPIA follow-up)."
    login_as(None)
    listed = client.get("/api/v1/policy/versions").json()["versions"]
    assert [(v["number"], v["in_force"]) for v in listed] == [(2, True), (1, False)]
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "policy.approve")
        )
        == 1
    )


@pytest.mark.parametrize(
    "effective_from", ["9999-12-31T23:59:59-14:00", "9999-12-31T23:30:00Z", "1700000000"]
)
def test_an_effective_date_beyond_the_calendar_is_refused(
    client: TestClient, login_as: Login, dpo: Principal, effective_from: str
) -> None:
    # Year 9999 at -14:00 overflowed the insert (500); at 23:30Z it was stored, and every page
    # showing the versions in Stockholm time would then overflow.
    login_as(dpo)
    draft = client.post("/api/v1/policy/drafts", json=qa_60_days(client)).json()
    approved = client.post(
        f"/api/v1/policy/drafts/{draft['id']}/approve", json={"effective_from": effective_from}
    )
    assert approved.status_code == 422, approved.text


def test_a_draft_loosening_training_is_rejected(
    client: TestClient, login_as: Login, dpo: Principal
) -> None:
    login_as(dpo)
    body = qa_60_days(client)
    body["purposes"] = [
        {**p, "variants": ["original"]} if p["code"] == "training" else p
        for p in body["purposes"]  # type: ignore[attr-defined]
    ]
    assert client.post("/api/v1/policy/drafts", json=body).status_code == 422


@pytest.mark.parametrize(
    ("audience", "language", "expected"),
    [
        ("caller", "sv", "Ditt samtycke (artikel 6.1 a"),
        ("caller", "en", "Your consent (Article 6(1)(a) GDPR)"),
        # employees' data is not processed on the customer's consent (issue 17, item 2)
        ("employee", "sv", "Berättigat intresse (artikel 6.1 f"),
        ("employee", "en", "Legitimate interest (Article 6(1)(f) GDPR)"),
    ],
)
def test_art13_information_is_public(
    client: TestClient, audience: str, language: str, expected: str
) -> None:
    response = client.get(f"/api/v1/policy/art13?audience={audience}&language={language}")
    assert response.status_code == 200
    assert expected in response.json()["legal_basis"]
