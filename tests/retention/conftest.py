"""Retention fixtures: a runtime with keys, and a factory of recordings with real vault blobs."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from callvault.policy.models import PolicyVersion
from callvault.runtime import Runtime
from tests.retention.factory import RecordingFactory


@pytest.fixture
def vault_runtime(runtime: Runtime) -> Runtime:
    runtime.keyring.ensure()
    return runtime


@pytest.fixture
def make_recording(
    session: Session, vault_runtime: Runtime, policy_version: PolicyVersion
) -> RecordingFactory:
    return RecordingFactory(session, vault_runtime, policy_version)
