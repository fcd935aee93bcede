"""The client address the login throttle and the audit trail use: forwarding headers count only
from CALLVAULT_TRUSTED_PROXIES, and a malformed address never stops an audit entry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts import throttle
from callvault.accounts.roles import Role
from callvault.app import create_app
from callvault.audit.models import AuditEntry
from callvault.runtime import Runtime
from tests.accounts.conftest import PASSWORD, MakeAccount


def _client(runtime: Runtime, trusted: str) -> TestClient:
    runtime.settings.trusted_proxies = trusted
    return TestClient(create_app(runtime), client=("127.0.0.1", 40000))


@pytest.fixture
def local_proxy_client(runtime: Runtime) -> Iterator[TestClient]:
    """Requests from 127.0.0.1 (a local proxy), with no proxies trusted: uvicorn's old default
    would have believed their X-Forwarded-For."""
    with _client(runtime, "") as client:
        yield client


@pytest.fixture
def trusted_proxy_client(runtime: Runtime) -> Iterator[TestClient]:
    with _client(runtime, "127.0.0.1/32") as client:
        yield client


def _fail(client: TestClient, email: str, forwarded_for: str) -> int:
    response = client.post(
        "/api/v1/session",
        json={"email": email, "password": "Not-The-Password-77"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


def test_a_chosen_x_forwarded_for_does_not_escape_the_address_limit(
    local_proxy_client: TestClient, make_account: MakeAccount
) -> None:
    account = make_account(Role.AGENT)
    for n in range(throttle.ADDRESS_FAILURES_PER_WINDOW):
        assert _fail(local_proxy_client, f"spray{n}@example.org", f"198.51.100.{n}") == 401
    answer = local_proxy_client.post(
        "/api/v1/session",
        json={"email": account.email, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.200"},
    )
    assert answer.status_code == 401, "the same peer, whatever it claims, is still blocked"


def _sources(session: Session, action: str) -> list[str | None]:
    entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)).all()
    return [e.source for e in entries]


def test_behind_a_trusted_proxy_the_forwarded_client_is_audited(
    trusted_proxy_client: TestClient, session: Session
) -> None:
    _fail(trusted_proxy_client, "nobody@example.org", "198.51.100.7")
    assert _sources(session, "auth.login_failed") == ["198.51.100.7"]


def test_an_untrusted_x_forwarded_for_is_ignored_in_the_audit(
    local_proxy_client: TestClient, session: Session
) -> None:
    _fail(local_proxy_client, "nobody@example.org", "198.51.100.7")
    assert _sources(session, "auth.login_failed") == ["127.0.0.1"]


def test_a_malformed_forwarded_address_is_audited_as_invalid(
    trusted_proxy_client: TestClient, session: Session
) -> None:
    assert _fail(trusted_proxy_client, "nobody@example.org", "a@b") == 401
    assert _sources(session, "auth.login_failed") == ["invalid"]
    forged = trusted_proxy_client.post(
        "/telephony/twilio/voice", data={"CallSid": "CA1"}, headers={"X-Forwarded-For": "a@b"}
    )
    assert forged.status_code == 403
    assert _sources(session, "webhook.forged") == ["invalid"]
