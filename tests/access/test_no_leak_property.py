"""Property (hypothesis): whatever the grants, users and requests, no response carries a
recording's data or metadata outside an active grant's scope and variant.

Grants are written straight into the table (also ones the service would refuse: expired,
future, revoked, unregistered purpose, a variant the purpose does not allow, to the wrong role),
and a plain-Python oracle says what each user may see. Every response is checked against it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from callvault.access.models import AccessGrant, AccessGrantRecording
from callvault.accounts.models import Account
from callvault.accounts.roles import GRANTEE_ROLES, Role
from callvault.clock import FixedClock
from callvault.policy.models import PolicyVersion
from callvault.recordings.models import Recording, RecordingState
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, MakeRecording, artifact_bytes, parts_app
from tests.accounts.conftest import login

AGENTS = ("a-1", "a-2")
TEAMS = ("t-1", "t-2", None)
PURPOSES = ("training", "quality_assurance", "marketing")  # marketing is not registered
REGISTERED = {"training": {"pseudonymised"}, "quality_assurance": {"pseudonymised", "original"}}
VARIANTS = ("pseudonymised", "original")
AUDIO_KIND = {"original": "original", "pseudonymised": "pseudonymised_audio"}
TRANSCRIPT_KIND = {"original": "transcript", "pseudonymised": "pseudonymised_transcript"}
REASON = {"X-Access-Reason": "property test: reviewing a call"}


@dataclass(frozen=True)
class RecordingSpec:
    agent: str
    team: str | None
    days_ago: int
    purposes: tuple[str, ...]
    state: str
    expired: bool


@dataclass(frozen=True)
class GrantSpec:
    user: int  # index into the users
    purpose: str
    variant: str
    scope: str
    scope_value: int
    starts_in_days: int
    lasts_days: int
    revoked: bool
    download: bool


recording_specs = st.builds(
    RecordingSpec,
    agent=st.sampled_from(AGENTS),
    team=st.sampled_from(TEAMS),
    days_ago=st.integers(0, 20),
    purposes=st.sampled_from(
        [("training",), ("quality_assurance",), ("training", "quality_assurance")]
    ),
    state=st.sampled_from(
        [
            RecordingState.READY,
            RecordingState.READY,
            RecordingState.DELETING,
            RecordingState.DELETED,
        ]
    ),
    expired=st.booleans(),
)
grant_specs = st.builds(
    GrantSpec,
    user=st.integers(0, 2),
    purpose=st.sampled_from(PURPOSES),
    variant=st.sampled_from(VARIANTS),
    scope=st.sampled_from(["all", "date_range", "agent", "team", "recordings"]),
    scope_value=st.integers(0, 5),
    starts_in_days=st.integers(-40, 3),
    lasts_days=st.integers(1, 60),
    revoked=st.booleans(),
    download=st.booleans(),
)


def _grant_row(
    spec: GrantSpec,
    user: Account,
    dpo: Account,
    recordings: list[Recording],
    version: PolicyVersion,
    now: datetime,
) -> AccessGrant:
    start = now + timedelta(days=spec.starts_in_days)
    grant = AccessGrant(
        grantee_id=user.id,
        granted_by=dpo.id,
        purpose_code=spec.purpose,
        policy_version_id=version.id,
        variant=spec.variant,
        scope_kind=spec.scope,
        valid_from=start,
        valid_until=start + timedelta(days=spec.lasts_days),
        allows_download=spec.download,
        created_at=now,
        revoked_at=now - timedelta(minutes=1) if spec.revoked else None,
    )
    if spec.scope == "date_range":
        grant.scope_from = now - timedelta(days=spec.scope_value * 4 + 1)
        grant.scope_until = grant.scope_from + timedelta(days=5)
    elif spec.scope == "agent":
        grant.scope_agent_id = AGENTS[spec.scope_value % len(AGENTS)]
    elif spec.scope == "team":
        grant.scope_team = ("t-1", "t-2")[spec.scope_value % 2]
    elif spec.scope == "recordings":
        chosen = recordings[spec.scope_value % len(recordings)] if recordings else None
        grant.recordings = [
            AccessGrantRecording(recording_id=chosen.id if chosen else uuid.uuid4())
        ]
    return grant


def _covers(grant: AccessGrant, user: Account, r: Recording, now: datetime) -> bool:
    """The oracle, written independently of the SQL in access.service."""
    if user.role not in GRANTEE_ROLES or grant.revoked_at is not None:
        return False
    if not (grant.valid_from <= now < grant.valid_until):
        return False
    if grant.variant not in REGISTERED.get(grant.purpose_code, set()):
        return False
    if r.state in (RecordingState.DELETING, RecordingState.DELETED) or r.expires_at <= now:
        return False
    if grant.purpose_code not in r.purpose_codes:
        return False
    if grant.scope_kind == "all":
        return True
    if grant.scope_kind == "date_range":
        assert grant.scope_from is not None and grant.scope_until is not None
        return bool(grant.scope_from <= r.started_at < grant.scope_until)
    if grant.scope_kind == "agent":
        return bool(r.agent_id == grant.scope_agent_id)
    if grant.scope_kind == "team":
        return bool(r.team == grant.scope_team)
    return r.id in grant.recording_ids


@pytest.fixture
def world(
    runtime: Runtime,
    session: Session,
    make_account: MakeAccount,
    clock: FixedClock,
    policy_version: PolicyVersion,
) -> Iterator[tuple[list[Account], list[TestClient], Account]]:
    """Three users (a QA manager, a training manager and an agent), signed in, and the DPO."""
    users = [
        make_account(Role.QA_MANAGER),
        make_account(Role.TRAINING_MANAGER),
        make_account(Role.AGENT),
    ]
    dpo = make_account(Role.DPO)
    app = parts_app(runtime)
    clients = [TestClient(app) for _ in users]
    for client, user in zip(clients, users, strict=True):
        client.__enter__()
        login(client, user, clock)
    yield users, clients, dpo
    for client in clients:
        client.__exit__(None, None, None)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    recording_list=st.lists(recording_specs, min_size=1, max_size=4),
    grant_list=st.lists(grant_specs, max_size=4),
    asks=st.lists(
        st.tuples(st.sampled_from(VARIANTS), st.sampled_from(PURPOSES), st.booleans()),
        min_size=1,
        max_size=2,
    ),
)
def test_no_response_leaks_outside_an_active_grant(
    world: tuple[list[Account], list[TestClient], Account],
    session: Session,
    make_recording: MakeRecording,
    clock: FixedClock,
    policy_version: PolicyVersion,
    recording_list: list[RecordingSpec],
    grant_list: list[GrantSpec],
    asks: list[tuple[str, str, bool]],
) -> None:
    users, clients, dpo = world
    now = clock.now()
    savepoint = session.begin_nested()
    try:
        recordings = [
            make_recording(
                agent_id=spec.agent,
                team=spec.team,
                started_at=now - timedelta(days=spec.days_ago, minutes=n),
                purposes=spec.purposes,
                state=spec.state,
                expires_in=timedelta(days=-1 if spec.expired else 30),
            )
            for n, spec in enumerate(recording_list)
        ]
        grants = [
            _grant_row(g, users[g.user], dpo, recordings, policy_version, now) for g in grant_list
        ]
        session.add_all(grants)
        session.flush()
        for user, client in zip(users, clients, strict=True):
            _check_user(user, client, recordings, grants, asks, now)
    finally:
        savepoint.rollback()


def _check_user(
    user: Account,
    client: TestClient,
    recordings: list[Recording],
    grants: list[AccessGrant],
    asks: list[tuple[str, str, bool]],
    now: datetime,
) -> None:
    mine = [g for g in grants if g.grantee_id == user.id]
    visible = {r.id for r in recordings if any(_covers(g, user, r, now) for g in mine)}
    hidden = [r for r in recordings if r.id not in visible]

    listing = client.get("/api/v1/recordings", params={"limit": 100})
    if user.role in GRANTEE_ROLES:
        assert listing.status_code == 200
        assert {uuid.UUID(i["id"]) for i in listing.json()["items"]} == visible
        event(f"listing {'some' if visible else 'none'}")
    else:
        assert listing.status_code == 403
    for r in hidden:
        assert str(r.id) not in listing.text and r.call_id not in listing.text

    for r in recordings:
        original = any(_covers(g, user, r, now) and g.variant == "original" for g in mine)
        meta = client.get(f"/api/v1/recordings/{r.id}")
        if r.id in visible:
            assert meta.status_code == 200
            assert (r.call_id in meta.text) is original
            assert (r.agent_id in meta.text) is original
        else:
            assert meta.status_code in (403, 404)
            assert r.call_id not in meta.text

        for variant, purpose, download in asks:
            allowed = [
                g
                for g in mine
                if _covers(g, user, r, now) and g.variant == variant and g.purpose_code == purpose
            ]
            params = {"variant": variant, "purpose": purpose}
            if download:
                params["download"] = "true"
            audio = client.get(f"/api/v1/recordings/{r.id}/audio", params=params, headers=REASON)
            may = bool(allowed) and (not download or any(g.allows_download for g in allowed))
            assert (audio.status_code == 200) is may, (audio.status_code, audio.text[:200])
            event(f"audio {'allowed' if may else 'refused'}")
            if may:
                assert audio.content == artifact_bytes(r.id, AUDIO_KIND[variant])
            else:
                assert str(r.id).encode() not in audio.content
            transcript = client.get(
                f"/api/v1/recordings/{r.id}/transcript",
                params={"variant": variant, "purpose": purpose},
                headers=REASON,
            )
            assert (transcript.status_code == 200) is bool(allowed)
            if allowed:
                assert transcript.content == artifact_bytes(r.id, TRANSCRIPT_KIND[variant])
            else:
                assert str(r.id).encode() not in transcript.content
