"""DSAR fixtures: the retention part's recording factory, a keyed runtime and accounts."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.clock import FixedClock
from tests.retention.conftest import make_recording, vault_runtime

__all__ = ["make_recording", "vault_runtime", "make_account"]


@pytest.fixture
def make_account(session: Session, clock: FixedClock) -> Callable[..., Account]:
    def make(role: str = "agent", email: str | None = None) -> Account:
        account = Account(
            email=email or f"person-{uuid.uuid4().hex[:8]}@example.invalid",
            role=role,
            password_hash="!",  # noqa: S106 (no password: these accounts never sign in)
            password_changed_at=clock.now(),
            language="sv",
            created_at=clock.now(),
            created_by="cli",
        )
        session.add(account)
        session.flush()
        return account

    return make


@pytest.fixture(autouse=True)
def _policy_in_force(policy_version: object) -> None:
    """The report quotes the Art. 13 information of the policy version in force."""
