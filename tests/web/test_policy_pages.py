"""The published policy pages: public, intranet and Art. 13 information."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.policy.models import PolicyPurpose, PolicyVersion
from callvault.runtime import Runtime
from callvault.web.policy_pages import policy_blocks
from tests.web.conftest import Person, log_in


@pytest.fixture
def two_versions(session: Session, runtime: Runtime, policy_version: PolicyVersion) -> None:
    """Version 1 from the fixture and version 2 in force since yesterday."""
    now = runtime.clock.now()
    second = PolicyVersion(
        number=2,
        effective_from=now - timedelta(days=1),
        approved_by=None,
        change_note="Kortare lagring för utbildning",
        text_sv="1. Syftet\n\nAndra versionen av policyn.",
        text_en="1. The purpose\n\nSecond version of the policy.",
        prompt_sv="Tryck 1.",
        prompt_en="Press 1.",
        created_at=now - timedelta(days=2),
    )
    second.purposes.append(
        PolicyPurpose(
            code="training",
            description_sv="Utbildning",
            description_en="Training",
            retention_days=60,
            variants=["pseudonymised"],
        )
    )
    session.add(second)
    session.flush()


def test_public_policy_needs_no_login_and_lists_every_version(
    client: TestClient, two_versions: None
) -> None:
    response = client.get("/policy")
    assert response.status_code == 200
    assert "Andra versionen av policyn." in response.text
    assert "Version 2" in response.text and "Version 1" in response.text
    assert "Kortare lagring för utbildning" in response.text
    assert "test version" in response.text  # version 1's change note


def test_an_earlier_version_can_be_read_in_full(client: TestClient, two_versions: None) -> None:
    response = client.get("/policy/versions/1")
    assert response.status_code == 200
    assert "Testpolicy." in response.text
    assert client.get("/policy/versions/9").status_code == 404


def test_the_public_policy_is_in_english_after_one_click(
    client: TestClient, two_versions: None
) -> None:
    response = client.post("/language", data={"language": "en", "next": "/policy"})
    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "Second version of the policy." in response.text


def test_intranet_policy_needs_login(
    client: TestClient, runtime: Runtime, people: dict[str, Person], two_versions: None
) -> None:
    assert client.get("/intranet/policy", follow_redirects=False).status_code == 303
    log_in(client, runtime, people["agent"])
    assert "Andra versionen av policyn." in client.get("/intranet/policy").text


@pytest.mark.parametrize(
    ("audience", "heading"),
    [("callers", "Personuppgiftsansvarig"), ("employees", "Dataskyddsombud")],
)
def test_art13_information_pages(
    client: TestClient, two_versions: None, audience: str, heading: str
) -> None:
    response = client.get(f"/privacy/{audience}")
    assert response.status_code == 200
    assert heading in response.text


def test_the_employees_page_has_its_own_basis_and_nothing_to_withdraw(
    client: TestClient, two_versions: None
) -> None:
    employees = client.get("/privacy/employees").text
    assert "Berättigat intresse (artikel 6.1 f" in employees
    assert "Så återkallar du samtycket" not in employees
    assert "Så återkallar du samtycket" in client.get("/privacy/callers").text


def test_policy_text_becomes_headings_items_and_paragraphs() -> None:
    text = "1. Syftet \n\nEtt stycke\nsom fortsätter.\n\n• Röst och information\n• Röst"
    assert policy_blocks(text) == [
        ("heading", "1. Syftet"),
        ("paragraph", "Ett stycke som fortsätter."),
        ("item", "Röst och information"),
        ("item", "Röst"),
    ]


@pytest.mark.parametrize(("accept", "kind"), [("text/html", "text/html"), ("*/*", "json")])
def test_an_unknown_page_is_not_found_in_the_readers_form(
    client: TestClient, accept: str, kind: str
) -> None:
    response = client.get("/no-such-page", headers={"accept": accept})
    assert response.status_code == 404
    assert kind in response.headers["content-type"]
