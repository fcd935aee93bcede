"""Changing a person's role (audited, sessions ended at once) and their interface language."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts import service
from callvault.accounts.auth import Principal
from callvault.accounts.models import Account, LoginSession
from callvault.accounts.roles import Role
from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.errors import InvalidInput, NotFound, PermissionDenied
from callvault.runtime import Runtime
from tests.accounts.conftest import PASSWORD, MakeAccount, login

DPO, TM, QA, AGENT, IT = (r.value for r in Role)


def as_principal(account: Account) -> Principal:
    return Principal(kind="account", id=account.id, role=account.role, session_id=None)


def role_changes(session: Session, account: Account) -> list[AuditEntry]:
    return list(
        session.scalars(
            sa.select(AuditEntry)
            .where(
                AuditEntry.action == "account.role_change",
                AuditEntry.object_id == str(account.id),
            )
            .order_by(AuditEntry.seq)
        )
    )


def open_sessions(session: Session, account: Account) -> int:
    return len(
        session.scalars(
            sa.select(LoginSession.id).where(
                LoginSession.account_id == account.id, LoginSession.ended_at.is_(None)
            )
        ).all()
    )


@pytest.mark.parametrize(
    ("actor_role", "current", "new", "allowed"),
    [
        (IT, AGENT, QA, True),
        (IT, QA, AGENT, True),
        (IT, TM, IT, True),
        (IT, AGENT, DPO, False),
        (IT, DPO, AGENT, False),
        (DPO, QA, DPO, True),
        (DPO, DPO, AGENT, True),
        (DPO, AGENT, QA, False),
        (QA, AGENT, TM, False),
        (AGENT, TM, AGENT, False),
    ],
)
def test_change_role_follows_the_rules_and_is_audited(
    actor_role: str,
    current: str,
    new: str,
    allowed: bool,
    session: Session,
    runtime: Runtime,
    make_account: MakeAccount,
    client: TestClient,
    clock: FixedClock,
) -> None:
    actor = make_account(Role(actor_role))
    target = make_account(Role(current))
    login(client, target, clock)
    assert open_sessions(session, target) == 1
    if allowed:
        changed = service.change_role(
            session,
            runtime,
            actor_principal=as_principal(actor),
            account_id=target.id,
            role=new,
            source="testclient",
        )
        assert changed.role == new
        assert open_sessions(session, target) == 0
        (entry,) = role_changes(session, target)
        assert entry.actor == f"account:{actor.id}" and entry.outcome == "ok"
        assert entry.details == {"from": current, "to": new, "sessions_ended": 1}
    else:
        with pytest.raises(PermissionDenied):
            service.change_role(
                session,
                runtime,
                actor_principal=as_principal(actor),
                account_id=target.id,
                role=new,
                source="testclient",
            )
        session.refresh(target)
        assert target.role == current
        assert open_sessions(session, target) == 1
        (entry,) = role_changes(session, target)
        assert entry.outcome == "refused" and entry.details == {"from": current, "to": new}


@pytest.mark.parametrize("role", [IT, DPO])
def test_nobody_changes_their_own_role(
    role: str, session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    me = make_account(Role(role))
    with pytest.raises(PermissionDenied, match="your own role"):
        service.change_role(
            session, runtime, actor_principal=as_principal(me), account_id=me.id, role=AGENT
        )
    session.refresh(me)
    assert me.role == role


def test_a_service_token_cannot_change_roles(
    session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    target = make_account(Role.AGENT)
    robot = Principal(kind="service", id=uuid.uuid4(), role="service:ingest", session_id=None)
    with pytest.raises(PermissionDenied):
        service.change_role(session, runtime, actor_principal=robot, account_id=target.id, role=QA)


def test_the_command_line_may_assign_the_dpo_role(
    session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    target = make_account(Role.AGENT)
    service.change_role(session, runtime, actor_principal=None, account_id=target.id, role=DPO)
    assert target.role == DPO
    (entry,) = role_changes(session, target)
    assert entry.actor == "system" and entry.source == "cli"


def test_the_same_role_again_changes_nothing(
    session: Session,
    runtime: Runtime,
    make_account: MakeAccount,
    client: TestClient,
    clock: FixedClock,
) -> None:
    actor, target = make_account(Role.IT_ADMIN), make_account(Role.QA_MANAGER)
    login(client, target, clock)
    service.change_role(
        session, runtime, actor_principal=as_principal(actor), account_id=target.id, role=QA
    )
    assert open_sessions(session, target) == 1
    assert role_changes(session, target) == []


@pytest.mark.parametrize(
    ("account_id", "role", "error"),
    [(None, "superuser", InvalidInput), (uuid.uuid4(), QA, NotFound)],
)
def test_unknown_roles_and_accounts_are_refused(
    account_id: uuid.UUID | None,
    role: str,
    error: type[Exception],
    session: Session,
    runtime: Runtime,
    make_account: MakeAccount,
) -> None:
    actor, target = make_account(Role.IT_ADMIN), make_account(Role.AGENT)
    with pytest.raises(error):
        service.change_role(
            session,
            runtime,
            actor_principal=as_principal(actor),
            account_id=account_id or target.id,
            role=role,
        )


def test_a_demoted_manager_loses_access_at_once(
    session: Session,
    runtime: Runtime,
    make_account: MakeAccount,
    client: TestClient,
    clock: FixedClock,
) -> None:
    it_admin, manager = make_account(Role.IT_ADMIN), make_account(Role.QA_MANAGER)
    login(client, manager, clock)
    assert client.get("/api/v1/recordings").status_code == 200
    service.change_role(
        session, runtime, actor_principal=as_principal(it_admin), account_id=manager.id, role=AGENT
    )
    assert client.get("/api/v1/recordings").status_code == 401


@pytest.mark.parametrize(
    ("actor_role", "current", "new", "status"),
    [(IT, AGENT, QA, 200), (IT, AGENT, DPO, 403), (DPO, AGENT, DPO, 200), (DPO, AGENT, TM, 403)],
)
def test_the_role_route(
    actor_role: str,
    current: str,
    new: str,
    status: int,
    session: Session,
    make_account: MakeAccount,
    client: TestClient,
    clock: FixedClock,
) -> None:
    actor, target = make_account(Role(actor_role)), make_account(Role(current))
    headers = login(client, actor, clock)
    response = client.post(
        f"/api/v1/accounts/{target.id}/role", json={"role": new}, headers=headers
    )
    assert response.status_code == status, response.text
    session.refresh(target)
    assert target.role == (new if status == 200 else current)
    if status == 200:
        assert response.json()["role"] == new


@pytest.mark.parametrize(("asked", "kept"), [("en", "en"), (" EN ", "en"), ("sv", "sv")])
def test_set_language_keeps_the_choice(
    asked: str, kept: str, session: Session, runtime: Runtime, make_account: MakeAccount
) -> None:
    account = make_account(Role.AGENT)
    assert service.set_language(session, runtime, account.id, asked).language == kept
    session.refresh(account)
    assert account.language == kept


@pytest.mark.parametrize(
    ("known", "language", "error"), [(True, "fr", InvalidInput), (False, "en", NotFound)]
)
def test_set_language_refuses_unknown_languages_and_accounts(
    known: bool,
    language: str,
    error: type[Exception],
    session: Session,
    runtime: Runtime,
    make_account: MakeAccount,
) -> None:
    account_id = make_account(Role.AGENT).id if known else uuid.uuid4()
    with pytest.raises(error):
        service.set_language(session, runtime, account_id, language)


@pytest.mark.parametrize(
    "email",
    [
        "dpo@example.org\u200b",  # zero-width space: shown exactly like dpo@example.org
        "\u202egro.elpmaxe@opd",  # a right-to-left override: shown as dpo@example.org
        "d\u00adpo@example.org",  # soft hyphen
        "\uff44po@example.org",  # a full-width letter, not the one NFKC makes of it
    ],
)
def test_an_email_that_looks_like_another_is_refused(
    session: Session, runtime: Runtime, email: str
) -> None:
    # IT could otherwise create a manager whose address reads exactly as the DPO's in every
    # list, grant and audit view.
    with pytest.raises(InvalidInput, match="email"):
        service.create_account(
            session,
            runtime,
            email=email,
            role=Role.QA_MANAGER,
            password=PASSWORD,
            actor="system",
            source="cli",
        )
