"""Tests for /api/v1/audit: who may read the trail, pages, refusals and verification."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.roles import Role
from callvault.audit.queries import search
from callvault.audit.signing import ensure_signing_key
from callvault.clock import FixedClock
from callvault.runtime import Runtime
from tests.accounts.conftest import MakeAccount, keyring_ready, login, make_account, parts_app
from tests.audit.helpers import allow_tampering, make_chain

__all__ = ["keyring_ready", "make_account"]

ROUTES = ["/api/v1/audit", "/api/v1/audit/refusals", "/api/v1/audit/verify"]


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    ensure_signing_key(runtime.settings.resolved_audit_signing_key)
    with TestClient(parts_app(runtime, ("accounts", "audit"))) as c:
        yield c


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.DPO, 200),
        (Role.IT_ADMIN, 200),
        (Role.QA_MANAGER, 403),
        (Role.TRAINING_MANAGER, 403),
        (Role.AGENT, 403),
        (None, 401),
    ],
)
def test_only_dpo_and_it_admin_read_the_audit_trail(
    client: TestClient,
    make_account: MakeAccount,
    clock: FixedClock,
    route: str,
    role: Role | None,
    status: int,
) -> None:
    if role is not None:
        login(client, make_account(role), clock)
    assert client.get(route).status_code == status


def test_list_pages_newest_first_and_records_the_read(
    client: TestClient, make_account: MakeAccount, clock: FixedClock, session: Session
) -> None:
    dpo = make_account(Role.DPO)
    entries = make_chain(session, 5)
    login(client, dpo, clock)
    first = client.get("/api/v1/audit", params={"action": "recording.play", "limit": 3}).json()
    assert [e["seq"] for e in first["entries"]] == [e.seq for e in entries[::-1][:3]]
    second = client.get(
        "/api/v1/audit",
        params={"action": "recording.play", "limit": 3, "before_seq": first["next_before_seq"]},
    ).json()
    assert [e["seq"] for e in second["entries"]] == [entries[1].seq, entries[0].seq]
    assert second["next_before_seq"] is None
    assert set(first["entries"][0]) >= {"seq", "at", "actor", "action", "reason", "hash"}
    assert first["entries"][0]["at"].endswith("Z")
    reads = search(session, actor=f"account:{dpo.id}", action="audit.read")
    assert reads[0].details["filters"] == ["action", "before_seq", "limit"]


def test_refusals_lists_counts_per_actor_and_day(
    client: TestClient, make_account: MakeAccount, clock: FixedClock, session: Session
) -> None:
    from callvault.audit.service import record

    snoop = make_account(Role.QA_MANAGER)
    for _ in range(2):
        record(session, actor=f"account:{snoop.id}", action="access.refused", outcome="refused")
    login(client, make_account(Role.DPO), clock)
    rows = client.get("/api/v1/audit/refusals").json()
    assert {"actor": f"account:{snoop.id}", "day": str(clock.now().date()), "count": 2} in rows


def test_verify_reports_damage_with_the_first_bad_entry(
    client: TestClient, make_account: MakeAccount, clock: FixedClock, session: Session
) -> None:
    login(client, make_account(Role.IT_ADMIN), clock)
    entries = make_chain(session, 3)
    assert client.get("/api/v1/audit/verify").json()["ok"] is True
    allow_tampering(session)
    session.connection().exec_driver_sql(
        f"UPDATE audit_entries SET reason = 'x' WHERE seq = {entries[1].seq}"  # noqa: S608
    )
    body = client.get("/api/v1/audit/verify").json()
    assert (body["ok"], body["first_bad_seq"]) == (False, entries[1].seq)
