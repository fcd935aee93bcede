"""Fixtures for access tests: synthetic recordings with artifacts, managers, grants."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.access import grants as grant_service
from callvault.access.models import AccessGrant, ScopeKind
from callvault.accounts.auth import Principal
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from callvault.policy.models import PolicyVersion
from callvault.recordings.models import Recording, RecordingPurpose, RecordingState
from callvault.runtime import Runtime
from tests.accounts import conftest as accounts_fixtures
from tests.accounts.conftest import MakeAccount as MakeAccount
from tests.accounts.conftest import parts_app as parts_app

# the accounts fixtures, shared
keyring_ready = accounts_fixtures.keyring_ready
make_account = accounts_fixtures.make_account

MakeRecording = Callable[..., Recording]
MakeGrant = Callable[..., AccessGrant]

AUDIO = bytes(range(256)) * 40  # 10 240 bytes of stand-in audio


def artifact_bytes(recording_id: uuid.UUID, kind: str) -> bytes:
    """Content that names its recording and kind, so a leak in a response is recognisable."""
    if kind.endswith("transcript"):
        return f'{{"recording": "{recording_id}", "kind": "{kind}"}}'.encode()
    return f"{recording_id}|{kind}|".encode() + AUDIO


@pytest.fixture
def make_recording(
    session: Session, runtime: Runtime, clock: FixedClock, policy_version: PolicyVersion
) -> MakeRecording:
    counter = iter(range(1, 1_000_000))

    def make(
        *,
        agent_id: str = "agent-7",
        team: str | None = "team-north",
        started_at: datetime | None = None,
        purposes: tuple[str, ...] = ("training", "quality_assurance"),
        state: str = RecordingState.READY,
        artifacts: bool = True,
        expires_in: timedelta = timedelta(days=60),
    ) -> Recording:
        n = next(counter)
        started = started_at or clock.now() - timedelta(days=1, minutes=n)
        recording = Recording(
            call_id=f"call-{uuid.uuid4().hex[:12]}",
            agent_id=agent_id,
            team=team,
            started_at=started,
            ended_at=started + timedelta(minutes=3),
            duration_s=180.0,
            sample_rate=16000,
            channel_layout=["mono"],
            caller_number_enc=None,
            caller_number_hash=None,
            language="sv",
            consent_evidence_id=None,
            policy_version_id=policy_version.id,
            content_sha256="0" * 64,
            expires_at=clock.now() + expires_in,
            state=state,
            created_at=started,
        )
        recording.purposes = [RecordingPurpose(purpose_code=p) for p in purposes]
        session.add(recording)
        session.flush()
        if artifacts:
            from callvault.vault.service import store_artifact

            for kind, media in (
                ("original", "audio/flac"),
                ("pseudonymised_audio", "audio/flac"),
                ("transcript", "application/json"),
                ("pseudonymised_transcript", "application/json"),
            ):
                store_artifact(
                    session,
                    runtime,
                    recording.id,
                    kind,
                    [artifact_bytes(recording.id, kind)],
                    media,
                )
        return recording

    return make


def principal_of(account: Account) -> Principal:
    return Principal(kind="account", id=account.id, role=account.role, session_id=None)


@pytest.fixture
def dpo(make_account: MakeAccount, policy_version: PolicyVersion) -> Account:
    return make_account(Role.DPO)


@pytest.fixture
def make_grant(
    session: Session,
    runtime: Runtime,
    clock: FixedClock,
    dpo: Account,
    policy_version: PolicyVersion,
) -> MakeGrant:
    def make(
        grantee: Account,
        *,
        purpose: str = "quality_assurance",
        variant: str = "original",
        scope: grant_service.GrantScope | None = None,
        valid_from: datetime | None = None,
        days: float = 30,
        allows_download: bool = False,
    ) -> AccessGrant:
        start = valid_from or clock.now()
        return grant_service.create_grant(
            session,
            runtime,
            principal_of(dpo),
            grantee_id=grantee.id,
            purpose=purpose,
            variant=variant,
            scope=scope or grant_service.GrantScope(ScopeKind.ALL),
            valid_from=start,
            valid_until=start + timedelta(days=days),
            allows_download=allows_download,
            source="test",
        )

    return make


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(parts_app(runtime)) as c:
        yield c
