"""Getting back in: enable after disable, reset links, must-change passwords, recovery codes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from callvault.accounts import recovery, service
from callvault.accounts.auth import Principal
from callvault.accounts.models import Account, PasswordReset, RecoveryCode
from callvault.accounts.roles import Role
from callvault.audit.models import AuditEntry
from callvault.cli import app
from callvault.clock import FixedClock
from callvault.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from callvault.runtime import Runtime
from tests.accounts.conftest import PASSWORD, MakeAccount, login, totp_now

NEW_PASSWORD = "Quiet-Meadow-Compass-73"  # noqa: S105 (synthetic)
runner = CliRunner()


@pytest.fixture(autouse=True)
def _plain_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def sign_in(session: Session, runtime: Runtime, account: Account, password: str = PASSWORD) -> None:
    service.authenticate(session, runtime, account.email, password, None, "test")


def test_users_disable_and_enable_round_trip(
    session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    person = make_account(Role.AGENT)
    session.commit()
    assert runner.invoke(app, ["users", "disable", "--email", person.email]).exit_code == 0
    with pytest.raises(AuthenticationFailed):
        sign_in(session, runtime, person)
    session.rollback()
    done = runner.invoke(app, ["users", "enable", "--email", person.email])
    assert done.exit_code == 0, done.output
    assert "enabled account" in done.output
    sign_in(session, runtime, person)  # the person can sign in again
    actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert "account.enable" in actions


def test_it_cannot_enable_a_dpo(
    session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    it, dpo = make_account(Role.IT_ADMIN), make_account(Role.DPO)
    service.disable_account(session, runtime, dpo, actor="system", source="cli")
    with pytest.raises(PermissionDenied):
        service.enable_account(session, runtime, dpo, actor=f"account:{it.id}", source="t")


def test_reset_link_lets_the_person_choose_a_password_once(
    session: Session, runtime: Runtime, make_account: MakeAccount, clock: FixedClock
) -> None:
    it, person = make_account(Role.IT_ADMIN), make_account(Role.QA_MANAGER)
    issued = recovery.issue_password_reset(
        session, runtime, person, actor=f"account:{it.id}", source="t"
    )
    assert issued.url.startswith(runtime.settings.public_url + "/password-reset/")
    assert issued.expires_at == clock.now() + timedelta(hours=24)
    token = issued.url.rsplit("/", 1)[1]
    stored = session.scalars(sa.select(PasswordReset)).one()
    assert token not in stored.token_sha256  # only the hash is kept
    sign_in(session, runtime, person)  # the old password works until the link is used
    recovery.complete_password_reset(
        session, runtime, token=token, new_password=NEW_PASSWORD, source="t"
    )
    sign_in(session, runtime, person, NEW_PASSWORD)
    with pytest.raises(InvalidInput):  # single use
        recovery.complete_password_reset(
            session, runtime, token=token, new_password=PASSWORD + "x", source="t"
        )


def test_reset_link_expires_after_24_hours_and_a_new_one_voids_it(
    session: Session, runtime: Runtime, make_account: MakeAccount, clock: FixedClock
) -> None:
    person = make_account(Role.AGENT)
    first = recovery.issue_password_reset(session, runtime, person, actor="system", source="t")
    second = recovery.issue_password_reset(session, runtime, person, actor="system", source="t")
    with pytest.raises(InvalidInput):
        recovery.reset_link_account(session, runtime, first.url.rsplit("/", 1)[1])
    clock.advance(hours=24)
    with pytest.raises(InvalidInput):
        recovery.reset_link_account(session, runtime, second.url.rsplit("/", 1)[1])


def test_it_cannot_reset_a_dpos_password(
    session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    it, dpo = make_account(Role.IT_ADMIN), make_account(Role.DPO)
    with pytest.raises(PermissionDenied):
        recovery.issue_password_reset(session, runtime, dpo, actor=f"account:{it.id}", source="t")


def _live_link(session: Session, runtime: Runtime, it: Account, person: Account) -> str:
    issued = recovery.issue_password_reset(
        session, runtime, person, actor=f"account:{it.id}", source="t"
    )
    return issued.url.rsplit("/", 1)[1]


def test_a_reset_link_dies_when_the_account_becomes_a_dpos(
    session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    # IT may not reset a DPO's password; a link it got while the person was a manager must not
    # become a way in once a DPO promotes them.
    it, dpo = make_account(Role.IT_ADMIN), make_account(Role.DPO)
    person = make_account(Role.TRAINING_MANAGER)
    token = _live_link(session, runtime, it, person)
    principal = Principal(kind="account", id=dpo.id, role=Role.DPO.value, session_id=None)
    service.change_role(
        session, runtime, actor_principal=principal, account_id=person.id, role="dpo", source="t"
    )
    with pytest.raises(InvalidInput):
        recovery.complete_password_reset(
            session, runtime, token=token, new_password=NEW_PASSWORD, source="t"
        )


def test_a_reset_link_dies_when_the_person_changes_their_password_or_is_disabled(
    session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    it, person = make_account(Role.IT_ADMIN), make_account(Role.QA_MANAGER)
    token = _live_link(session, runtime, it, person)
    service.change_password(
        session,
        runtime,
        account_id=person.id,
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        keep_session=None,
        source="t",
    )
    with pytest.raises(InvalidInput):  # they remembered: the link handed on is spent
        recovery.reset_link_account(session, runtime, token)
    token = _live_link(session, runtime, it, person)
    service.disable_account(session, runtime, person, actor=f"account:{it.id}", source="t")
    service.enable_account(session, runtime, person, actor=f"account:{it.id}", source="t")
    with pytest.raises(InvalidInput):  # a disable is not undone for links given out before it
        recovery.reset_link_account(session, runtime, token)


def test_reset_link_over_http(
    client: TestClient, session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    it, person = make_account(Role.IT_ADMIN), make_account(Role.AGENT)
    session.commit()
    headers = login(client, it, runtime.clock)  # type: ignore[arg-type]
    issued = client.post(f"/api/v1/accounts/{person.id}/password-reset", headers=headers)
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"  # the link is a secret
    token = issued.json()["url"].rsplit("/", 1)[1]
    client.cookies.clear()
    weak = client.post("/api/v1/password-reset", json={"token": token, "new_password": "short"})
    assert weak.status_code == 422
    done = client.post(
        "/api/v1/password-reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204
    again = client.post(
        "/api/v1/password-reset", json={"token": token, "new_password": NEW_PASSWORD + "1"}
    )
    assert again.status_code == 422


def test_a_password_someone_else_chose_must_be_changed_first(
    client: TestClient, session: Session, runtime: Runtime, clock: FixedClock
) -> None:
    person = service.create_account(
        session,
        runtime,
        email="ny@example.org",
        role=Role.QA_MANAGER,
        password=PASSWORD,
        actor="system",
        source="cli",
        password_must_change=True,
    )
    session.commit()
    answer = client.post("/api/v1/session", json={"email": person.email, "password": PASSWORD})
    assert answer.json()["password_change_required"] is True
    headers = {"X-CSRF-Token": answer.json()["csrf_token"]}
    blocked = client.get("/api/v1/recordings", headers=headers)
    assert blocked.status_code == 403
    assert blocked.json()["error"] == "password_change_required"
    changed = client.post(
        "/api/v1/account/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert client.get("/api/v1/recordings", headers=headers).status_code == 200


def test_enrolment_issues_ten_hashed_recovery_codes_each_usable_once(
    session: Session, runtime: Runtime, make_account: MakeAccount, clock: FixedClock
) -> None:
    account = make_account(Role.DPO, enrol=False)
    enrolment = service.begin_totp_enrolment(session, runtime, account.id)
    from callvault.accounts import totp

    clock.advance(seconds=30)
    codes = service.confirm_totp_enrolment(
        session,
        runtime,
        account_id=account.id,
        session_id=None,
        code=totp.code_at(enrolment.secret, clock.now()),
        source="t",
    )
    assert len(codes) == 10 == len(set(codes))
    stored = session.scalars(sa.select(RecoveryCode.code_sha256)).all()
    assert len(stored) == 10
    assert not any(c in s or c.replace("-", "") in s for c in codes for s in stored)
    session.commit()
    service.authenticate(session, runtime, account.email, PASSWORD, codes[3].lower(), "t")
    session.commit()
    with pytest.raises(AuthenticationFailed):  # used once
        service.authenticate(session, runtime, account.email, PASSWORD, codes[3], "t")
    session.rollback()
    with pytest.raises(AuthenticationFailed):  # a code needs the password too
        service.authenticate(session, runtime, account.email, "wrong" + PASSWORD, codes[4], "t")
    session.rollback()
    assert recovery.recovery_codes_left(session, account.id) == 9
    service.reset_totp(session, runtime, account, actor="system", source="cli")
    assert recovery.recovery_codes_left(session, account.id) == 0


def test_login_with_a_recovery_code_over_http(
    client: TestClient, session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    account = make_account(Role.IT_ADMIN)
    codes = recovery.issue_recovery_codes(session, runtime, account.id)
    session.commit()
    body = {"email": account.email, "password": PASSWORD, "recovery_code": codes[0]}
    assert client.post("/api/v1/session", json=body).status_code == 200
    assert client.post("/api/v1/session", json=body).status_code == 401
    clock = runtime.clock
    assert isinstance(clock, FixedClock)
    body = {"email": account.email, "password": PASSWORD, "totp": totp_now(account, clock)}
    assert client.post("/api/v1/session", json=body).status_code == 200


def test_make_run_takes_a_port() -> None:
    makefile = Path(__file__).resolve().parents[2] / "Makefile"
    dry = subprocess.run(  # noqa: S603 - fixed arguments
        ["make", "-n", "-f", str(makefile), "run", "PORT=8123", f"STAMP={makefile}"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        cwd=makefile.parent,
    )
    assert "serve --host 127.0.0.1 --port 8123" in dry.stdout


@pytest.mark.parametrize("change", ["disabled", "demoted"])
def test_a_reset_link_dies_with_its_issuers_it_rights(
    session: Session, runtime: Runtime, make_account: MakeAccount, change: str
) -> None:
    # An IT admin who leaves (disabled, or moved to another role) must not keep a live way into
    # the accounts they issued links for.
    it, other_it = make_account(Role.IT_ADMIN), make_account(Role.IT_ADMIN)
    person = make_account(Role.QA_MANAGER)
    token = _live_link(session, runtime, it, person)
    if change == "disabled":
        service.disable_account(session, runtime, it, actor=f"account:{other_it.id}", source="t")
    else:
        principal = Principal(
            kind="account", id=other_it.id, role=Role.IT_ADMIN.value, session_id=None
        )
        service.change_role(
            session, runtime, actor_principal=principal, account_id=it.id, role="agent", source="t"
        )
    with pytest.raises(InvalidInput):
        recovery.complete_password_reset(
            session, runtime, token=token, new_password=NEW_PASSWORD, source="t"
        )
