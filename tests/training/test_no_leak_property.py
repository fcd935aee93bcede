"""Property (hypothesis): whatever the grants, roles and scopes, no clip is listed, shown or
played without a live training grant that covers its source recording.

Grants are written straight into the table (also ones the service would refuse), the clips too
(with stand-in audio that names them), and a plain-Python oracle says what each user may see.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from callvault.access.models import AccessGrant
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from callvault.policy.models import PolicyVersion
from callvault.recordings.models import Recording, RecordingState
from callvault.runtime import Runtime
from callvault.training.models import ClipState, TrainingClip
from callvault.vault.service import store_artifact
from tests.access.conftest import MakeAccount, MakeRecording, parts_app
from tests.access.test_no_leak_property import (
    REGISTERED,
    GrantSpec,
    RecordingSpec,
    _grant_row,
    grant_specs,
    recording_specs,
)
from tests.accounts.conftest import login

REASON = {"X-Access-Reason": "property test: training session"}


@dataclass(frozen=True)
class ClipSpec:
    recording: int
    state: str
    retained: bool


clip_specs = st.builds(
    ClipSpec,
    recording=st.integers(0, 3),
    state=st.sampled_from([s.value for s in ClipState]),
    retained=st.booleans(),
)


def _live_training_grant(spec: GrantSpec) -> GrantSpec:
    """Most drawn grants are refused for one reason or another; these are live training ones
    (scope still drawn), so that the covered side is exercised as well."""
    return GrantSpec(
        **{
            **spec.__dict__,
            "user": spec.user % 2 + 1,
            "purpose": "training",
            "variant": "pseudonymised",
            "starts_in_days": -1,
            "lasts_days": 30,
            "revoked": False,
        }
    )


def clip_audio(clip_id: uuid.UUID) -> bytes:
    return f"clip|{clip_id}|".encode() + bytes(range(256)) * 8


def _covers(
    grant: AccessGrant, user: Account, clip: TrainingClip, r: Recording, now: datetime
) -> bool:
    """The oracle, written independently of the SQL in training.access."""
    if user.role != Role.TRAINING_MANAGER or grant.revoked_at is not None:
        return False
    if not (grant.valid_from <= now < grant.valid_until):
        return False
    if grant.purpose_code != "training" or grant.variant != "pseudonymised":
        return False
    if grant.variant not in REGISTERED.get(grant.purpose_code, set()):
        return False
    if clip.state == ClipState.REMOVED:
        return False
    live = r.state not in (RecordingState.DELETING, RecordingState.DELETED) and r.expires_at > now
    kept = clip.retained_until is not None and clip.retained_until > now
    if not (live or kept):
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
    runtime: Runtime, make_account: MakeAccount, clock: FixedClock, policy_version: PolicyVersion
) -> Iterator[tuple[list[Account], list[TestClient], Account]]:
    """A QA manager, two training managers and an agent, signed in, and the DPO."""
    users = [
        make_account(Role.QA_MANAGER),
        make_account(Role.TRAINING_MANAGER),
        make_account(Role.TRAINING_MANAGER),
        make_account(Role.AGENT),
    ]
    dpo = make_account(Role.DPO)
    app = parts_app(runtime, ("accounts", "access", "training"))
    clients = [TestClient(app) for _ in users]
    for client, user in zip(clients, users, strict=True):
        client.__enter__()
        login(client, user, clock)
    yield users, clients, dpo
    for client in clients:
        client.__exit__(None, None, None)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    recording_list=st.lists(recording_specs, min_size=1, max_size=4),
    clip_list=st.lists(clip_specs, min_size=1, max_size=4),
    grant_list=st.lists(
        st.one_of(
            grant_specs,
            grant_specs.map(_live_training_grant),
        ),
        max_size=5,
    ),
)
def test_no_clip_is_visible_or_playable_without_a_covering_training_grant(
    world: tuple[list[Account], list[TestClient], Account],
    runtime: Runtime,
    session: Session,
    make_recording: MakeRecording,
    clock: FixedClock,
    policy_version: PolicyVersion,
    recording_list: list[RecordingSpec],
    clip_list: list[ClipSpec],
    grant_list: list[GrantSpec],
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
        clips = []
        for spec in clip_list:
            source = recordings[spec.recording % len(recordings)]
            clip = TrainingClip(
                recording_id=source.id,
                author_id=users[1].id,
                start_s=1.0,
                end_s=5.0,
                title="Klipp",
                lesson="Lektion",
                state=spec.state,
                version=1,
                team=source.team,
                recording_started_at=source.started_at,
                retained_until=now + timedelta(days=5) if spec.retained else None,
                created_at=now,
                changed_at=now,
            )
            session.add(clip)
            session.flush()
            store_artifact(
                session, runtime, clip.id, "clip_audio", [clip_audio(clip.id)], "audio/flac"
            )
            store_artifact(
                session,
                runtime,
                clip.id,
                "clip_transcript",
                [json.dumps({"channels": []}).encode()],
                "application/json",
            )
            clips.append((clip, source))
        grants = [
            _grant_row(g, users[g.user % len(users)], dpo, recordings, policy_version, now)
            for g in grant_list
        ]
        session.add_all(grants)
        session.flush()
        for user, client in zip(users, clients, strict=True):
            _check_user(user, client, clips, grants, now)
    finally:
        savepoint.rollback()


def _check_user(
    user: Account,
    client: TestClient,
    clips: list[tuple[TrainingClip, Recording]],
    grants: list[AccessGrant],
    now: datetime,
) -> None:
    mine = [g for g in grants if g.grantee_id == user.id]
    visible = {c.id for c, r in clips if any(_covers(g, user, c, r, now) for g in mine)}
    listing = client.get("/api/v1/training/clips", params={"limit": 100})
    if user.role == Role.TRAINING_MANAGER:
        assert listing.status_code == 200
        assert {uuid.UUID(i["id"]) for i in listing.json()["items"]} == visible
        event(f"clips listed: {'some' if visible else 'none'}")
    else:
        assert listing.status_code == 403
    for clip, _ in clips:
        if clip.id not in visible:
            assert str(clip.id) not in listing.text
        detail = client.get(f"/api/v1/training/clips/{clip.id}")
        audio = client.get(f"/api/v1/training/clips/{clip.id}/audio", headers=REASON)
        if clip.id in visible:
            assert detail.status_code == 200
            assert audio.status_code == 200 and audio.content == clip_audio(clip.id)
        else:
            assert detail.status_code in (403, 404)
            assert audio.status_code in (403, 404)
            assert str(clip.id).encode() not in audio.content
            assert str(clip.id) not in detail.text
