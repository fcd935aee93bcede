"""The policy in force at a moment: before the first version nothing was consented to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from callvault.clock import FixedClock
from callvault.errors import ConfigurationError, InvalidInput
from callvault.policy.models import PolicyVersion
from callvault.policy.service import version_in_force


def test_no_version_at_all_is_a_configuration_error(session: Session, clock: FixedClock) -> None:
    with pytest.raises(ConfigurationError):
        version_in_force(session, clock.now())


def test_a_moment_before_the_first_version_is_refused_as_input(
    session: Session, clock: FixedClock, policy_version: PolicyVersion
) -> None:
    with pytest.raises(InvalidInput) as caught:
        version_in_force(session, policy_version.effective_from - timedelta(seconds=1))
    assert caught.value.status_code == 422
    assert version_in_force(session, policy_version.effective_from).id == policy_version.id
