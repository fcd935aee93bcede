"""CSRF: a cookie-authenticated request that changes state needs the session's token."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Form, Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.auth import Principal, current_principal
from callvault.accounts.roles import Role
from callvault.accounts.tokens import create_service_token
from callvault.clock import FixedClock
from callvault.runtime import Runtime
from tests.accounts.conftest import MakeAccount, login, parts_app


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


def _form_route_app(runtime: Runtime) -> FastAPI:
    """The accounts routes plus one route that takes `Form()` fields after a signed-in check."""
    app = parts_app(runtime)

    def rename(
        principal: Annotated[Principal, Depends(current_principal)],
        label: Annotated[str, Form()],
    ) -> dict[str, str]:
        return {"label": label, "role": principal.role}

    def upload(
        principal: Annotated[Principal, Depends(current_principal)],
        note: Annotated[str, Form()],
    ) -> dict[str, str]:
        return {"note": note}

    async def raw(
        request: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> dict[str, str]:
        return {"bytes": str(len(await request.body()))}

    app.add_api_route("/form-route", rename, methods=["POST"])
    app.add_api_route("/multipart-route", upload, methods=["POST"])
    app.add_api_route("/raw-route", raw, methods=["POST"])
    return app


@pytest.mark.parametrize(
    ("path", "multipart", "sent", "status"),
    [
        ("/form-route", False, "right", 200),
        ("/form-route", False, "wrong", 403),
        ("/form-route", False, "none", 403),
        ("/multipart-route", True, "right", 200),
        ("/multipart-route", True, "wrong", 403),
        ("/raw-route", False, "right", 200),  # the route can still read the raw body
    ],
)
def test_routes_with_form_parameters_check_the_form_field(
    path: str,
    multipart: bool,
    sent: str,
    status: int,
    runtime: Runtime,
    make_account: MakeAccount,
    clock: FixedClock,
) -> None:
    with TestClient(_form_route_app(runtime)) as client:
        headers = login(client, make_account(Role.AGENT), clock)
        data = {"label": "quality", "note": "a note"}
        if sent == "right":
            data["csrf_token"] = headers["X-CSRF-Token"]
        elif sent == "wrong":
            data["csrf_token"] = "0" * 64
        files = {"attachment": ("a.txt", b"x", "text/plain")} if multipart else None
        response = client.post(path, data=data, files=files)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() in (
            {"label": "quality", "role": "agent"},
            {"note": "a note"},
            {"bytes": str(len(response.request.content))},
        )
    else:
        assert "CSRF" in response.json()["message"]
