"""The library: search by state, words of the pseudonymised transcript, tag, team and date;
collections are ordered playlists of approved clips."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.access.grants import GrantScope
from callvault.access.models import ScopeKind
from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from callvault.training.models import TrainingClipSearch
from tests.access.conftest import MakeAccount
from tests.training.conftest import REASON, ClientFor, MakeCall, clip_body


def _approved(client_for: ClientFor, author: Account, reviewer: Account, body: dict) -> str:  # type: ignore[type-arg]
    clip = client_for(author).post("/api/v1/training/clips", json=body)
    assert clip.status_code == 201, clip.text
    url = f"/api/v1/training/clips/{clip.json()['id']}"
    other = client_for(reviewer)
    other.get(f"{url}/audio", headers=REASON)
    assert (
        other.post(f"{url}/review", json={"decision": "approve", "comment": "ok"}).status_code
        == 200
    )
    return str(clip.json()["id"])


def _ids(client: object, **params: str) -> list[str]:
    response = client.get("/api/v1/training/clips", params=params)  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_search_by_words_tag_team_and_date(
    session: Session,
    clock: FixedClock,
    client_for: ClientFor,
    author: Account,
    reviewer: Account,
    make_call: MakeCall,
) -> None:
    now = clock.now()
    north = make_call(team="north", started_at=now - timedelta(days=2))
    south = make_call(team="south", started_at=now - timedelta(days=5))
    # words 4-5 (2.0-2.9 s) are "uppsägning abonnemang"; the second clip starts after them
    early = _approved(client_for, author, reviewer, clip_body(north, start=0, end=20))
    late = _approved(
        client_for,
        author,
        reviewer,
        clip_body(south, start=50, end=70, tags=["arg kund"], title="Arg kund"),
    )
    draft = client_for(author).post("/api/v1/training/clips", json=clip_body(north)).json()["id"]
    client = client_for(reviewer)
    assert _ids(client, state="approved") == [early, late]
    assert set(_ids(client)) == {early, late, draft}
    assert _ids(client, state="draft") == [draft]
    assert _ids(client, state="approved", q="Uppsägning") == [early]
    assert _ids(client, state="approved", q="uppsägning abonnemang") == [early]
    assert _ids(client, state="approved", q="uppsägning ord120") == []
    assert _ids(client, state="approved", q="ord120") == [late]
    assert _ids(client, state="approved", tag="arg kund") == [late]
    assert _ids(client, state="approved", team="north") == [early]
    since = (now - timedelta(days=3)).date().isoformat()
    assert _ids(client, state="approved", started_from=since) == [early]
    assert client.get("/api/v1/training/clips", params={"state": "nonsense"}).status_code == 422
    # the database holds keyed hashes of the words, never the words
    terms = session.scalar(
        sa.select(TrainingClipSearch.terms).where(TrainingClipSearch.clip_id == uuid.UUID(early))
    )
    assert terms and all(re.fullmatch(r"[0-9a-f]{12}", t) for t in terms.split())


def test_search_shows_only_what_a_training_grant_covers(
    clock: FixedClock,
    client_for: ClientFor,
    author: Account,
    reviewer: Account,
    make_account: MakeAccount,
    training_grant: Callable[..., object],
    make_call: MakeCall,
) -> None:
    north = make_call(team="north")
    south = make_call(team="south")
    in_north = _approved(client_for, author, reviewer, clip_body(north))
    _approved(client_for, author, reviewer, clip_body(south))
    scoped = make_account(Role.TRAINING_MANAGER)
    training_grant(scoped, scope=GrantScope(ScopeKind.TEAM, team="north"))
    assert _ids(client_for(scoped), state="approved") == [in_north]


def test_collections_are_ordered_and_hold_approved_clips_only(
    client_for: ClientFor, author: Account, reviewer: Account, make_call: MakeCall
) -> None:
    recording = make_call()
    first = _approved(client_for, author, reviewer, clip_body(recording, start=0, end=10))
    second = _approved(client_for, author, reviewer, clip_body(recording, start=20, end=30))
    draft = client_for(author).post("/api/v1/training/clips", json=clip_body(recording)).json()
    client = client_for(author)
    refused = client.post(
        "/api/v1/training/collections",
        json={"title": "Vecka 1", "clip_ids": [first, draft["id"]]},
    )
    assert refused.status_code == 422
    assert client.get("/api/v1/training/collections").json() == []
    made = client.post(
        "/api/v1/training/collections",
        json={
            "title": "Introduktion för nya medarbetare, vecka 1",
            "description": "Första veckans samtal.",
            "clip_ids": [second, first],
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert [i["clip_id"] for i in body["items"]] == [second, first]
    assert [i["status"] for i in body["items"]] == ["playable", "playable"]
    url = f"/api/v1/training/collections/{body['id']}"
    reordered = client.patch(url, json={"clip_ids": [first, second]}).json()
    assert [i["clip_id"] for i in reordered["items"]] == [first, second]
    # a leak report sends a clip back to review: the collection says so
    client.post(f"/api/v1/training/clips/{first}/leak-reports", json={"at": 1.0})
    shown = client.get(url).json()
    assert [i["status"] for i in shown["items"]] == ["under_review", "playable"]
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_tags_can_be_added_with_both_labels(client_for: ClientFor, author: Account) -> None:
    client = client_for(author)
    made = client.post(
        "/api/v1/training/tags",
        json={"code": "hot om våld", "label_sv": "Hot om våld", "label_en": "Threat of violence"},
    )
    assert made.status_code == 201
    codes = [t["code"] for t in client.get("/api/v1/training/tags").json()]
    assert "hot om våld" in codes and "uppsägning" in codes
    again = client.post(
        "/api/v1/training/tags", json={"code": "hot om våld", "label_sv": "x", "label_en": "x"}
    )
    assert again.status_code == 409
    bad = client.post(
        "/api/v1/training/tags", json={"code": "<script>", "label_sv": "x", "label_en": "x"}
    )
    assert bad.status_code == 422
