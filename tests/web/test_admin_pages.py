"""The audit trail page (DPO, IT) and account administration (IT)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.runtime import Runtime
from tests.web.conftest import PASSWORD, Person, log_in


@pytest.mark.parametrize("role", ["dpo", "it_admin"])
def test_the_audit_trail_lists_entries_with_filters(
    client: TestClient, runtime: Runtime, people: dict[str, Person], role: str
) -> None:
    log_in(client, runtime, people[role])
    page = client.get("/audit")
    assert page.status_code == 200
    assert "auth.login" in page.text and "account.create" in page.text
    only_logins = client.get("/audit", params={"action": "auth.login"})
    assert "account.create" not in only_logins.text.split("<tbody>", 1)[1]


@pytest.mark.parametrize("role", ["qa_manager", "training_manager", "agent"])
def test_others_may_not_read_the_audit_trail(
    client: TestClient, runtime: Runtime, people: dict[str, Person], role: str
) -> None:
    log_in(client, runtime, people[role])
    assert client.get("/audit").status_code == 403


def test_it_creates_an_account_and_disables_it(
    client: TestClient, session: Session, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["it_admin"])
    created = client.post(
        "/accounts",
        data={
            "csrf_token": token,
            "email": "ny.agent@example.org",
            "role": "agent",
            "language": "sv",
            "password": PASSWORD,
        },
    )
    assert created.status_code == 200 and "Kontot har sparats." in created.text
    account = session.query(Account).filter_by(email="ny.agent@example.org").one()
    client.post(f"/accounts/{account.id}/disable", data={"csrf_token": token})
    session.refresh(account)
    assert account.disabled_at is not None


def test_it_resets_a_lost_second_factor(
    client: TestClient, session: Session, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["it_admin"])
    dpo = session.get(Account, __import__("uuid").UUID(people["dpo"].id))
    assert dpo is not None and dpo.totp_enabled_at is not None
    done = client.post(f"/accounts/{dpo.id}/totp-reset", data={"csrf_token": token})
    assert "Kontots tvåstegsverifiering har återställts." in done.text
    session.refresh(dpo)
    assert dpo.totp_enabled_at is None


def test_it_cannot_create_a_dpo(
    client: TestClient, session: Session, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["it_admin"])
    refused = client.post(
        "/accounts",
        data={"csrf_token": token, "email": "dpo2@example.org", "role": "dpo",
              "password": PASSWORD},
    )  # fmt: skip
    assert refused.status_code == 422
    assert session.query(Account).filter_by(email="dpo2@example.org").count() == 0
    assert 'value="dpo"' not in refused.text.split('id="f-role"', 1)[1].split("</select>")[0]
