"""CSRF: a cookie-authenticated request that changes state needs the session's token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.roles import Role
from callvault.accounts.tokens import create_service_token
from callvault.clock import FixedClock
from tests.accounts.conftest import MakeAccount, login


@pytest.mark.parametrize(
    ("how", "status"),
    [
        ("none", 403),
        ("wrong-header", 403),
        ("other-sessions-token", 403),
        ("header", 204),
        ("form-field", 204),
    ],
)
def test_logout_needs_the_csrf_token(
    how: str,
    status: int,
    client: TestClient,
    make_account: MakeAccount,
    clock: FixedClock,
) -> None:
    account = make_account(Role.AGENT)
    old = login(client, account, clock)
    headers = login(client, account, clock)  # a new login: the old token is worthless now
    kwargs: dict[str, object] = {}
    if how == "wrong-header":
        kwargs["headers"] = {"X-CSRF-Token": "0" * 64}
    elif how == "other-sessions-token":
        kwargs["headers"] = old
    elif how == "header":
        kwargs["headers"] = headers
    elif how == "form-field":
        kwargs["data"] = {"csrf_token": headers["X-CSRF-Token"]}
    response = client.request("DELETE", "/api/v1/session", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    if status == 403:
        assert "CSRF" in response.json()["message"]
        assert client.get("/api/v1/session").status_code == 200  # nothing happened


def test_reads_need_no_token(
    client: TestClient, make_account: MakeAccount, clock: FixedClock
) -> None:
    login(client, make_account(Role.AGENT), clock)
    assert client.get("/api/v1/session").status_code == 200


def test_bearer_token_requests_are_exempt(
    client: TestClient, session: Session, clock: FixedClock
) -> None:
    issued = create_service_token(session, clock, name="crm", scope="ingest")
    response = client.post(
        "/api/v1/account/password",
        json={"current_password": "x" * 12, "new_password": "y" * 12},
        headers={"Authorization": f"Bearer {issued.token}"},
    )
    # refused for its role (a service has no password), not for a missing CSRF token
    assert response.status_code == 403
    assert "CSRF" not in response.json()["message"]


def test_a_wrong_bearer_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/session", headers={"Authorization": "Bearer cvt_nope"})
    assert response.status_code == 401
