"""A role change revokes the person's grants, so a later re-promotion does not revive them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from callvault.access import requests
from callvault.access.grants import GrantScope
from callvault.access.models import ScopeKind
from callvault.accounts import service as accounts
from callvault.accounts.auth import Principal
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.errors import Conflict
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, MakeGrant, principal_of


def test_grants_do_not_come_back_when_a_demoted_manager_is_promoted_again(
    session: Session, runtime: Runtime, make_account: MakeAccount, make_grant: MakeGrant
) -> None:
    it_admin, manager = make_account(Role.IT_ADMIN), make_account(Role.QA_MANAGER)
    grant = make_grant(manager)
    actor = Principal(kind="account", id=it_admin.id, role=it_admin.role, session_id=None)

    accounts.change_role(
        session, runtime, actor_principal=actor, account_id=manager.id, role="agent"
    )
    accounts.change_role(
        session, runtime, actor_principal=actor, account_id=manager.id, role="qa_manager"
    )

    session.refresh(grant)
    assert grant.revoked_at is not None


def test_a_pending_access_request_does_not_outlive_the_role_it_was_asked_in(
    session: Session, runtime: Runtime, make_account: MakeAccount, dpo: Account
) -> None:
    # Asked as a QA manager, approved after a demotion and re-promotion: the grant would rest on
    # a request made in a role the person no longer held in between, as revoked grants would.
    it_admin, manager = make_account(Role.IT_ADMIN), make_account(Role.QA_MANAGER)
    now = runtime.clock.now()
    asked = requests.submit_request(
        session,
        runtime,
        principal_of(manager),
        requests.Terms(
            purpose="quality_assurance",
            variant="original",
            scope=GrantScope(ScopeKind.ALL),
            valid_from=now,
            valid_until=now + timedelta(days=7),
        ),
        justification="Kvalitetsgranskning av klagomålsärenden",
        source="t",
    )
    actor = Principal(kind="account", id=it_admin.id, role=it_admin.role, session_id=None)
    for role in ("agent", "qa_manager"):
        accounts.change_role(
            session, runtime, actor_principal=actor, account_id=manager.id, role=role
        )

    session.refresh(asked)
    assert asked.state == "rejected"
    with pytest.raises(Conflict):
        requests.approve_request(session, runtime, principal_of(dpo), asked.id, source="t")
