"""Who may give which role: IT assigns every role but the DPO's, the DPO handles the DPO role."""

from __future__ import annotations

import pytest

from callvault.accounts.roles import Role, assignable_roles, may_act_on_account, may_assign_role

DPO, TM, QA, AGENT, IT = (r.value for r in Role)


@pytest.mark.parametrize(
    ("actor", "current", "new", "allowed"),
    [
        (IT, AGENT, QA, True),
        (IT, QA, TM, True),
        (IT, TM, IT, True),
        (IT, IT, AGENT, True),
        (IT, AGENT, DPO, False),  # the DPO role is not IT's to give
        (IT, DPO, AGENT, False),  # nor to take away
        (DPO, AGENT, DPO, True),
        (DPO, IT, DPO, True),
        (DPO, DPO, QA, True),  # another DPO steps down
        (DPO, AGENT, QA, False),  # every other role is IT's business
        (QA, AGENT, TM, False),
        (TM, AGENT, DPO, False),
        (AGENT, AGENT, QA, False),
        ("service:ingest", AGENT, QA, False),
        (IT, QA, QA, False),  # no change is not a change
    ],
)
def test_may_assign_role(actor: str, current: str, new: str, allowed: bool) -> None:
    assert may_assign_role(actor, current, new) is allowed


@pytest.mark.parametrize(
    ("actor", "current", "offered"),
    [
        (IT, AGENT, (TM, QA, IT)),
        (IT, DPO, ()),
        (DPO, QA, (DPO,)),
        (DPO, DPO, (TM, QA, AGENT, IT)),
        (AGENT, QA, ()),
    ],
)
def test_assignable_roles_for_forms(actor: str, current: str, offered: tuple[str, ...]) -> None:
    assert assignable_roles(actor, current) == offered


@pytest.mark.parametrize(
    ("actor", "account", "allowed"),
    [
        (Role.IT_ADMIN, Role.AGENT, True),
        (Role.IT_ADMIN, Role.IT_ADMIN, True),
        (Role.IT_ADMIN, Role.DPO, False),  # a DPO's account is the DPO's business
        (Role.DPO, Role.DPO, True),
    ],
)
def test_may_act_on_account(actor: str, account: str, allowed: bool) -> None:
    assert may_act_on_account(actor, account) is allowed
