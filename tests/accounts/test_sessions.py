"""Server-side sessions (§8): cookie flags, fixation, timeouts, logout, password change."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts import sessions
from callvault.accounts.models import LoginSession
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.runtime import Runtime
from tests.accounts.conftest import PASSWORD, MakeAccount, login, parts_app

COOKIE = sessions.COOKIE_NAME


def _set_cookie_header(client: TestClient, email: str) -> str:
    response = client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    return response.headers["set-cookie"]


def test_cookie_is_httponly_and_samesite_lax_over_http(
    client: TestClient, make_account: MakeAccount
) -> None:
    header = _set_cookie_header(client, make_account(Role.AGENT).email)
    assert header.startswith(f"{COOKIE}=")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    assert "Secure" not in header and "Domain" not in header


@pytest.fixture
def https_client(runtime: Runtime) -> Iterator[TestClient]:
    runtime.settings = Settings(
        **{**runtime.settings.model_dump(), "public_url": "https://cv.example.org"}
    )
    with TestClient(parts_app(runtime), base_url="https://testserver") as c:
        yield c


def test_cookie_gets_host_prefix_and_secure_over_https(
    https_client: TestClient, make_account: MakeAccount
) -> None:
    header = _set_cookie_header(https_client, make_account(Role.AGENT).email)
    assert header.startswith("__Host-callvault_session=")
    assert "Secure" in header and "HttpOnly" in header and "Domain" not in header
    assert https_client.get("/api/v1/session").status_code == 200


def test_login_issues_a_new_id_and_ends_a_planted_one(
    client: TestClient, make_account: MakeAccount, clock: FixedClock, session: Session
) -> None:
    account = make_account(Role.AGENT)
    login(client, account, clock)
    planted = client.cookies[COOKIE]
    login(client, account, clock)
    fresh = client.cookies[COOKIE]
    assert fresh != planted
    row = session.scalar(
        sa.select(LoginSession).where(LoginSession.token_sha256 == sessions.token_digest(planted))
    )
    assert row is not None and row.ended_at is not None
    client.cookies.clear()
    client.cookies.set(COOKIE, planted)
    assert client.get("/api/v1/session").status_code == 401


def test_an_invented_session_id_is_not_adopted(
    client: TestClient, make_account: MakeAccount, clock: FixedClock
) -> None:
    account = make_account(Role.AGENT)
    invented = secrets.token_urlsafe(32)
    client.cookies.set(COOKIE, invented, domain="testserver.local")
    assert client.get("/api/v1/session").status_code == 401
    login(client, account, clock)
    assert client.cookies.get(COOKIE, domain="testserver.local") != invented


def test_only_a_hash_of_the_id_is_stored(
    client: TestClient, make_account: MakeAccount, clock: FixedClock, session: Session
) -> None:
    login(client, make_account(Role.AGENT), clock)
    token = client.cookies[COOKIE]
    stored = session.scalars(sa.select(LoginSession.token_sha256)).all()
    assert token not in stored and sessions.token_digest(token) in stored


@pytest.mark.parametrize(
    ("steps", "alive"),
    [
        ([timedelta(minutes=29)], True),
        ([timedelta(minutes=30)], False),
        ([timedelta(minutes=25)] * 20, True),  # active for 8 h 20 min
        ([timedelta(minutes=25)] * 29, False),  # past the 12 h absolute limit
    ],
    ids=["idle-29min", "idle-30min", "active-8h", "active-past-12h"],
)
def test_idle_and_absolute_timeouts(
    steps: list[timedelta],
    alive: bool,
    client: TestClient,
    make_account: MakeAccount,
    clock: FixedClock,
) -> None:
    login(client, make_account(Role.AGENT), clock)
    status = 200
    for step in steps:
        clock.advance(seconds=step.total_seconds())
        status = client.get("/api/v1/session").status_code
    assert status == (200 if alive else 401)


def test_logout_ends_the_session_on_the_server(
    client: TestClient, make_account: MakeAccount, clock: FixedClock
) -> None:
    headers = login(client, make_account(Role.AGENT), clock)
    token = client.cookies[COOKIE]
    assert client.delete("/api/v1/session", headers=headers).status_code == 204
    client.cookies.clear()
    client.cookies.set(COOKIE, token)  # a copy kept by an attacker
    assert client.get("/api/v1/session").status_code == 401


@pytest.mark.parametrize(("end_others", "other_alive"), [(True, False), (False, True)])
def test_password_change_can_end_every_other_session(
    end_others: bool,
    other_alive: bool,
    runtime: Runtime,
    make_account: MakeAccount,
    clock: FixedClock,
) -> None:
    account = make_account(Role.QA_MANAGER)
    app = parts_app(runtime)
    with TestClient(app) as mine, TestClient(app) as other:
        headers = login(mine, account, clock)
        login(other, account, clock)
        response = mine.post(
            "/api/v1/account/password",
            json={
                "current_password": PASSWORD,
                "new_password": "Quiet-Meadow-Falcon-314",
                "end_other_sessions": end_others,
            },
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert mine.get("/api/v1/session").status_code == 200
        assert (other.get("/api/v1/session").status_code == 200) is other_alive
