"""TOTP second factor: mandatory for dpo and it_admin, optional for the others."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from callvault.accounts import totp
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from tests.accounts.conftest import PASSWORD, MakeAccount


@pytest.mark.parametrize(
    ("role", "must_enrol"),
    [
        (Role.DPO, True),
        (Role.IT_ADMIN, True),
        (Role.QA_MANAGER, False),
        (Role.TRAINING_MANAGER, False),
        (Role.AGENT, False),
    ],
)
def test_which_roles_must_enrol_before_anything_else(
    role: Role,
    must_enrol: bool,
    client: TestClient,
    make_account: MakeAccount,
) -> None:
    account = make_account(role, enrol=False)
    response = client.post("/api/v1/session", json={"email": account.email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["second_factor_enrolment_required"] is must_enrol
    csrf = {"X-CSRF-Token": response.json()["csrf_token"]}
    change = client.post(
        "/api/v1/account/password",
        json={"current_password": PASSWORD, "new_password": PASSWORD + "x"},
        headers=csrf,
    )
    if must_enrol:
        assert change.status_code == 403
        assert change.json()["error"] == "second_factor_required"
    else:
        assert change.status_code == 200


def test_enrolment_through_the_api_then_login_needs_the_code(
    client: TestClient, make_account: MakeAccount, clock: FixedClock
) -> None:
    account = make_account(Role.DPO, enrol=False)
    first = client.post("/api/v1/session", json={"email": account.email, "password": PASSWORD})
    csrf = {"X-CSRF-Token": first.json()["csrf_token"]}
    started = client.post("/api/v1/account/totp", headers=csrf)
    assert started.status_code == 200
    secret = started.json()["secret"]
    assert started.headers["cache-control"] == "no-store"  # secrets are never kept by a cache
    assert started.json()["provisioning_uri"].startswith("otpauth://totp/")
    wrong = client.post("/api/v1/account/totp/confirm", json={"code": "000000"}, headers=csrf)
    assert wrong.status_code == 422
    clock.advance(seconds=30)
    code = totp.code_at(secret, clock.now())
    ok = client.post("/api/v1/account/totp/confirm", json={"code": code}, headers=csrf)
    assert ok.status_code == 200
    assert len(ok.json()["recovery_codes"]) == 10
    assert ok.headers["cache-control"] == "no-store"
    assert client.get("/api/v1/session").json()["second_factor_enrolment_required"] is False
    body = {"email": account.email, "password": PASSWORD}
    assert client.post("/api/v1/session", json=body).status_code == 401
    clock.advance(seconds=30)
    body["totp"] = totp.code_at(secret, clock.now())
    assert client.post("/api/v1/session", json=body).status_code == 200


def test_the_secret_is_stored_sealed(make_account: MakeAccount) -> None:
    account = make_account(Role.IT_ADMIN)
    secret = account.__dict__["_test_totp_secret"]
    assert account.totp_secret_enc is not None
    assert secret.encode() not in account.totp_secret_enc
