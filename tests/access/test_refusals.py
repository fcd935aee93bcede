"""Every refusal is an audit entry, kept even though the refused request rolls back.

These tests commit for real (their own SQLite file), because the refusal is written in its own
transaction while the request's transaction is rolled back: inside the usual per-test
transaction the rollback would take the refusal with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.access.grants import GrantScope
from callvault.access.models import ScopeKind
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.config import Settings
from callvault.db import make_engine, make_sessionmaker
from callvault.runtime import Runtime, set_runtime
from tests.access.conftest import MakeAccount, MakeGrant, MakeRecording
from tests.accounts.conftest import login
from tests.schema import create_schema

REASON = {"X-Access-Reason": "coaching session on tone, week 12"}


@pytest.fixture
def runtime(settings: Settings, clock: FixedClock, tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on its own database file whose transactions really commit."""
    engine = make_engine(f"sqlite:///{tmp_path / 'committing.db'}")
    create_schema(engine)
    rt = Runtime(settings=settings, engine=engine, sessions=make_sessionmaker(engine), clock=clock)
    set_runtime(rt)
    yield rt
    set_runtime(None)
    engine.dispose()


@pytest.fixture
def qa(make_account: MakeAccount) -> Account:
    return make_account(Role.QA_MANAGER)


def _refusals(runtime: Runtime) -> list[AuditEntry]:
    with runtime.sessions() as s:
        return list(
            s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "access.refused")).all()
        )


def test_unknown_and_forbidden_ids_get_the_same_404_and_are_audited(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
    session: Session,
    runtime: Runtime,
) -> None:
    covered = make_recording(agent_id="a-1")
    forbidden = make_recording(agent_id="a-2")
    make_grant(qa, scope=GrantScope(ScopeKind.AGENT, agent_id="a-1"))
    session.commit()
    login(client, qa, clock)
    assert client.get(f"/api/v1/recordings/{covered.id}").status_code == 200
    answers = [
        client.get(f"/api/v1/recordings/{rid}")
        for rid in (forbidden.id, uuid.uuid4(), "not-a-uuid")
    ]
    assert {(a.status_code, a.text) for a in answers} == {(404, answers[0].text)}
    refused = _refusals(runtime)
    assert len(refused) == 3
    assert {e.actor for e in refused} == {f"account:{qa.id}"}


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({"variant": "original", "purpose": "quality_assurance"}, {}, 422),
        ({"variant": "original", "purpose": "quality_assurance", "reason": "too short"}, {}, 422),
        ({"variant": "original", "purpose": "marketing"}, REASON, 422),
        ({"variant": "original", "purpose": "training"}, REASON, 404),
        ({"variant": "pseudonymised", "purpose": "quality_assurance"}, REASON, 404),
        ({"variant": "original", "purpose": "quality_assurance", "download": "true"}, REASON, 403),
        (
            {
                "variant": "original",
                "purpose": "quality_assurance",
                "reason": "reviewing a complaint",
            },
            {},
            200,
        ),
    ],
    ids=[
        "no-reason",
        "short-reason",
        "unregistered-purpose",
        "purpose-not-granted",
        "variant-not-granted",
        "download-not-allowed",
        "reason-in-query",
    ],
)
def test_playback_needs_purpose_reason_and_a_matching_grant(
    params: dict[str, str],
    headers: dict[str, str],
    status: int,
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
    session: Session,
    runtime: Runtime,
) -> None:
    recording = make_recording()
    make_grant(qa)  # quality_assurance, original, no download
    session.commit()
    login(client, qa, clock)
    response = client.get(
        f"/api/v1/recordings/{recording.id}/audio", params=params, headers=headers
    )
    assert response.status_code == status
    assert len(_refusals(runtime)) == (0 if status == 200 else 1)


def test_the_dpo_sees_refusals_by_user_and_day(
    client: TestClient,
    qa: Account,
    dpo: Account,
    make_recording: MakeRecording,
    clock: FixedClock,
    runtime: Runtime,
    session: Session,
) -> None:
    from tests.accounts.conftest import parts_app

    recording = make_recording()
    session.commit()
    with TestClient(parts_app(runtime)) as manager:
        login(manager, qa, clock)
        for _ in range(2):
            manager.get(f"/api/v1/recordings/{recording.id}")
    login(client, dpo, clock)
    rows = client.get("/api/v1/access/refusals").json()
    assert rows == [
        {
            "actor": f"account:{qa.id}",
            "day": clock.now().date().isoformat(),
            "count": 2,
            "reasons": {"no_grant": 2},
        }
    ]


def test_a_refused_agent_filter_is_audited(
    client: TestClient,
    make_account: MakeAccount,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
    session: Session,
    runtime: Runtime,
) -> None:
    manager = make_account(Role.TRAINING_MANAGER)
    make_recording(agent_id="agent-5")
    make_grant(manager, purpose="training", variant="pseudonymised")
    session.commit()
    login(client, manager, clock)
    assert client.get("/api/v1/recordings", params={"agent_id": "agent-5"}).status_code == 403
    [refusal] = _refusals(runtime)
    assert refusal.details == {"why": "agent_filter", "attempted": "recording.list"}
    assert refusal.actor == f"account:{manager.id}" and refusal.object_id is None
