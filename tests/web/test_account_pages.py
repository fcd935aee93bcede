"""Login, logout, password change and TOTP set-up through the pages."""

from __future__ import annotations

import pyotp
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from callvault.accounts import totp
from callvault.clock import FixedClock
from callvault.runtime import Runtime
from tests.web.conftest import CSRF, PASSWORD, Person, log_in, login_form_token, make_person


@pytest.mark.parametrize(
    ("role", "home"),
    [
        ("dpo", "/dpo"),
        ("it_admin", "/it"),
        ("training_manager", "/recordings"),
        ("qa_manager", "/recordings"),
        ("agent", "/withdrawal"),
    ],
)
def test_login_sends_each_role_to_its_start_page(
    client: TestClient, runtime: Runtime, people: dict[str, Person], role: str, home: str
) -> None:
    person = people[role]
    code = ""
    if person.totp_secret:
        assert isinstance(runtime.clock, FixedClock)
        runtime.clock.advance(seconds=30)
        code = totp.code_at(person.totp_secret, runtime.clock.now())
    response = client.post(
        "/login",
        data={
            "email": person.email,
            "password": PASSWORD,
            "totp": code,
            "login_token": login_form_token(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == home
    assert "httponly" in response.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    ("email", "password", "with_code"),
    [
        ("dpo@example.org", "wrong password 123", True),
        ("dpo@example.org", PASSWORD, False),
        ("nobody@example.org", PASSWORD, False),
    ],
)
def test_login_refusals_all_read_the_same(
    client: TestClient,
    runtime: Runtime,
    people: dict[str, Person],
    email: str,
    password: str,
    with_code: bool,
) -> None:
    code = totp.code_at(people["dpo"].totp_secret or "", runtime.clock.now()) if with_code else ""
    response = client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "totp": code,
            "login_token": login_form_token(client),
        },
    )
    assert response.status_code == 401
    assert "Fel e-postadress, lösenord eller kod" in response.text


def test_a_page_without_login_redirects_to_the_login_page(client: TestClient) -> None:
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account"


def test_logout_ends_the_session_on_the_server(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    token = log_in(client, runtime, people["agent"])
    cookie = dict(client.cookies)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.clear()
    client.cookies.update(cookie)  # replaying the old cookie must not work
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_a_form_post_without_the_csrf_token_is_refused(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    log_in(client, runtime, people["agent"])
    response = client.post("/logout", data={}, follow_redirects=False)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("new", "confirm", "status", "text"),
    [
        ("a brand new passphrase 7", "a brand new passphrase 7", 303, None),
        ("a brand new passphrase 7", "something else entirely", 422, "inte samma"),
        ("short", "short", 422, "minst 12 tecken"),
    ],
)
def test_password_change(
    client: TestClient,
    runtime: Runtime,
    people: dict[str, Person],
    new: str,
    confirm: str,
    status: int,
    text: str | None,
) -> None:
    token = log_in(client, runtime, people["qa_manager"])
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": new,
            "confirm_password": confirm,
            "end_other_sessions": "1",
        },
        follow_redirects=False,
    )
    assert response.status_code == status
    if text:
        assert text in response.text


