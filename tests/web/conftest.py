"""Fixtures for the web pages: the app over the rolled-back test runtime, and people to log in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts import service as accounts
from callvault.accounts import totp
from callvault.app import create_app
from callvault.clock import FixedClock
from callvault.runtime import Runtime

PASSWORD = "correct horse battery staple 42"  # noqa: S105 - synthetic test account
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


@dataclass
class Person:
    email: str
    role: str
    id: str
    totp_secret: str | None = None


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    runtime.keyring.ensure()
    with TestClient(create_app(runtime), base_url="http://testserver") as test_client:
        test_client.headers["accept"] = "text/html"
        yield test_client


def make_person(session: Session, runtime: Runtime, role: str, email: str | None = None) -> Person:
    account = accounts.create_account(
        session,
        runtime,
        email=email or f"{role}@example.org",
        role=role,
        password=PASSWORD,
        actor="system",
        source="cli",
    )
    person = Person(email=account.email, role=role, id=str(account.id))
    if role in ("dpo", "it_admin"):
        enrolment = accounts.begin_totp_enrolment(session, runtime, account.id)
        clock = runtime.clock
        assert isinstance(clock, FixedClock)
        accounts.confirm_totp_enrolment(
            session,
            runtime,
            account_id=account.id,
            session_id=None,
            code=totp.code_at(enrolment.secret, clock.now()),
            source="cli",
        )
        person.totp_secret = enrolment.secret
    session.flush()
    return person


class People(dict[str, Person]):
    """One account per role, created on first use (Argon2id hashing is deliberately slow);
    dpo and it_admin have TOTP enrolled."""

    def __init__(self, session: Session, runtime: Runtime) -> None:
        super().__init__()
        self._session, self._runtime = session, runtime

    def __missing__(self, role: str) -> Person:
        person = make_person(self._session, self._runtime, role)
        self[role] = person
        return person


@pytest.fixture
def people(session: Session, runtime: Runtime) -> People:
    runtime.keyring.ensure()
    return People(session, runtime)


LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


def login_form_token(client: TestClient) -> str:
    """Open the login page as a browser would: its pre-session token (and cookie). Someone still
    signed in on this client is signed out first, as a shared browser would be."""
    page = client.get("/login", follow_redirects=False)
    if page.is_redirect:
        for name in [n for n in client.cookies if "session" in n]:
            del client.cookies[name]
        page = client.get("/login", follow_redirects=False)
    match = LOGIN_TOKEN.search(page.text)
    assert match, "the login form carries a pre-session token"
    return match.group(1)


def log_in(client: TestClient, runtime: Runtime, person: Person) -> str:
    """Log in through the page and return the CSRF token of the new session."""
    code = ""
    if person.totp_secret:
        clock = runtime.clock
        assert isinstance(clock, FixedClock)
        clock.advance(seconds=30)  # a fresh time step: codes are never accepted twice
        code = totp.code_at(person.totp_secret, clock.now())
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
    assert response.status_code == 303, response.text
    page = client.get("/account")
    match = CSRF.search(page.text)
    assert match, "the account page carries the session's CSRF token"
    return match.group(1)
