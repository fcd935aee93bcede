"""The roles of §6: who may do what is decided by role, and recordings only through grants."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """A person's role. Service principals carry `service:<scope>` instead (not people)."""

    DPO = "dpo"
    TRAINING_MANAGER = "training_manager"
    QA_MANAGER = "qa_manager"
    AGENT = "agent"
    IT_ADMIN = "it_admin"


#: Roles whose accounts must use a TOTP second factor before they can do anything.
SECOND_FACTOR_REQUIRED: frozenset[str] = frozenset({Role.DPO, Role.IT_ADMIN})

#: Roles that may receive access grants (§6: managers responsible for training and QA).
GRANTEE_ROLES: frozenset[str] = frozenset({Role.TRAINING_MANAGER, Role.QA_MANAGER})

SERVICE_INGEST = "service:ingest"
SERVICE_TELEPHONY = "service:telephony"
SERVICE_METRICS = "service:metrics"  # reads /metrics, nothing else
SERVICE_ROLES: frozenset[str] = frozenset({SERVICE_INGEST, SERVICE_TELEPHONY, SERVICE_METRICS})


def may_assign_role(actor_role: str, current: str, new: str) -> bool:
    """Whether a person of `actor_role` may move an account from role `current` to `new`.

    The DPO role is the DPO's business: only a DPO makes someone DPO or changes a DPO's role.
    Every other role is assigned by IT admins (§8: IT manages accounts). The command line, run
    by whoever operates the server, is not bound by this (it creates the first DPO).
    """
    if current == new:
        return False
    if actor_role == Role.IT_ADMIN:
        return Role.DPO not in (current, new)
    if actor_role == Role.DPO:
        return Role.DPO in (current, new)
    return False


def may_act_on_account(actor_role: str, account_role: str) -> bool:
    """Whether a person of `actor_role` may act on (disable, reset the second factor of) an
    account holding `account_role`: a DPO's account is only another DPO's business."""
    return account_role != Role.DPO or actor_role == Role.DPO


def assignable_roles(actor_role: str, current: str) -> tuple[str, ...]:
    """The roles `actor_role` may give an account that now holds `current` (for forms)."""
    return tuple(r.value for r in Role if may_assign_role(actor_role, current, r.value))


def parse_role(value: str) -> Role:
    """The Role named by `value`, or InvalidInput naming the allowed roles."""
    from callvault.errors import InvalidInput

    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role; use one of: {allowed}") from None
