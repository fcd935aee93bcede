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
SERVICE_ROLES: frozenset[str] = frozenset({SERVICE_INGEST, SERVICE_TELEPHONY})


def parse_role(value: str) -> Role:
    """The Role named by `value`, or InvalidInput naming the allowed roles."""
    from callvault.errors import InvalidInput

    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInput(f"unknown role; use one of: {allowed}") from None
