"""The quality pages in Swedish and English: forms, evaluating beside the player, sampling,
calibration, agent feedback and reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.app import create_app
from callvault.clock import FixedClock
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, MakeGrant, MakeRecording
from tests.accounts.conftest import login
from tests.quality.conftest import REASON, published_form, questions


@pytest.fixture
def web(runtime: Runtime, clock: FixedClock) -> Iterator[Any]:
    app = create_app(runtime)
    opened: list[TestClient] = []

    def make(account: Account, language: str = "sv") -> TestClient:
        client = TestClient(app, follow_redirects=False)
        client.__enter__()
        opened.append(client)
        client.headers.update(login(client, account, clock))
        client.post("/language", data={"language": language, "next": "/qa"})
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("sv", ("Kvalitetssäkring", "Utvärderingsformulär", "Tonläge")),
        ("en", ("Quality assurance", "Evaluation forms", "Tone")),
    ],
)
def test_a_manager_evaluates_a_call_through_the_pages(
    language: str,
    words: tuple[str, str, str],
    web: Any,
    qa: Account,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
) -> None:
    make_grant(qa)
    recording = make_recording(artifacts=True)
    client = web(qa, language)
    form = published_form(client)
    home = client.get("/qa")
    assert home.status_code == 200 and words[0] in home.text and words[1] in home.text
    assert client.get("/qa/forms/new").status_code == 200
    assert client.get(f"/qa/forms/{form['id']}").status_code == 200
    start = client.get("/qa/start", params={"recording": str(recording.id), "form": form["id"]})
    assert start.status_code == 200
    refused = client.post(
        "/qa/evaluations",
        data={"recording_id": str(recording.id), "form_id": form["id"], "reason": "kort"},
    )
    assert refused.status_code == 422
    opened = client.post(
        "/qa/evaluations",
        data={"recording_id": str(recording.id), "form_id": form["id"], "reason": REASON},
    )
    assert opened.status_code == 303
    page = client.get(opened.headers["location"])
    assert page.status_code == 200 and words[2] in page.text
    assert "data-audio" in page.text and "/audio" in page.text
    eid = opened.headers["location"].rsplit("/", 1)[1]
    audio = client.get(f"/qa/evaluations/{eid}/audio")
    assert audio.status_code == 200 and str(recording.id).encode() in audio.content
    assert client.get("/qa/samples").status_code == 200
    drawn = client.post(
        "/qa/samples",
        data={"form_id": form["id"], "from": "2026-02-20", "until": "2026-03-02", "per_agent": "2"},
    )
    assert drawn.status_code == 303
    queue = client.get(drawn.headers["location"])
    assert queue.status_code == 200 and "data-seed" in queue.text
    assert client.get("/qa/calibrations").status_code == 200
    assert client.get("/qa/reports").status_code == 200


def test_an_agent_reads_acknowledges_and_sees_no_audio(
    web: Any,
    qa: Account,
    make_account: MakeAccount,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    make_evaluation: Any,
) -> None:
    agent = make_account(Role.AGENT)
    make_grant(qa)
    evaluation = make_evaluation(qa, make_recording(artifacts=False, agent_id=str(agent.id)))
    client = web(agent, "en")
    home = client.get("/qa")
    assert home.status_code == 200 and "My evaluations" in home.text
    page = client.get(f"/qa/evaluations/{evaluation.id}")
    assert page.status_code == 200 and "Acknowledge" in page.text
    assert "data-audio" not in page.text and "/audio" not in page.text
    assert client.get(f"/qa/evaluations/{evaluation.id}/audio").status_code == 403
    report = client.get("/qa/reports")
    assert report.status_code == 200 and "data-total>1<" in report.text.replace(" ", "")


def test_a_calibration_page_shows_the_result(
    web: Any,
    qa: Account,
    make_account: MakeAccount,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
) -> None:
    other = make_account(Role.QA_MANAGER)
    make_grant(qa)
    make_grant(other)
    recording = make_recording(artifacts=False)
    client, second = web(qa, "sv"), web(other, "sv")
    form = published_form(client)
    created = client.post(
        "/qa/calibrations",
        data={
            "recording_id": str(recording.id),
            "form_id": form["id"],
            "reason": REASON,
            "evaluators": [str(qa.id), str(other.id)],
        },
    )
    assert created.status_code == 303
    url = created.headers["location"]
    cid = url.rsplit("/", 1)[1]
    for c in (client, second):
        started = c.post("/qa/evaluations", data={"calibration_id": cid, "reason": REASON})
        assert started.status_code == 303
        eid = started.headers["location"].rsplit("/", 1)[1]
        qs = questions(form)
        c.put(
            f"/api/v1/qa/evaluations/{eid}",
            json={
                "answers": [
                    {"question_id": qs[0]["id"], "value": "yes"},
                    {"question_id": qs[1]["id"], "value": 3},
                    {"question_id": qs[2]["id"], "value": "yes"},
                    {"question_id": qs[3]["id"], "value": qs[3]["options"][0]["id"]},
                ]
            },
        )
        assert c.post(f"/api/v1/qa/evaluations/{eid}/submit").status_code == 200
    page = client.get(url)
    assert page.status_code == 200 and "data-range" in page.text and "Överensstämmelse" in page.text
