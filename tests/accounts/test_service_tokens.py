"""Service tokens: list (with last use, never the secret), revoke and rotate, CLI and API alike."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import structlog
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.accounts.models import ServiceAccount
from callvault.accounts.roles import Role
from callvault.audit.models import AuditEntry
from callvault.cli import app
from callvault.clock import FixedClock
from callvault.runtime import Runtime
from tests.accounts.conftest import MakeAccount, login

runner = CliRunner()


@pytest.fixture(autouse=True)
def _plain_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create(name: str = "crm", scope: str = "ingest") -> str:
    made = runner.invoke(app, ["tokens", "create", "--name", name, "--scope", scope])
    assert made.exit_code == 0, made.output
    return made.output.strip().splitlines()[-1]


def listed() -> list[dict[str, str | None]]:
    shown = runner.invoke(app, ["tokens", "list", "--json"])
    assert shown.exit_code == 0, shown.output
    rows: list[dict[str, str | None]] = json.loads(shown.output)["tokens"]
    return rows


def test_list_json_shows_a_created_token_without_its_secret(
    session: Session, runtime: Runtime
) -> None:
    token = create()
    rows = listed()
    assert [(r["name"], r["scope"], r["state"], r["last_used_at"]) for r in rows] == [
        ("crm", "ingest", "active", None)
    ]
    text = json.dumps(rows)
    stored = session.scalars(sa.select(ServiceAccount)).one()
    assert token not in text and token[12:] not in text
    assert stored.token_sha256 not in text
    assert rows[0]["prefix"] == token[:12]


def test_revoked_token_gets_401(client: TestClient, session: Session, runtime: Runtime) -> None:
    token = create(scope="telephony")
    # A live service token is known (403: tokens open no person's session), then revoked: 401.
    assert client.get("/api/v1/session", headers=bearer(token)).status_code == 403
    done = runner.invoke(app, ["tokens", "revoke", "crm"])
    assert done.exit_code == 0, done.output
    assert client.get("/api/v1/session", headers=bearer(token)).status_code == 401
    assert listed()[0]["state"] == "revoked"
    actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert "service_account.revoke" in actions


def test_use_is_remembered_to_the_minute(
    client: TestClient, session: Session, runtime: Runtime, clock: FixedClock
) -> None:
    token = create(scope="telephony")
    client.get("/api/v1/session", headers=bearer(token))
    assert listed()[0]["last_used_at"] == clock.now().isoformat()
    clock.advance(seconds=20)
    client.get("/api/v1/session", headers=bearer(token))
    first = listed()[0]["last_used_at"]
    assert first is not None and first < clock.now().isoformat()  # not rewritten within a minute
    clock.advance(minutes=2)
    client.get("/api/v1/session", headers=bearer(token))
    assert listed()[0]["last_used_at"] == clock.now().isoformat()


def test_rotate_replaces_the_secret_at_once(
    client: TestClient, session: Session, runtime: Runtime
) -> None:
    old = create(scope="telephony")
    rotated = runner.invoke(app, ["tokens", "rotate", "crm"])
    assert rotated.exit_code == 0, rotated.output
    new = rotated.output.strip().splitlines()[-1]
    assert new.startswith("cvt_") and new != old
    assert client.get("/api/v1/session", headers=bearer(old)).status_code == 401
    assert client.get("/api/v1/session", headers=bearer(new)).status_code == 403
    assert listed()[0]["prefix"] == new[:12]


def test_it_manages_tokens_over_the_api(
    client: TestClient, session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    it = make_account(Role.IT_ADMIN)
    session.commit()
    headers = login(client, it, runtime.clock)  # type: ignore[arg-type]
    made = client.post(
        "/api/v1/service-tokens", json={"name": "pbx", "scope": "telephony"}, headers=headers
    )
    assert made.status_code == 201, made.text
    token, token_id = made.json()["token"], made.json()["id"]
    assert made.json()["last_used_at"] is None
    assert made.headers["cache-control"] == "no-store"  # the secret is in this answer only
    rows = client.get("/api/v1/service-tokens", headers=headers).json()
    assert [r["name"] for r in rows] == ["pbx"] and "token" not in rows[0]
    bad = client.post(
        "/api/v1/service-tokens", json={"name": "x", "scope": "admin"}, headers=headers
    )
    assert bad.status_code == 422
    rotated = client.post(f"/api/v1/service-tokens/{token_id}/rotate", headers=headers)
    assert rotated.status_code == 200 and rotated.json()["token"] != token
    assert rotated.headers["cache-control"] == "no-store"
    revoked = client.post(f"/api/v1/service-tokens/{token_id}/revoke", headers=headers)
    assert revoked.json()["state"] == "revoked"
    again = client.post(f"/api/v1/service-tokens/{token_id}/rotate", headers=headers)
    assert again.status_code == 409
