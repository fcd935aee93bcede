"""Fixtures for the policy tests: version 1 seeded, and principals of each role."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal, current_principal
from callvault.policy.models import PolicyVersion
from callvault.policy.service import ensure_first_version
from callvault.runtime import Runtime


def principal(role: str) -> Principal:
    return Principal(kind="account", id=uuid.uuid4(), role=role, session_id=None)


@pytest.fixture
def dpo() -> Principal:
    return principal("dpo")


@pytest.fixture
def first_version(session: Session, runtime: Runtime) -> PolicyVersion:
    runtime.keyring.ensure()
    version = ensure_first_version(session, runtime)
    session.commit()
    return version


@pytest.fixture
def client(runtime: Runtime, first_version: PolicyVersion) -> Iterator[TestClient]:
    from callvault.app import create_app

    app = create_app(runtime)
    with TestClient(app) as test_client:
        test_client.app_state = app  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture
def login_as(client: TestClient) -> Callable[[Principal | None], None]:
    """Sign the client in as a principal (None: signed out). require_roles still decides."""

    def login(who: Principal | None) -> None:
        app = client.app_state  # type: ignore[attr-defined]
        if who is None:
            app.dependency_overrides.pop(current_principal, None)
        else:
            app.dependency_overrides[current_principal] = lambda: who

    return login
