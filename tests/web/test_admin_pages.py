"""The audit trail page (DPO, IT) and account administration (IT; the DPO role by a DPO)."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.app import create_app
from callvault.runtime import Runtime
from tests.web.conftest import PASSWORD, Person, log_in, make_person


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
    assert account.password_must_change  # IT chose the password
    asked = client.post(f"/accounts/{account.id}/disable", data={"csrf_token": token})
    assert 'id="confirm-disable"' in asked.text and "ny.agent@example.org" in asked.text
    session.refresh(account)
    assert account.disabled_at is None  # nothing happens before the confirmation
    client.post(f"/accounts/{account.id}/disable", data={"csrf_token": token, "confirm": "1"})
    session.refresh(account)
    assert account.disabled_at is not None
    listed = client.get("/accounts").text
    assert f'action="/accounts/{account.id}/enable"' in listed and "Aktivera" in listed
    enabled = client.post(f"/accounts/{account.id}/enable", data={"csrf_token": token})
    assert "Kontot har aktiverats" in enabled.text
    session.refresh(account)
    assert account.disabled_at is None


def test_it_resets_a_lost_second_factor(
    client: TestClient, session: Session, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["it_admin"])
    colleague = make_person(session, runtime, "it_admin", email="it2@example.org")
    other = session.get(Account, __import__("uuid").UUID(colleague.id))
    assert other is not None and other.totp_enabled_at is not None
    done = client.post(f"/accounts/{other.id}/totp-reset", data={"csrf_token": token})
    assert "Kontots tvåstegsverifiering har återställts." in done.text
    session.refresh(other)
    assert other.totp_enabled_at is None


def test_it_cannot_reset_the_dpos_second_factor(
    client: TestClient, session: Session, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["it_admin"])
    dpo = session.get(Account, __import__("uuid").UUID(people["dpo"].id))
    assert dpo is not None and dpo.totp_enabled_at is not None
    refused = client.post(f"/accounts/{dpo.id}/totp-reset", data={"csrf_token": token})
    assert "Kontots tvåstegsverifiering har återställts." not in refused.text
    session.refresh(dpo)
    assert dpo.totp_enabled_at is not None


def test_it_sees_no_buttons_on_a_dpos_account_that_would_be_refused(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    dpo, agent = people["dpo"].id, people["agent"].id
    log_in(client, runtime, people["it_admin"])
    page = client.get("/accounts").text
    for action in ("disable", "totp-reset", "password-reset"):
        assert f'action="/accounts/{dpo}/{action}"' not in page, action
    assert f'action="/accounts/{agent}/disable"' in page


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


def _role_options(page: str, account_id: str) -> list[str]:
    """The roles the accounts page offers for one account (empty: no role form for it)."""
    found = re.search(rf'<select id="role-{account_id}" name="role">(.*?)</select>', page, re.S)
    return re.findall(r'<option value="([a-z_]+)"', found.group(1)) if found else []


@pytest.mark.parametrize(
    ("viewer", "target", "offered"),
    [
        ("it_admin", "agent", ["training_manager", "qa_manager", "it_admin"]),
        ("it_admin", "dpo", []),  # IT leaves DPOs alone
        ("dpo", "agent", ["dpo"]),  # the DPO only gives (or takes) the DPO role
        ("dpo", "it_admin", ["dpo"]),
    ],
)
def test_the_accounts_page_offers_only_the_roles_one_may_give(
    viewer: str,
    target: str,
    offered: list[str],
    client: TestClient,
    runtime: Runtime,
    people: dict[str, Person],
) -> None:
    subject = people[target]
    log_in(client, runtime, people[viewer])
    page = client.get("/accounts")
    assert page.status_code == 200
    assert _role_options(page.text, subject.id) == offered
    assert _role_options(page.text, people[viewer].id) == []  # never one's own role
    assert ('action="/accounts"' in page.text) is (viewer == "it_admin")  # only IT creates


def test_it_changes_a_role_and_the_person_is_signed_out_at_once(
    client: TestClient, session: Session, runtime: Runtime, people: dict[str, Person]
) -> None:
    manager = people["qa_manager"]
    with TestClient(create_app(runtime), base_url="http://testserver") as theirs:
        theirs.headers["accept"] = "text/html"
        log_in(theirs, runtime, manager)
        assert theirs.get("/recordings").status_code == 200
        token = log_in(client, runtime, people["it_admin"])
        done = client.post(
            f"/accounts/{manager.id}/role", data={"csrf_token": token, "role": "agent"}
        )
        assert done.status_code == 200
        assert "Rollen har bytts och personens öppna sessioner har avslutats." in done.text
        gone = theirs.get("/recordings", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    account = session.get(Account, uuid.UUID(manager.id))
    assert account is not None and account.role == "agent"


@pytest.mark.parametrize(
    ("viewer", "target", "role", "status"),
    [
        ("it_admin", "agent", "dpo", 403),
        ("it_admin", "dpo", "agent", 403),
        ("dpo", "agent", "qa_manager", 403),
        ("it_admin", "agent", "superuser", 422),
        ("dpo", "agent", "dpo", 200),
    ],
)
def test_role_changes_outside_the_rules_are_refused_on_the_page(
    viewer: str,
    target: str,
    role: str,
    status: int,
    client: TestClient,
    session: Session,
    runtime: Runtime,
    people: dict[str, Person],
) -> None:
    subject = people[target]
    token = log_in(client, runtime, people[viewer])
    response = client.post(f"/accounts/{subject.id}/role", data={"csrf_token": token, "role": role})
    assert response.status_code == status
    account = session.get(Account, uuid.UUID(subject.id))
    assert account is not None
    session.refresh(account)
    assert account.role == (role if status == 200 else target)
    if status != 200:
        assert 'role="alert"' in response.text
