"""A role change revokes the person's grants, so a later re-promotion does not revive them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from callvault.accounts import service as accounts
from callvault.accounts.auth import Principal
from callvault.accounts.roles import Role
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, MakeGrant


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
