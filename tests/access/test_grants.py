"""Grants (§6): only the DPO, never to themself, registered purposes and variants, 90 days."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.access import grants as grant_service
from callvault.access.grants import GrantScope
from callvault.access.models import ScopeKind
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.errors import InvalidInput, PermissionDenied
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, MakeGrant, principal_of
from tests.accounts.conftest import login


@pytest.mark.parametrize(
    ("grantee_role", "purpose", "variant", "days", "error", "message"),
    [
        (Role.QA_MANAGER, "quality_assurance", "original", 90, None, None),
        (Role.TRAINING_MANAGER, "training", "pseudonymised", 30, None, None),
        (Role.QA_MANAGER, "quality_assurance", "pseudonymised", 30, None, None),
        (Role.TRAINING_MANAGER, "training", "original", 30, InvalidInput, "only these variants"),
        (Role.QA_MANAGER, "marketing", "pseudonymised", 30, InvalidInput, "not registered"),
        (Role.QA_MANAGER, "quality_assurance", "original", 90.01, InvalidInput, "90 days"),
        (Role.AGENT, "training", "pseudonymised", 30, InvalidInput, "managers only"),
        (Role.IT_ADMIN, "training", "pseudonymised", 30, InvalidInput, "managers only"),
        (Role.DPO, "training", "pseudonymised", 30, InvalidInput, "managers only"),
        (Role.QA_MANAGER, "quality_assurance", "raw", 30, InvalidInput, "variant"),
    ],
)
def test_grant_rules(
    grantee_role: Role,
    purpose: str,
    variant: str,
    days: float,
    error: type[Exception] | None,
    message: str | None,
    make_account: MakeAccount,
    make_grant: MakeGrant,
) -> None:
    grantee = make_account(grantee_role)
    if error is None:
        grant = make_grant(grantee, purpose=purpose, variant=variant, days=days)
        assert grant.purpose_code == purpose and grant.variant == variant
    else:
        with pytest.raises(error, match=message):
            make_grant(grantee, purpose=purpose, variant=variant, days=days)


def test_the_dpo_cannot_grant_to_themself(
    policy_version: object, session: Session, runtime: Runtime, clock: FixedClock, dpo: Account
) -> None:
    with pytest.raises(PermissionDenied, match="themself"):
        grant_service.create_grant(
            session,
            runtime,
            principal_of(dpo),
            grantee_id=dpo.id,
            purpose="training",
            variant="pseudonymised",
            scope=GrantScope(ScopeKind.ALL),
            valid_from=clock.now(),
            valid_until=clock.now() + timedelta(days=1),
            source="test",
        )


@pytest.mark.parametrize(
    "role", [Role.IT_ADMIN, Role.QA_MANAGER, Role.TRAINING_MANAGER, Role.AGENT]
)
def test_only_the_dpo_creates_grants(
    policy_version: object,
    role: Role,
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    make_account: MakeAccount,
) -> None:
    actor, grantee = make_account(role), make_account(Role.QA_MANAGER)
    with pytest.raises(PermissionDenied, match="data protection officer"):
        grant_service.create_grant(
            session,
            runtime,
            principal_of(actor),
            grantee_id=grantee.id,
            purpose="training",
            variant="pseudonymised",
            scope=GrantScope(ScopeKind.ALL),
            valid_from=clock.now(),
            valid_until=clock.now() + timedelta(days=1),
            source="test",
        )


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (GrantScope(ScopeKind.AGENT), "needs its agent"),
        (GrantScope(ScopeKind.TEAM, agent_id="a-1"), "takes no agent"),
        (GrantScope(ScopeKind.DATE_RANGE), "both date_from and date_until"),
        (GrantScope(ScopeKind.RECORDINGS), "needs its recordings"),
    ],
)
def test_a_scope_names_exactly_what_it_covers(
    scope: GrantScope, message: str, make_account: MakeAccount, make_grant: MakeGrant
) -> None:
    with pytest.raises(InvalidInput, match=message):
        make_grant(make_account(Role.QA_MANAGER), scope=scope)


def test_an_already_expired_grant_is_refused(
    make_account: MakeAccount, make_grant: MakeGrant, clock: FixedClock
) -> None:
    with pytest.raises(InvalidInput, match="expired"):
        make_grant(
            make_account(Role.QA_MANAGER), valid_from=clock.now() - timedelta(days=20), days=10
        )


def test_grants_are_audited(
    make_account: MakeAccount,
    make_grant: MakeGrant,
    session: Session,
    runtime: Runtime,
    dpo: Account,
) -> None:
    grant = make_grant(make_account(Role.QA_MANAGER))
    grant_service.revoke_grant(session, runtime, principal_of(dpo), grant.id, source="test")
    actions = session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_id == str(grant.id))
    ).all()
    assert actions == ["grant.create", "grant.revoke"]


def test_grants_api_create_list_revoke(
    client: TestClient, dpo: Account, make_account: MakeAccount, clock: FixedClock
) -> None:
    grantee = make_account(Role.QA_MANAGER)
    headers = login(client, dpo, clock)
    body = {
        "grantee_id": str(grantee.id),
        "purpose": "quality_assurance",
        "variant": "original",
        "scope": {"kind": "team", "team": "team-north"},
        "valid_until": (clock.now() + timedelta(days=7)).isoformat(),
        "allows_download": True,
    }
    created = client.post("/api/v1/grants", json=body, headers=headers)
    assert created.status_code == 201, created.text
    grant_id = created.json()["id"]
    assert created.json()["active"] is True
    listed = client.get("/api/v1/grants").json()
    assert [g["id"] for g in listed] == [grant_id]
    revoked = client.post(f"/api/v1/grants/{grant_id}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    self_grant = client.post(
        "/api/v1/grants", json={**body, "grantee_id": str(dpo.id)}, headers=headers
    )
    assert self_grant.status_code == 403 and "themself" in self_grant.json()["message"]
    unknown = client.post(f"/api/v1/grants/{uuid.uuid4()}/revoke", headers=headers)
    assert unknown.status_code == 404


def test_managers_list_only_their_own_grants(
    client: TestClient, make_account: MakeAccount, make_grant: MakeGrant, clock: FixedClock
) -> None:
    mine, theirs = make_account(Role.QA_MANAGER), make_account(Role.QA_MANAGER)
    own = make_grant(mine)
    make_grant(theirs)
    login(client, mine, clock)
    assert [g["id"] for g in client.get("/api/v1/grants").json()] == [str(own.id)]
