"""Access requests (§6): a manager asks, the DPO approves (maybe narrowed) or rejects."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.access import requests as service
from callvault.access.grants import GrantScope
from callvault.access.models import AccessGrant, ScopeKind
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.errors import Conflict, InvalidInput, PermissionDenied
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, principal_of
from tests.accounts.conftest import login

WHY = "Coaching the new team on difficult calls"


def terms(clock: FixedClock, **changes: object) -> service.Terms:
    now = clock.now()
    base: dict[str, object] = {
        "purpose": "quality_assurance",
        "variant": "original",
        "scope": GrantScope(ScopeKind.TEAM, team="team-north"),
        "valid_from": now,
        "valid_until": now + timedelta(days=14),
    }
    base.update(changes)
    return service.Terms(**base)  # type: ignore[arg-type]


def ask(session: Session, runtime: Runtime, who: Account, clock: FixedClock, **changes: object):  # type: ignore[no-untyped-def]
    return service.submit_request(
        session, runtime, principal_of(who), terms(clock, **changes), justification=WHY, source="t"
    )


def test_approval_creates_the_grant_through_the_grant_service(
    session: Session, runtime: Runtime, clock: FixedClock, make_account: MakeAccount, dpo: Account
) -> None:
    qa = make_account(Role.QA_MANAGER)
    asked = ask(session, runtime, qa, clock)
    assert asked.state == "pending"
    assert [r.id for r in service.pending_requests(session)] == [asked.id]
    approved, grant = service.approve_request(
        session, runtime, principal_of(dpo), asked.id, source="t"
    )
    assert approved.state == "approved" and approved.grant_id == grant.id
    assert (grant.grantee_id, grant.purpose_code, grant.variant, grant.scope_team) == (
        qa.id,
        "quality_assurance",
        "original",
        "team-north",
    )
    assert service.pending_requests(session) == []
    actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert {"access_request.create", "grant.create", "access_request.approve"} <= set(actions)
    details = session.scalars(
        sa.select(AuditEntry.details).where(AuditEntry.action == "access_request.create")
    ).one()
    assert WHY not in str(details)  # the justification stays out of the audit trail
    with pytest.raises(Conflict):
        service.approve_request(session, runtime, principal_of(dpo), asked.id, source="t")


def test_the_dpo_may_narrow_but_never_widen(
    session: Session, runtime: Runtime, clock: FixedClock, make_account: MakeAccount, dpo: Account
) -> None:
    qa = make_account(Role.QA_MANAGER)
    asked = ask(session, runtime, qa, clock)
    wider = [
        terms(clock, valid_until=clock.now() + timedelta(days=20)),
        terms(clock, scope=GrantScope(ScopeKind.ALL)),
        terms(clock, scope=GrantScope(ScopeKind.TEAM, team="team-south")),
        terms(clock, purpose="training", variant="pseudonymised"),
    ]
    for widened in wider:
        with pytest.raises(InvalidInput, match="narrow"):
            service.approve_request(
                session, runtime, principal_of(dpo), asked.id, narrowed=widened, source="t"
            )
    narrowed = terms(clock, variant="pseudonymised", valid_until=clock.now() + timedelta(days=3))
    _, grant = service.approve_request(
        session, runtime, principal_of(dpo), asked.id, narrowed=narrowed, source="t"
    )
    assert grant.variant == "pseudonymised"
    assert grant.valid_until == clock.now() + timedelta(days=3)


def test_a_narrowing_that_breaks_the_grant_rules_is_a_clear_refusal(
    session: Session, runtime: Runtime, clock: FixedClock, make_account: MakeAccount, dpo: Account
) -> None:
    # A date range without its dates reached an assert in the comparison: a 500, not a 4xx.
    qa = make_account(Role.QA_MANAGER)
    now = clock.now()
    asked = ask(
        session,
        runtime,
        qa,
        clock,
        scope=GrantScope(ScopeKind.DATE_RANGE, date_from=now - timedelta(days=9), date_until=now),
    )
    for broken in (
        GrantScope(ScopeKind.DATE_RANGE, date_from=now - timedelta(days=2)),
        GrantScope(ScopeKind.DATE_RANGE, date_until=now),
    ):
        with pytest.raises(InvalidInput):
            service.approve_request(
                session,
                runtime,
                principal_of(dpo),
                asked.id,
                narrowed=terms(clock, scope=broken),
                source="t",
            )


@pytest.mark.parametrize("why", ["\u200b" * 20, "\u3164" * 20, "!!!!!!!!!! !!!!!!!!!!", "kort"])
def test_a_justification_must_say_something(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    make_account: MakeAccount,
    dpo: Account,
    why: str,
) -> None:
    # Twenty zero-width spaces passed as the "why" the DPO decides on: the rule for reasons
    # (visible characters, two words or ten letters) holds here too.
    with pytest.raises(InvalidInput, match="justify"):
        service.submit_request(
            session,
            runtime,
            principal_of(make_account(Role.QA_MANAGER)),
            terms(clock),
            justification=why,
            source="t",
        )


@pytest.mark.parametrize(
    ("date_from", "date_until"),
    [
        ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00"),
        ("2026-01-01T00:00:00+00:00", "9999-12-31T23:59:59-14:00"),
        ("0001-01-01T00:00:00+14:00", "2026-01-01T00:00:00+00:00"),
    ],
)
def test_scope_dates_stay_in_the_window_dates_can_be_shown_in(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    make_account: MakeAccount,
    dpo: Account,
    date_from: str,
    date_until: str,
) -> None:
    # A manager's request for 0001-01-01..9999-12-31 was stored and then broke the request
    # pages (the DPO's list too) with a 500 when shown in Stockholm time; with a -14:00 offset
    # the insert itself overflowed (a 500 from the API).
    scope = GrantScope(
        ScopeKind.DATE_RANGE,
        date_from=datetime.fromisoformat(date_from),
        date_until=datetime.fromisoformat(date_until),
    )
    with pytest.raises(InvalidInput, match="dates run from"):
        ask(session, runtime, make_account(Role.QA_MANAGER), clock, scope=scope)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"purpose": "training", "variant": "original"}, "only these variants"),
        ({"purpose": "marketing"}, "not registered"),
        ({"valid_until": "91 days"}, "90 days"),
        ({"scope": GrantScope(ScopeKind.TEAM)}, "team"),
    ],
)
def test_requests_follow_the_grant_rules(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    make_account: MakeAccount,
    dpo: Account,
    changes: dict[str, object],
    message: str,
) -> None:
    if changes.get("valid_until") == "91 days":
        changes["valid_until"] = clock.now() + timedelta(days=91)
    with pytest.raises(InvalidInput, match=message):
        ask(session, runtime, make_account(Role.QA_MANAGER), clock, **changes)


def test_only_managers_ask_and_only_the_dpo_decides(
    session: Session, runtime: Runtime, clock: FixedClock, make_account: MakeAccount, dpo: Account
) -> None:
    for role in (Role.AGENT, Role.IT_ADMIN, Role.DPO):
        with pytest.raises(PermissionDenied):
            ask(session, runtime, make_account(role), clock)
    with pytest.raises(InvalidInput, match="justify"):
        service.submit_request(
            session,
            runtime,
            principal_of(make_account(Role.QA_MANAGER)),
            terms(clock),
            justification="because",
            source="t",
        )
    qa = make_account(Role.QA_MANAGER)
    asked = ask(session, runtime, qa, clock)
    with pytest.raises(PermissionDenied):
        service.approve_request(session, runtime, principal_of(qa), asked.id, source="t")
    rejected = service.reject_request(
        session, runtime, principal_of(dpo), asked.id, note="Use the training set", source="t"
    )
    assert rejected.state == "rejected" and rejected.grant_id is None
    assert session.scalars(sa.select(AccessGrant)).all() == []


def test_access_requests_over_the_api(
    client: TestClient,
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    make_account: MakeAccount,
    dpo: Account,
) -> None:
    qa, other = make_account(Role.QA_MANAGER), make_account(Role.TRAINING_MANAGER)
    session.commit()
    now = clock.now()
    body = {
        "purpose": "quality_assurance",
        "variant": "original",
        "scope": {"kind": "agent", "agent_id": "agent-7"},
        "valid_from": now.isoformat(),
        "valid_until": (now + timedelta(days=7)).isoformat(),
        "justification": WHY,
    }
    manager = login(client, qa, clock)
    made = client.post("/api/v1/access-requests", json=body, headers=manager)
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    assert client.get("/api/v1/access-requests", headers=manager).json()[0]["state"] == "pending"
    bad = client.post(
        "/api/v1/access-requests", json={**body, "justification": "x"}, headers=manager
    )
    assert bad.status_code == 422
    login(client, other, clock)
    assert client.get(f"/api/v1/access-requests/{request_id}").status_code == 404
    officer = login(client, dpo, clock)
    pending = client.get("/api/v1/access-requests?state=pending", headers=officer).json()
    assert [r["id"] for r in pending] == [request_id]
    narrowed = {**body, "variant": "pseudonymised"}
    del narrowed["justification"]
    approved = client.post(
        f"/api/v1/access-requests/{request_id}/approve",
        json={"terms": narrowed, "note": "Pseudonymised is enough"},
        headers=officer,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved" and approved.json()["grant_id"]
    again = client.post(f"/api/v1/access-requests/{request_id}/reject", json={}, headers=officer)
    assert again.status_code == 409
