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


def test_the_last_day_is_shown_as_given_and_the_grant_ends_when_it_ends_in_stockholm(
    client: TestClient,
    runtime: Runtime,
    session: Session,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    from datetime import UTC, datetime

    token = log_in(client, runtime, people["dpo"])
    form = _form(
        token,
        people["qa_manager"].id,
        scope="date_range",
        scope_from="2026-02-01",
        scope_until="2026-02-28",
        valid_until="2026-04-08",
    )
    page = client.post("/grants", data=form)
    grant = session.query(AccessGrant).one()
    # 8 April ends at midnight Stockholm summer time (UTC+2); 28 February at UTC+1.
    assert grant.valid_until == datetime(2026, 4, 8, 22, 0, tzinfo=UTC)
    assert grant.scope_until == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    row = page.text.split("<tbody>", 1)[1]
    assert "2 mars 2026 – 8 apr. 2026" in row and "9 apr." not in row
    assert "1 feb. 2026 – 28 feb. 2026" in row and "1 mars 2026" not in row


def test_a_grant_from_the_api_ending_at_midnight_shows_the_day_before(
    client: TestClient,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    token = log_in(client, runtime, people["dpo"])
    created = client.post(
        "/api/v1/grants",
        json={
            "grantee_id": people["qa_manager"].id,
            "purpose": "quality_assurance",
            "variant": "pseudonymised",
            "scope": {"kind": "all"},
            "valid_until": "2026-03-08T23:00:00Z",
        },
        headers={"X-CSRF-Token": token, "accept": "application/json"},
    )
    assert created.status_code == 201, created.text
    row = client.get("/grants").text.split("<tbody>", 1)[1]
    assert "– 8 mars 2026" in row and "9 mars" not in row


def test_the_form_offers_a_week_from_today_by_default(
    client: TestClient, runtime: Runtime, people: dict[str, Person], policy_version: PolicyVersion
) -> None:
    log_in(client, runtime, people["dpo"])
    page = client.get("/grants").text
    assert 'name="valid_from" type="date" value="2026-03-02"' in page
    assert 'name="valid_until" type="date" value="2026-03-08"' in page


def _options(page: str, name: str) -> dict[str, str]:
    """value -> the option tag, for the select called `name`."""
    select = page.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    return {
        tag.split('value="', 1)[1].split('"', 1)[0]: tag
        for tag in re.findall(r"<option [^>]*>", select)
    }


def test_a_purpose_that_allows_only_pseudonymised_offers_only_that_variant(
    client: TestClient, runtime: Runtime, people: dict[str, Person], policy_version: PolicyVersion
) -> None:
    token = log_in(client, runtime, people["dpo"])
    page = client.get("/grants").text
    purposes = _options(page, "purpose")
    assert 'data-variants="pseudonymised"' in purposes["training"]
    assert 'data-variants="pseudonymised original"' in purposes["quality_assurance"]
    assert "disabled" not in _options(page, "variant")["original"]  # QA is chosen by default
    # Sent back with training chosen (here: a refusal for another reason), only pseudonymised.
    again = client.post(
        "/grants",
        data=_form(
            token, people["training_manager"].id, purpose="training", variant="pseudonymised",
            valid_until="2026-12-31",
        ),
    ).text  # fmt: skip
    variants = _options(again, "variant")
    assert "disabled" in variants["original"] and "disabled" not in variants["pseudonymised"]


def test_teams_are_picked_from_the_known_ones(
    client: TestClient,
    runtime: Runtime,
    session: Session,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    from datetime import timedelta

    from tests.web.seed import add_recording

    runtime.keyring.ensure()
    now = runtime.clock.now()
    for index, team in enumerate(("support-2", "support-1", "support-2")):
        add_recording(
            session, runtime, call_id=f"CA-team-{index}", started_at=now - timedelta(hours=1),
            team=team,
        )  # fmt: skip
    token = log_in(client, runtime, people["dpo"])
    page = client.get("/grants").text
    assert list(_options(page, "scope_team")) == ["", "support-1", "support-2"]
    created = client.post(
        "/grants", data=_form(token, people["qa_manager"].id, scope="team", scope_team="support-2")
    )
    assert "Team support-2" in created.text


def test_the_list_shows_the_note_the_download_flag_and_who_granted(
    client: TestClient, runtime: Runtime, people: dict[str, Person], policy_version: PolicyVersion
) -> None:
    token = log_in(client, runtime, people["dpo"])
    page = client.post(
        "/grants",
        data=_form(
            token, people["qa_manager"].id, allows_download="1", note="Kalibrering vecka 10"
        ),
    ).text
    table = page.split("<tbody>", 1)[1]
    assert "Kalibrering vecka 10" in table
    assert "<td>Ja</td>" in table
    assert "dpo@example.org" in table
