"""Fixtures for accounts tests: people of every role, a client for the whole app, login helpers."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts import service, totp
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.app import _callvault_error
from callvault.clock import FixedClock
from callvault.errors import CallvaultError
from callvault.runtime import Runtime

PASSWORD = "Blue-Harbour-Lantern-58"  # noqa: S105 (synthetic test password)

MakeAccount = Callable[..., Account]


@pytest.fixture(autouse=True)
def keyring_ready(runtime: Runtime) -> None:
    """TOTP secrets are sealed with the vault keyring, which needs its key file."""
    runtime.keyring.ensure()


@pytest.fixture
def make_account(session: Session, runtime: Runtime, clock: FixedClock) -> MakeAccount:
    """Create an account; dpo and it_admin get a confirmed TOTP factor unless told otherwise."""
    counter = iter(range(1, 10_000))

    def make(
        role: Role = Role.QA_MANAGER,
        *,
        email: str | None = None,
        password: str = PASSWORD,
        enrol: bool | None = None,
    ) -> Account:
        address = email or f"{role.value.replace('_', '-')}{next(counter)}@example.org"
        account = service.create_account(
            session,
            runtime,
            email=address,
            role=role,
            password=password,
            actor="system",
            source="cli",
        )
        if enrol if enrol is not None else role in (Role.DPO, Role.IT_ADMIN):
            enrolment = service.begin_totp_enrolment(session, runtime, account.id)
            clock.advance(seconds=30)
            service.confirm_totp_enrolment(
                session,
                runtime,
                account_id=account.id,
                session_id=None,
                code=totp.code_at(enrolment.secret, clock.now()),
                source="cli",
            )
            account.__dict__["_test_totp_secret"] = enrolment.secret
            clock.advance(seconds=30)
        session.flush()
        return account

    return make


def totp_now(account: Account, clock: FixedClock) -> str:
    """A fresh code for the account's enrolled factor (the clock moves a step so none repeats)."""
    clock.advance(seconds=30)
    return str(totp.code_at(account.__dict__["_test_totp_secret"], clock.now()))


def parts_app(runtime: Runtime, parts: tuple[str, ...] = ("accounts", "access")) -> FastAPI:
    """An app with only these parts' routes, built the way `create_app` builds the whole one.

    Unit tests of one part use it so another part's work in progress cannot break them; the
    route matrix in tests/access uses the whole `create_app`.
    """
    app = FastAPI()
    app.state.runtime = runtime
    app.add_exception_handler(CallvaultError, _callvault_error)
    for part in parts:
        if importlib.util.find_spec(f"callvault.{part}.api") is not None:
            app.include_router(importlib.import_module(f"callvault.{part}.api").router)
    return app


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(parts_app(runtime)) as c:
        yield c


def login(
    client: TestClient, account: Account, clock: FixedClock, password: str = PASSWORD
) -> dict[str, str]:
    """Sign in through the API; returns headers carrying the session's CSRF token."""
    body: dict[str, str] = {"email": account.email, "password": password}
    if "_test_totp_secret" in account.__dict__:
        body["totp"] = totp_now(account, clock)
    response = client.post("/api/v1/session", json=body)
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}