def test_a_new_dpo_must_set_up_totp_and_can_with_the_shown_key(
    client: TestClient, runtime: Runtime, session: Session
) -> None:
    dpo = make_person(session, runtime, "agent", email="new-dpo@example.org")
    from callvault.accounts.models import Account

    account = session.get(Account, __import__("uuid").UUID(dpo.id))
    assert account is not None
    account.role = "dpo"
    session.flush()
    response = client.post(
        "/login",
        data={"email": dpo.email, "password": PASSWORD, "login_token": login_form_token(client)},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/account/totp"
    assert client.get("/account", follow_redirects=False).headers["location"] == "/account/totp"
    page = client.get("/account/totp")
    token = CSRF.search(page.text)
    assert token
    started = client.post("/account/totp/start", data={"csrf_token": token.group(1)})
    assert "<svg" in started.text
    secret = started.text.split('class="secret">', 1)[1].split("<", 1)[0]
    code = pyotp.TOTP(secret).at(runtime.clock.now())
    done = client.post(
        "/account/totp/confirm",
        data={"csrf_token": token.group(1), "code": code},
        follow_redirects=False,
    )
    # The ten recovery codes are shown once, then the DPO continues to their dashboard.
    assert done.status_code == 200
    assert done.text.count('<li><span class="secret">') == 10
    assert 'href="/dpo?done=totp"' in done.text


def test_a_person_whose_password_it_chose_must_change_it_first(
    client: TestClient, session: Session, runtime: Runtime
) -> None:
    from callvault.accounts import service as accounts

    accounts.create_account(
        session,
        runtime,
        email="ny.qa@example.org",
        role="qa_manager",
        password=PASSWORD,
        actor="system",
        source="cli",
        password_must_change=True,
    )
    session.flush()
    response = client.post(
        "/login",
        data={
            "email": "ny.qa@example.org",
            "password": PASSWORD,
            "login_token": login_form_token(client),
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/account/password"
    assert client.get("/recordings", follow_redirects=False).headers["location"] == (
        "/account/password"
    )
    page = client.get("/account/password")
    assert 'id="password-required"' in page.text
    token = CSRF.search(page.text)
    assert token
    new = "Quiet-Meadow-Compass-73"
    done = client.post(
        "/account/password",
        data={
            "csrf_token": token.group(1),
            "current_password": PASSWORD,
            "new_password": new,
            "confirm_password": new,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get("/recordings", follow_redirects=False).status_code == 200


def test_the_reset_link_page_sets_a_new_password_once(
    client: TestClient, session: Session, runtime: Runtime, people: dict[str, Person]
) -> None:
    it_token = log_in(client, runtime, people["it_admin"])
    agent = people["agent"]
    shown = client.post(f"/accounts/{agent.id}/password-reset", data={"csrf_token": it_token})
    assert shown.status_code == 200
    url = shown.text.split('id="reset-link">', 1)[1].split("<", 1)[0]
    path = url.removeprefix(runtime.settings.public_url)
    client.cookies.clear()
    form = client.get(path)
    assert form.status_code == 200 and agent.email in form.text
    new = "Quiet-Meadow-Compass-73"
    done = client.post(
        path, data={"new_password": new, "confirm_password": new}, follow_redirects=False
    )
    assert done.headers["location"] == "/login?done=password_reset"
    assert client.get(path).status_code == 410
    logged = client.post(
        "/login",
        data={"email": agent.email, "password": new, "login_token": login_form_token(client)},
        follow_redirects=False,
    )
    assert logged.status_code == 303


def test_the_login_page_takes_a_recovery_code(client: TestClient) -> None:
    page = client.get("/login")
    assert 'name="recovery_code"' in page.text
    assert "Använd en återställningskod" in page.text


def _login_post(
    client: TestClient, person: Person, token: str | None, headers: dict[str, str] | None = None
) -> Response:
    data = {"email": person.email, "password": PASSWORD}
    if token is not None:
        data["login_token"] = token
    return client.post("/login", data=data, headers=headers or {}, follow_redirects=False)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_a_cross_site_login_form_is_refused(
    client: TestClient, people: dict[str, Person], headers: dict[str, str]
) -> None:
    person = people["qa_manager"]
    refused = _login_post(client, person, login_form_token(client), headers)
    assert refused.status_code == 403
    assert "callvault_session" not in refused.headers.get("set-cookie", "")
    assert client.get("/account", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("token", [None, "", "forged.0000", "other-nonce.abc"])
def test_a_login_without_this_browsers_pre_session_token_is_refused(
    client: TestClient, people: dict[str, Person], token: str | None
) -> None:
    login_form_token(client)  # the cookie is set, but the form's token is missing or forged
    refused = _login_post(client, people["qa_manager"], token)
    assert refused.status_code == 403
    assert "Inloggningsformuläret hade gått ut" in refused.text


def test_a_token_from_another_browser_is_refused(
    client: TestClient, runtime: Runtime, people: dict[str, Person]
) -> None:
    from callvault.app import create_app

    with TestClient(create_app(runtime)) as attacker:
        token = login_form_token(attacker)
    login_form_token(client)
    assert _login_post(client, people["qa_manager"], token).status_code == 403


def test_a_same_origin_login_form_passes(client: TestClient, people: dict[str, Person]) -> None:
    headers = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    answer = _login_post(client, people["qa_manager"], login_form_token(client), headers)
    assert answer.status_code == 303


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 200),  # API clients send no Origin
        ({"Origin": "http://testserver"}, 200),
        ({"Origin": "https://attacker.example"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
    ],
)
def test_the_json_login_checks_the_origin_when_there_is_one(
    client: TestClient, people: dict[str, Person], headers: dict[str, str], status: int
) -> None:
    person = people["qa_manager"]
    answer = client.post(
        "/api/v1/session",
        json={"email": person.email, "password": PASSWORD},
        headers={"accept": "application/json", **headers},
    )
    assert answer.status_code == status
