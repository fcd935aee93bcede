"""The DPO's grants page: create, list, revoke, and the rules of §6 shown as refusals."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.access.models import AccessGrant
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime
from tests.web.conftest import Person, log_in


def _form(token: str, grantee: str, **overrides: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "grantee": grantee,
        "purpose": "quality_assurance",
        "variant": "original",
        "scope": "all",
        "valid_from": "2026-03-02",
        "valid_until": "2026-03-08",
    }
    form.update(overrides)
    return form


def test_the_dpo_grants_a_qa_manager_original_access_for_a_week_and_revokes_it(
    client: TestClient,
    runtime: Runtime,
    session: Session,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    token = log_in(client, runtime, people["dpo"])
    created = client.post("/grants", data=_form(token, people["qa_manager"].id))
    assert created.status_code == 200, created.text
    assert "Behörigheten har skapats." in created.text
    grant = session.query(AccessGrant).one()
    assert (grant.variant, grant.purpose_code) == ("original", "quality_assurance")
    assert (grant.valid_until - grant.valid_from).days == 7
    assert "qa_manager@example.org" in created.text
    revoked = client.post(f"/grants/{grant.id}/revoke", data={"csrf_token": token})
    assert "Behörigheten har återkallats." in revoked.text
    session.refresh(grant)
    assert grant.revoked_at is not None


@pytest.mark.parametrize(
    ("overrides", "grantee_role", "message"),
    [
        ({"purpose": "training", "variant": "original"}, "training_manager", "pseudonymiserade"),
        ({"valid_until": "2026-07-01"}, "qa_manager", "högst 90 dagar"),
        ({}, "agent", "utbildnings- och kvalitetsansvariga"),
        ({"scope": "team"}, "qa_manager", "Fyll i fältet"),
    ],
)
def test_grant_rules_are_shown_as_refusals_in_swedish(
    client: TestClient,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
    overrides: dict[str, str],
    grantee_role: str,
    message: str,
) -> None:
    token = log_in(client, runtime, people["dpo"])
    response = client.post("/grants", data=_form(token, people[grantee_role].id, **overrides))
    assert response.status_code == 422
    assert message in response.text


def test_only_the_dpo_sees_the_grants_page(
    client: TestClient, runtime: Runtime, people: dict[str, Person], policy_version: PolicyVersion
) -> None:
    log_in(client, runtime, people["qa_manager"])
    assert client.get("/grants").status_code == 403
    response = client.post(f"/grants/{uuid.uuid4()}/revoke", data={})
    assert response.status_code == 403
    assert re.search(r"<h1>Inte tillåtet</h1>", client.get("/grants").text)


def test_the_download_flag_says_it_does_not_prevent_saving(
    client: TestClient, runtime: Runtime, people: dict[str, Person], policy_version: PolicyVersion
) -> None:
    log_in(client, runtime, people["dpo"])
    page = client.get("/grants")
    assert "Det hindrar inte att ljudet sparas" in page.text
    assert 'aria-describedby="f-download-hint"' in page.text
