"""Reading recordings (§6, §8): only through an active grant, with a reason, refusals audited."""

from __future__ import annotations

from datetime import timedelta

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
from callvault.recordings.models import RecordingState
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, MakeGrant, MakeRecording, artifact_bytes
from tests.accounts.conftest import login

REASON = {"X-Access-Reason": "coaching session on tone, week 12"}


@pytest.fixture
def qa(make_account: MakeAccount) -> Account:
    return make_account(Role.QA_MANAGER)


def _ids(client: TestClient, **params: str | int) -> list[str]:
    response = client.get("/api/v1/recordings", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.parametrize("kind", ["all", "date_range", "agent", "team", "recordings"])
def test_the_listing_shows_exactly_what_the_scope_covers(
    kind: str,
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    now = clock.now()
    inside = make_recording(agent_id="a-1", team="t-1", started_at=now - timedelta(days=2))
    outside = make_recording(agent_id="a-2", team="t-2", started_at=now - timedelta(days=9))
    scopes = {
        "all": GrantScope(ScopeKind.ALL),
        "date_range": GrantScope(
            ScopeKind.DATE_RANGE, date_from=now - timedelta(days=3), date_until=now
        ),
        "agent": GrantScope(ScopeKind.AGENT, agent_id="a-1"),
        "team": GrantScope(ScopeKind.TEAM, team="t-1"),
        "recordings": GrantScope(ScopeKind.RECORDINGS, recording_ids=(inside.id,)),
    }
    make_grant(qa, scope=scopes[kind])
    login(client, qa, clock)
    expected = [str(inside.id), str(outside.id)] if kind == "all" else [str(inside.id)]
    assert _ids(client) == expected


def test_no_grant_means_nothing(
    client: TestClient, qa: Account, make_recording: MakeRecording, clock: FixedClock
) -> None:
    make_recording()
    login(client, qa, clock)
    assert _ids(client) == []


def test_a_grant_covers_only_recordings_made_for_its_purpose(
    client: TestClient,
    make_account: MakeAccount,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    trainer = make_account(Role.TRAINING_MANAGER)
    for_training = make_recording(purposes=("training",))
    make_recording(purposes=("quality_assurance",))
    make_grant(trainer, purpose="training", variant="pseudonymised")
    login(client, trainer, clock)
    assert _ids(client) == [str(for_training.id)]


@pytest.mark.parametrize(
    ("state", "expires_in", "listed"),
    [
        (RecordingState.READY, timedelta(days=1), True),
        (RecordingState.PROCESSING, timedelta(days=1), True),
        (RecordingState.DELETING, timedelta(days=1), False),
        (RecordingState.DELETED, timedelta(days=1), False),
        (RecordingState.READY, timedelta(seconds=-1), False),
    ],
)
def test_deleted_and_expired_recordings_are_never_shown(
    state: str,
    expires_in: timedelta,
    listed: bool,
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    recording = make_recording(state=state, expires_in=expires_in, artifacts=False)
    make_grant(qa)
    login(client, qa, clock)
    assert (_ids(client) == [str(recording.id)]) is listed


def test_pages_follow_the_cursor_without_gaps_or_repeats(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    same_time = clock.now() - timedelta(hours=5)
    made = [make_recording(artifacts=False) for _ in range(5)]
    made += [make_recording(artifacts=False, started_at=same_time) for _ in range(3)]
    make_grant(qa, scope=GrantScope(ScopeKind.TEAM, team="team-north"))
    make_grant(qa, purpose="training", variant="pseudonymised")  # overlapping grants
    login(client, qa, clock)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/v1/recordings", params=params).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(str(r.id) for r in made)
    assert len(seen) == len(set(seen))


def test_the_page_size_has_a_maximum(client: TestClient, qa: Account, clock: FixedClock) -> None:
    login(client, qa, clock)
    assert client.get("/api/v1/recordings", params={"limit": 101}).status_code == 422


@pytest.mark.parametrize(("variant", "identifying"), [("pseudonymised", False), ("original", True)])
def test_identifying_metadata_only_under_an_original_grant(
    variant: str,
    identifying: bool,
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    recording = make_recording()
    make_grant(qa, variant=variant)
    login(client, qa, clock)
    body = client.get(f"/api/v1/recordings/{recording.id}").json()
    assert (body["call_id"] == recording.call_id) is identifying
    assert (body["agent_id"] == recording.agent_id) is identifying
    assert (recording.call_id in client.get("/api/v1/recordings").text) is identifying


def test_playback_streams_whole_and_by_range(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
    session: Session,
) -> None:
    recording = make_recording()
    make_grant(qa)
    login(client, qa, clock)
    url = f"/api/v1/recordings/{recording.id}/audio"
    params = {"variant": "original", "purpose": "quality_assurance"}
    data = artifact_bytes(recording.id, "original")
    whole = client.get(url, params=params, headers=REASON)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"].startswith("inline")
    part = client.get(url, params=params, headers={**REASON, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(url, params=params, headers={**REASON, "Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == data[-50:]
    beyond = client.get(url, params=params, headers={**REASON, "Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"
    plays = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "recording.play")
    ).all()
    assert plays and plays[0].reason == "quality_assurance: coaching session on tone, week 12"


def test_download_when_the_grant_allows_it(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    recording = make_recording()
    make_grant(qa, allows_download=True)
    login(client, qa, clock)
    response = client.get(
        f"/api/v1/recordings/{recording.id}/audio",
        params={"variant": "original", "purpose": "quality_assurance", "download": "true"},
        headers=REASON,
    )
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("variant", "kind"), [("pseudonymised", "pseudonymised_transcript"), ("original", "transcript")]
)
def test_transcript_in_the_granted_variant(
    variant: str,
    kind: str,
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    recording = make_recording()
    make_grant(qa, variant=variant)
    login(client, qa, clock)
    response = client.get(
        f"/api/v1/recordings/{recording.id}/transcript",
        params={"variant": variant, "purpose": "quality_assurance"},
        headers=REASON,
    )
    assert response.status_code == 200
    assert response.json() == {"recording": str(recording.id), "kind": kind}


def test_an_expired_grant_gives_nothing(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    recording = make_recording(expires_in=timedelta(days=80))
    make_grant(qa, days=2)
    login(client, qa, clock)
    assert _ids(client) == [str(recording.id)]
    clock.advance(days=2)
    login(client, qa, clock)
    assert _ids(client) == []
    assert client.get(f"/api/v1/recordings/{recording.id}").status_code == 404


def test_revocation_takes_effect_in_an_open_session(
    runtime: Runtime,
    qa: Account,
    dpo: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    from tests.accounts.conftest import parts_app

    recording = make_recording()
    grant = make_grant(qa)
    app = parts_app(runtime)
    with TestClient(app) as manager, TestClient(app) as officer:
        login(manager, qa, clock)
        url = f"/api/v1/recordings/{recording.id}"
        assert manager.get(url).status_code == 200
        headers = login(officer, dpo, clock)
        assert officer.post(f"/api/v1/grants/{grant.id}/revoke", headers=headers).status_code == 200
        assert manager.get(url).status_code == 404
        assert _ids(manager) == []


def test_a_swedish_reason_travels_percent_encoded_in_the_header(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
    session: Session,
) -> None:
    from urllib.parse import quote

    recording = make_recording()
    make_grant(qa)
    login(client, qa, clock)
    reason = "genomgång av klagomål på bemötande"
    response = client.get(
        f"/api/v1/recordings/{recording.id}/transcript",
        params={"variant": "original", "purpose": "quality_assurance"},
        headers={"X-Access-Reason": quote(reason)},
    )
    assert response.status_code == 200
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "recording.transcript")
    ).one()
    assert entry.reason == f"quality_assurance: {reason}"


def test_a_listing_that_shows_recordings_is_audited_once(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
    session: Session,
) -> None:
    make_recording()
    make_grant(qa)
    login(client, qa, clock)
    assert len(_ids(client)) == 1
    entries = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "recording.list")
    ).all()
    assert [(e.actor, e.details["count"]) for e in entries] == [(f"account:{qa.id}", 1)]


@pytest.mark.parametrize("filler", ["\x00", "\u200b", "\u2060", "\ufeff"])
def test_invisible_characters_are_no_reason_and_never_reach_the_trail(
    filler: str,
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
    session: Session,
) -> None:
    from urllib.parse import quote

    recording = make_recording()
    make_grant(qa)
    login(client, qa, clock)
    url = f"/api/v1/recordings/{recording.id}/transcript"
    params = {"variant": "original", "purpose": "quality_assurance"}
    refused = client.get(url, params={**params, "reason": filler * 12})
    assert refused.status_code == 422
    padded = f"genomgång{filler} av{filler * 3} ärende"
    accepted = client.get(url, params=params, headers={"X-Access-Reason": quote(padded)})
    assert accepted.status_code == 200
    reasons = [e.reason or "" for e in session.scalars(sa.select(AuditEntry)).all()]
    assert not any(filler in r for r in reasons)
    assert "quality_assurance: genomgång av ärende" in reasons


def test_phone_numbers_in_a_reason_are_masked_in_the_trail(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
    session: Session,
) -> None:
    recording = make_recording()
    make_grant(qa)
    login(client, qa, clock)
    reason = "ring tel:0721593360 nr0721593360 070.159.33.60 om ärendet"
    response = client.get(
        f"/api/v1/recordings/{recording.id}/transcript",
        params={"variant": "original", "purpose": "quality_assurance", "reason": reason},
    )
    assert response.status_code == 200
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "recording.transcript")
    ).one()
    assert "0721593360" not in (entry.reason or "") and "159.33" not in (entry.reason or "")
    assert entry.reason == "quality_assurance: ring tel:[phone] nr[phone] [phone] om ärendet"
    assert entry.details["reason_redacted"] == ["phone"]


def test_a_range_of_4300_digits_is_not_satisfiable(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    recording = make_recording()
    make_grant(qa)
    login(client, qa, clock)
    response = client.get(
        f"/api/v1/recordings/{recording.id}/audio",
        params={"variant": "original", "purpose": "quality_assurance"},
        headers={**REASON, "Range": "bytes=" + "1" * 4300 + "-"},
    )
    assert response.status_code == 416


@pytest.mark.parametrize(
    ("variants", "purpose", "allowed"),
    [
        (["original"], None, True),
        (["pseudonymised"], None, False),
        (["original", "pseudonymised"], None, False),  # one pseudonymised grant in play
        (["original", "pseudonymised"], "quality_assurance", True),  # only the original one
    ],
)
def test_the_agent_filter_needs_every_grant_in_play_to_allow_the_original(
    variants: list[str],
    purpose: str | None,
    allowed: bool,
    client: TestClient,
    make_account: MakeAccount,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
) -> None:
    manager = make_account(Role.QA_MANAGER)
    mine = make_recording(agent_id="agent-5")
    make_recording(agent_id="agent-6")
    purposes = {"original": "quality_assurance", "pseudonymised": "training"}
    for variant in variants:
        make_grant(manager, purpose=purposes[variant], variant=variant)
    login(client, manager, clock)
    params = {"agent_id": "agent-5"} | ({"purpose": purpose} if purpose else {})
    response = client.get("/api/v1/recordings", params=params)
    if allowed:
        assert response.status_code == 200
        assert [i["id"] for i in response.json()["items"]] == [str(mine.id)]
    else:
        assert response.status_code == 403  # audited: see test_refusals


def _plays(session: Session) -> list[AuditEntry]:
    return list(
        session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.action == "recording.play")
            .order_by(AuditEntry.seq)
        )
    )


def test_one_listen_is_one_play_entry_with_the_ranges_played(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
    session: Session,
) -> None:
    from callvault.access.models import PlaySession

    recording = make_recording()
    make_grant(qa)
    login(client, qa, clock)
    url = f"/api/v1/recordings/{recording.id}/audio"
    params = {"variant": "original", "purpose": "quality_assurance"}
    for byte_range in ("bytes=0-99", "bytes=100-199", "bytes=5000-5999", "bytes=150-299"):
        clock.advance(minutes=10)  # a paused, then resumed listen: 10 minutes between ranges
        answer = client.get(url, params=params, headers={**REASON, "Range": byte_range})
        assert answer.status_code == 206
    [entry] = _plays(session)
    assert entry.reason == "quality_assurance: coaching session on tone, week 12"
    listen = session.scalars(sa.select(PlaySession)).one()
    assert listen.audit_seq == entry.seq and entry.details["listen"] == str(listen.id)
    assert listen.ranges == [[0, 300], [5000, 6000]]


def test_a_new_reason_or_half_an_hour_of_silence_begins_a_new_listen(
    client: TestClient,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    clock: FixedClock,
    session: Session,
) -> None:
    recording = make_recording()
    make_grant(qa)
    login(client, qa, clock)
    url = f"/api/v1/recordings/{recording.id}/audio"
    params = {"variant": "original", "purpose": "quality_assurance"}
    client.get(url, params=params, headers={**REASON, "Range": "bytes=0-99"})
    other = {"X-Access-Reason": "second opinion on case 4711"}
    client.get(url, params=params, headers={**other, "Range": "bytes=0-99"})
    clock.advance(minutes=20)
    assert client.get(f"/api/v1/recordings/{recording.id}").status_code == 200  # still signed in
    clock.advance(minutes=11)  # 31 minutes since the last range
    client.get(url, params=params, headers={**REASON, "Range": "bytes=100-199"})
    assert [e.reason for e in _plays(session)] == [
        "quality_assurance: coaching session on tone, week 12",
        "quality_assurance: second opinion on case 4711",
        "quality_assurance: coaching session on tone, week 12",
    ]
