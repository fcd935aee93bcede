"""The training library's pages, in Swedish: cut a clip, review it (reason first), approve,
find it, present a collection, report a leak; and the DPO dashboard's training section."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.app import create_app
from callvault.audit.models import AuditEntry
from callvault.clock import FixedClock
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount
from tests.accounts.conftest import login
from tests.training import conftest as training_fixtures
from tests.training.conftest import MakeCall

# the training part's fixtures: managers with training grants, calls with a pseudonymised variant
keyring_ready = training_fixtures.keyring_ready
make_account = training_fixtures.make_account
make_recording = training_fixtures.make_recording
make_call = training_fixtures.make_call
dpo = training_fixtures.dpo
training_grant = training_fixtures.training_grant
author = training_fixtures.author
reviewer = training_fixtures.reviewer

Browser = Callable[[Account], TestClient]


@pytest.fixture
def browser(runtime: Runtime, clock: FixedClock) -> Iterator[Browser]:
    opened: list[TestClient] = []
    app = create_app(runtime)

    def make(account: Account) -> TestClient:
        client = TestClient(app, base_url="http://testserver", follow_redirects=False)
        client.__enter__()
        opened.append(client)
        client.headers.update(login(client, account, clock))
        client.headers["accept"] = "text/html"
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _clip_id(response: object) -> str:
    location = response.headers["location"]  # type: ignore[attr-defined]
    found = re.fullmatch(r"/training/clips/([0-9a-f-]{36})", location)
    assert found, location
    return found.group(1)


def test_the_whole_flow_through_the_pages(
    browser: Browser,
    author: Account,
    reviewer: Account,
    make_account: MakeAccount,
    make_call: MakeCall,
) -> None:
    recording = make_call()
    mine = browser(author)
    page = mine.get(f"/recordings/{recording.id}")
    assert "Klipp ett utbildningsklipp ur den här inspelningen" in page.text
    form = mine.get(f"/training/clips/new?recording={recording.id}")
    assert form.status_code == 200 and "uppsägning" in form.text.lower()
    fields = {
        "recording_id": str(recording.id),
        "start": "0:10",
        "end": "40",
        "title": "Kund vill säga upp",
        "tags": ["uppsägning"],
        "lesson": "Bekräfta, erbjud alternativ.",
    }
    outside = mine.post("/training/clips", data={**fields, "end": "3:10"})
    assert outside.status_code == 422
    assert "Avsnittet ligger utanför inspelningen." in outside.text
    cut = mine.post("/training/clips", data=fields)
    assert cut.status_code == 303
    clip_id = _clip_id(cut)

    theirs = browser(reviewer)
    review_page = theirs.get(f"/training/clips/{clip_id}")
    assert review_page.status_code == 200
    assert "Lyssna här först" in review_page.text
    assert "Tal som taligenkänningen hoppade över" in review_page.text  # skipped speech
    assert 'action="/training/reason"' in review_page.text  # reason before playing
    assert theirs.get(f"/training/clips/{clip_id}/audio").status_code == 422
    short = theirs.post(
        "/training/reason",
        data={"reason": "kort", "next": f"/training/clips/{clip_id}", "scope": f"clip:{clip_id}"},
    )
    assert short.headers["location"].endswith("reason=short")
    stated = theirs.post(
        "/training/reason",
        data={
            "reason": "granskning inför utbildning",
            "next": f"/training/clips/{clip_id}",
            "scope": f"clip:{clip_id}",
        },
    )
    assert stated.status_code == 303
    review_page = theirs.get(f"/training/clips/{clip_id}")
    assert "data-needs-playthrough" in review_page.text and "[NAMN]" in review_page.text
    unheard = theirs.post(f"/training/clips/{clip_id}/review", data={"decision": "approve"})
    assert unheard.status_code == 422
    assert "Spela klippet som det är nu innan du bestämmer dig." in unheard.text
    assert theirs.get(f"/training/clips/{clip_id}/audio").status_code == 200
    approved = theirs.post(f"/training/clips/{clip_id}/review", data={"decision": "approve"})
    assert approved.status_code == 303
    assert "Klippet är godkänt" in theirs.get(approved.headers["location"]).text

    own = mine.post(f"/training/clips/{clip_id}/review", data={"decision": "approve"})
    assert own.status_code == 422
    library = theirs.get("/training", params={"q": "ord25"})
    assert "Kund vill säga upp" in library.text

    made = theirs.post(
        "/training/collections",
        data={"title": "Vecka 1", "description": "Introduktion", "clip_ids": [clip_id]},
    )
    assert made.status_code == 303
    shown = theirs.get(made.headers["location"] + "/present")
    assert 'action="/training/reason"' in shown.text  # the presentation states its own reason
    collection_id = made.headers["location"].rsplit("/", 1)[1]
    theirs.post(
        "/training/reason",
        data={
            "reason": "introduktion för nyanställda",
            "next": made.headers["location"] + "/present",
            "scope": f"collection:{collection_id}",
        },
    )
    shown = theirs.get(made.headers["location"] + "/present")
    assert shown.status_code == 200
    assert "Kund vill säga upp" in shown.text and "[NAMN]" in shown.text
    assert "data-presentation" in shown.text and "Sista klippet" in shown.text

    leak = theirs.post(f"/training/clips/{clip_id}/leak-reports", data={"at": "5"})
    assert leak.status_code == 303
    assert "Kund vill säga upp" not in theirs.get("/training").text
    collection = theirs.get(made.headers["location"])
    assert "Tillbaka i granskning" in collection.text

    dpo = browser(make_account(Role.DPO))
    dashboard = dpo.get("/dpo")
    assert "Läckanmälningar per vecka" in dashboard.text


def test_agents_and_qa_managers_have_no_library_pages(
    browser: Browser, make_account: MakeAccount
) -> None:
    for role in (Role.AGENT, Role.QA_MANAGER):
        client = browser(make_account(role))
        assert client.get("/training").status_code == 403


# --- a reason belongs to one clip, or to one presentation (issue 16 item 6) --------------------


def _cut(client: TestClient, recording_id: object, start: str, end: str, title: str) -> str:
    cut = client.post(
        "/training/clips",
        data={
            "recording_id": str(recording_id),
            "start": start,
            "end": end,
            "title": title,
            "tags": ["uppsägning"],
            "lesson": "Bekräfta, erbjud alternativ.",
        },
    )
    assert cut.status_code == 303, cut.text
    return _clip_id(cut)


def _state(client: TestClient, scope: str, reason: str, reuse: bool = False) -> None:
    kind, _, ident = scope.partition(":")
    where = (
        f"/training/clips/{ident}" if kind == "clip" else f"/training/collections/{ident}/present"
    )
    data = {"reason": reason, "next": where, "scope": scope}
    if reuse:
        data["reuse"] = "1"
    assert client.post("/training/reason", data=data).status_code == 303


def _last_play(session: Session) -> AuditEntry:
    entry = session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "recording.play")
        .order_by(AuditEntry.seq.desc())
    ).first()
    assert entry is not None
    return entry


def test_a_reason_for_one_clip_does_not_play_another_unless_reuse_is_ticked(
    browser: Browser, author: Account, reviewer: Account, make_call: MakeCall, session: Session
) -> None:
    recording = make_call()
    mine = browser(author)
    a, b, c, d = (
        _cut(mine, recording.id, f"0:{10 * i:02d}", f"0:{10 * i + 8:02d}", f"Klipp {i}")
        for i in range(1, 5)
    )
    theirs = browser(reviewer)
    form = theirs.get(f"/training/clips/{a}")
    assert 'name="scope" value="clip:' + a + '"' in form.text
    assert "Återanvänd för nästa klipp i samma uppgift" in form.text  # the visible choice
    assert 'name="reuse"' in form.text and "checked" not in form.text

    _state(theirs, f"clip:{a}", "granskning av klipp ett")
    shown = theirs.get(f"/training/clips/{a}")
    assert "[NAMN]" in shown.text and "Ändra skälet" in shown.text
    assert theirs.get(f"/training/clips/{a}/audio").status_code == 200
    played = _last_play(session)
    assert played.details["clip"] == a and played.reason == "training: granskning av klipp ett"

    other = theirs.get(f"/training/clips/{b}")  # A's reason does not open B
    assert 'action="/training/reason"' in other.text and "ord42" not in other.text
    assert theirs.get(f"/training/clips/{b}/audio").status_code == 422

    _state(theirs, f"clip:{b}", "granskning av flera klipp", reuse=True)
    assert theirs.get(f"/training/clips/{b}/audio").status_code == 200
    reused = theirs.get(f"/training/clips/{c}")
    assert "ord62" in reused.text
    assert "Återanvänt: du valde att använda det här skälet" in reused.text
    assert f'href="/training/clips/{c}?change=1"' in reused.text
    assert theirs.get(f"/training/clips/{c}/audio").status_code == 200
    played = _last_play(session)
    assert played.details["clip"] == c and played.reason == "training: granskning av flera klipp"

    change = theirs.get(f"/training/clips/{c}?change=1")
    assert 'action="/training/reason"' in change.text and "checked" in change.text
    _state(theirs, f"clip:{c}", "bara det här klippet nu")  # reuse unticked: it ends
    again = theirs.get(f"/training/clips/{d}")
    assert 'action="/training/reason"' in again.text and "ord82" not in again.text
    assert theirs.get(f"/training/clips/{d}/audio").status_code == 422
    assert theirs.get(f"/training/clips/{a}/audio").status_code == 200  # A keeps its own

    bad = theirs.post(
        "/training/reason",
        data={"reason": "granskning av klipp ett", "next": "/training", "scope": "everything"},
    )
    assert 400 <= bad.status_code < 500


def test_a_presentations_reason_covers_its_own_clips_only(
    browser: Browser,
    author: Account,
    reviewer: Account,
    make_account: MakeAccount,
    training_grant: Callable[..., object],
    make_call: MakeCall,
    session: Session,
) -> None:
    recording = make_call()
    mine = browser(author)
    a = _cut(mine, recording.id, "0:10", "0:20", "Klipp A")
    b = _cut(mine, recording.id, "0:30", "0:40", "Klipp B")
    theirs = browser(reviewer)
    for clip in (a, b):
        _state(theirs, f"clip:{clip}", "granskning inför utbildning")
        assert theirs.get(f"/training/clips/{clip}/audio").status_code == 200
        decided = theirs.post(f"/training/clips/{clip}/review", data={"decision": "approve"})
        assert decided.status_code == 303
    first = theirs.post("/training/collections", data={"title": "Vecka 1", "clip_ids": [a]})
    second = theirs.post("/training/collections", data={"title": "Vecka 2", "clip_ids": [b]})
    x = first.headers["location"].rsplit("/", 1)[1]
    y = second.headers["location"].rsplit("/", 1)[1]

    presenter_account = make_account(Role.TRAINING_MANAGER)
    training_grant(presenter_account)
    presenter = browser(presenter_account)
    asked = presenter.get(f"/training/collections/{x}/present")
    assert f'name="scope" value="collection:{x}"' in asked.text
    _state(presenter, f"collection:{x}", "introduktion vecka ett")
    shown = presenter.get(f"/training/collections/{x}/present")
    assert "[NAMN]" in shown.text and f"audio?v=1&amp;collection={x}" in shown.text
    assert "Ändra skälet" in shown.text
    assert presenter.get(f"/training/clips/{a}/audio", params={"collection": x}).status_code == 200
    played = _last_play(session)
    assert played.details["clip"] == a and played.reason == "training: introduktion vecka ett"

    # not outside the presentation, not for another collection's clip, not for another collection
    assert presenter.get(f"/training/clips/{a}/audio").status_code == 422
    assert presenter.get(f"/training/clips/{b}/audio", params={"collection": x}).status_code == 422
    assert presenter.get(f"/training/clips/{b}/audio", params={"collection": y}).status_code == 422
    assert "ord62" not in presenter.get(f"/training/collections/{y}/present").text
    assert "[NAMN]" not in presenter.get(f"/training/clips/{a}").text
