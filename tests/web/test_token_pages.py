"""IT's service tokens page: create (shown once), last use, rotate and revoke."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.models import ServiceAccount
from callvault.runtime import Runtime
from tests.web.conftest import Person, log_in


def test_it_creates_rotates_and_revokes_a_token(
    client: TestClient, session: Session, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["it_admin"])
    assert "API-nycklar" in client.get("/it").text  # in the IT menu, in Swedish
    made = client.post(
        "/service-tokens", data={"csrf_token": token, "name": "crm", "scope": "ingest"}
    )
    assert made.status_code == 201
    secret = made.text.split('id="issued-token"', 1)[1].split('class="secret">', 1)[1]
    secret = secret.split("<", 1)[0]
    assert secret.startswith("cvt_")
    page = client.get("/service-tokens").text
    assert secret not in page  # shown once only
    assert "Aldrig" in page  # never used yet
    account = session.query(ServiceAccount).one()
    rotated = client.post(f"/service-tokens/{account.id}/rotate", data={"csrf_token": token})
    assert 'id="issued-token"' in rotated.text and secret not in rotated.text
    client.post(f"/service-tokens/{account.id}/revoke", data={"csrf_token": token})
    session.refresh(account)
    assert account.disabled_at is not None
    assert "Återkallad" in client.get("/service-tokens").text


def test_the_token_page_is_for_it_only(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    log_in(client, runtime, people["dpo"])
    assert client.get("/service-tokens").status_code == 403
