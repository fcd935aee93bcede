"""Housekeeping: old login counts and long-ended sessions are forgotten, live ones kept."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts import service, throttle
from callvault.accounts.models import LoginFailure, LoginSession, LoginThrottle
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from tests.accounts.conftest import MakeAccount, login


def _count(session: Session, model: type) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_purge_keeps_what_the_limits_and_live_sessions_need(
    client: TestClient, make_account: MakeAccount, clock: FixedClock, session: Session
) -> None:
    account = make_account(Role.AGENT)
    headers = login(client, account, clock)
    client.delete("/api/v1/session", headers=headers)  # one ended session
    client.post("/api/v1/session", json={"email": "x@example.org", "password": "Wrong-Guess-42"})
    login(client, account, clock)  # one live session
    assert service.purge_login_records(session, clock.now()) == service.PurgedLoginRecords(0, 0, 0)

    clock.advance(seconds=(throttle.KEEP_FAILURES + timedelta(minutes=1)).total_seconds())
    purged = service.purge_login_records(session, clock.now())
    assert (purged.failures, purged.throttles) == (1, 2)
    assert _count(session, LoginFailure) == 0 and _count(session, LoginThrottle) == 0

    clock.advance(days=30)
    assert service.purge_login_records(session, clock.now()).sessions == 2
    assert _count(session, LoginSession) == 0
