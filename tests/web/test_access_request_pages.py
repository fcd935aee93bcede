"""Access requests on the web: a manager asks, the DPO sees it on the dashboard and decides."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.access.models import AccessGrant, AccessRequest
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime
from tests.web.conftest import Person, log_in


def test_a_manager_asks_and_the_dpo_approves_narrowed(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    qa, dpo = people["qa_manager"], people["dpo"]
    token = log_in(client, runtime, qa)
    page = client.get("/access-requests")
    assert page.status_code == 200 and "Begäran om åtkomst" in page.text
    form = {
        "csrf_token": token,
        "purpose": "quality_assurance",
        "variant": "original",
        "scope": "team",
        "scope_team": "team-north",
        "valid_from": "2026-03-02",
        "valid_until": "2026-03-15",
    }
    short = client.post("/access-requests", data={**form, "justification": "kort"})
    assert short.status_code == 422 and "minst 10 tecken" in short.text
    sent = client.post(
        "/access-requests", data={**form, "justification": "Coachning av nya teamet"}
    )
    assert "Din begäran har skickats" in sent.text
    request = session.scalars(sa.select(AccessRequest)).one()

    token = log_in(client, runtime, dpo)
    dashboard = client.get("/dpo").text
    assert f'href="/access-requests/{request.id}"' in dashboard.split('id="pending-requests"')[1]
    detail = client.get(f"/access-requests/{request.id}")
    assert "Coachning av nya teamet" in detail.text
    assert 'value="2026-03-15"' in detail.text  # the form holds what was asked for
    wider = client.post(
        f"/access-requests/{request.id}/approve",
        data={**form, "csrf_token": token, "valid_until": "2026-03-20"},
    )
    assert wider.status_code == 422 and "aldrig vidga den" in wider.text
    done = client.post(
        f"/access-requests/{request.id}/approve",
        data={**form, "csrf_token": token, "variant": "pseudonymised"},
    )
    assert "godkänts" in done.text
    grant = session.scalars(sa.select(AccessGrant)).one()
    assert grant.variant == "pseudonymised" and grant.scope_team == "team-north"
    assert f'href="/access-requests/{request.id}"' not in client.get("/dpo").text

    log_in(client, runtime, qa)
    assert "Godkänd" in client.get("/access-requests").text
    mine = client.get(f"/access-requests/{request.id}").text
    granted = mine.split('id="request-grant">', 1)[1].split("</dd>", 1)[0]
    assert "Pseudonymiserad" in granted and "team-north" in granted  # not the original asked for


def test_the_dpo_rejects_with_a_note_the_manager_sees(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    qa, dpo = people["training_manager"], people["dpo"]
    token = log_in(client, runtime, qa)
    client.post(
        "/access-requests",
        data={
            "csrf_token": token,
            "purpose": "training",
            "variant": "pseudonymised",
            "scope": "all",
            "valid_from": "2026-03-02",
            "valid_until": "2026-03-08",
            "justification": "Utbildning av nyanställda",
        },
    )
    request = session.scalars(sa.select(AccessRequest)).one()
    token = log_in(client, runtime, dpo)
    client.post(
        f"/access-requests/{request.id}/reject",
        data={"csrf_token": token, "reject_note": "Använd det befintliga urvalet"},
    )
    log_in(client, runtime, qa)
    page = client.get(f"/access-requests/{request.id}").text
    assert "Avslagen" in page and "Använd det befintliga urvalet" in page
    assert session.scalars(sa.select(AccessGrant)).all() == []


def test_a_request_made_within_a_day_is_approved_as_shown(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
    policy_version: PolicyVersion,
) -> None:
    from datetime import timedelta

    from callvault.access import requests as service
    from callvault.access.grants import GrantScope
    from callvault.access.models import ScopeKind
    from callvault.accounts.auth import Principal

    qa, dpo = people["qa_manager"], people["dpo"]
    now = runtime.clock.now()  # 10:00 Stockholm time: the request starts within a day
    asked = service.submit_request(
        session,
        runtime,
        Principal(kind="account", id=__import__("uuid").UUID(qa.id), role="qa_manager",
                  session_id=None),
        service.Terms("quality_assurance", "original", GrantScope(ScopeKind.ALL), now,
                      now + timedelta(days=5, hours=3)),
        justification="Uppföljning av klagomål",
        source="t",
    )  # fmt: skip
    session.flush()
    token = log_in(client, runtime, dpo)
    page = client.get(f"/access-requests/{asked.id}").text
    form = {
        "csrf_token": token,
        "purpose": "quality_assurance",
        "variant": "original",
        "scope": "all",
        "valid_from": page.split('name="valid_from" type="date" value="')[1].split('"')[0],
        "valid_until": page.split('name="valid_until" type="date" value="')[1].split('"')[0],
    }
    done = client.post(f"/access-requests/{asked.id}/approve", data=form)
    assert "godkänts" in done.text, done.text
    grant = session.scalars(sa.select(AccessGrant)).one()
    assert (grant.valid_from, grant.valid_until) == (asked.valid_from, asked.valid_until)
