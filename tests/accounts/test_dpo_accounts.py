"""A DPO's account is the DPO's business: IT admins cannot disable it or reset its second factor."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from callvault.accounts import service
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.errors import PermissionDenied
from callvault.runtime import Runtime
from tests.accounts.conftest import MakeAccount

Action = Callable[[Session, Runtime, Account, str], object]
ACTIONS: dict[str, Action] = {
    "disable": lambda s, rt, a, actor: service.disable_account(
        s, rt, a, actor=actor, source="test"
    ),
    "reset_totp": lambda s, rt, a, actor: service.reset_totp(s, rt, a, actor=actor, source="test"),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize(
    ("actor_role", "target_role", "allowed"),
    [
        (Role.IT_ADMIN, Role.DPO, False),
        (Role.IT_ADMIN, Role.QA_MANAGER, True),
        (Role.DPO, Role.DPO, True),
    ],
)
def test_only_a_dpo_acts_on_a_dpo_account(
    action: str,
    actor_role: Role,
    target_role: Role,
    allowed: bool,
    session: Session,
    runtime: Runtime,
    make_account: MakeAccount,
) -> None:
    actor, target = make_account(actor_role), make_account(target_role)
    run = ACTIONS[action]
    if allowed:
        run(session, runtime, target, f"account:{actor.id}")
    else:
        with pytest.raises(PermissionDenied):
            run(session, runtime, target, f"account:{actor.id}")


def test_the_servers_command_line_may_disable_a_dpo(
    session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    dpo = make_account(Role.DPO)
    service.disable_account(session, runtime, dpo, actor="system", source="cli")
    assert dpo.disabled_at is not None
