"""The training library's pages, in Swedish: cut a clip, review it (reason first), approve,
find it, present a collection, report a leak; and the DPO dashboard's training section."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.app import create_app
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
        "/training/reason", data={"reason": "kort", "next": f"/training/clips/{clip_id}"}
    )
    assert short.headers["location"].endswith("reason=short")
    stated = theirs.post(
        "/training/reason",
        data={"reason": "granskning inför utbildning", "next": f"/training/clips/{clip_id}"},
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
