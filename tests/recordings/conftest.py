"""Recordings fixtures: a runtime with keys and a policy in force, and a started_at within it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from callvault.clock import FixedClock
from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime
from tests.vault.conftest import s3_endpoint, s3_url  # noqa: F401 (shared fixtures)


@pytest.fixture
def ingest_runtime(runtime: Runtime, policy_version: PolicyVersion) -> Runtime:
    """The test runtime after `callvault init`: key file created, policy version 1 in force."""
    runtime.keyring.ensure()
    return runtime


@pytest.fixture
def started(clock: FixedClock) -> datetime:
    return clock.now() - timedelta(hours=1)
