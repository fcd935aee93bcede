"""Calibration: two or more blind evaluators on the same call; agreement, spread, reference."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.quality.models import QaCalibration, QaWeeklyAgent
from tests.access.conftest import MakeAccount, MakeGrant, MakeRecording
from tests.quality.conftest import REASON, ClientFor, published_form, questions


def _answers(form: dict[str, Any], tone: int, critical: str = "yes") -> list[dict[str, Any]]:
    qs = questions(form)
    return [
        {"question_id": qs[0]["id"], "value": "yes"},
        {"question_id": qs[1]["id"], "value": tone},
        {"question_id": qs[2]["id"], "value": critical},
        {"question_id": qs[3]["id"], "value": qs[3]["options"][0]["id"]},
    ]


def test_blind_scoring_then_agreement_spread_and_reference(
    qa: Account,
    make_account: MakeAccount,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    client_for: ClientFor,
    session: Session,
) -> None:
    b, c = make_account(Role.QA_MANAGER), make_account(Role.QA_MANAGER)
    for person in (qa, b, c):
        make_grant(person)
    recording = make_recording(artifacts=False)
    clients = {p: client_for(p) for p in (qa, b, c)}
    form = published_form(clients[qa])
    opened = clients[qa].post(
        "/api/v1/qa/calibrations",
        json={
            "recording_id": str(recording.id),
            "form_id": form["id"],
            "reason": REASON,
            "evaluator_ids": [str(qa.id), str(b.id), str(c.id)],
        },
    )
    assert opened.status_code == 201, opened.text
    cid = opened.json()["id"]
    evaluations = {}
    for person, tone, critical in ((qa, 4, "yes"), (b, 4, "yes"), (c, 2, "no")):
        client = clients[person]
        started = client.post(f"/api/v1/qa/calibrations/{cid}/evaluations", json={"reason": REASON})
        assert started.status_code == 201, started.text
        eid = started.json()["id"]
        evaluations[person] = eid
        client.put(
            f"/api/v1/qa/evaluations/{eid}", json={"answers": _answers(form, tone, critical)}
        )
        if person is not c:
            assert client.post(f"/api/v1/qa/evaluations/{eid}/submit").status_code == 200
    blind = clients[b].get(f"/api/v1/qa/calibrations/{cid}").json()
    assert blind["submitted"] == 2 and not blind["complete"]
    assert "questions" not in blind and "evaluations" not in blind
    assert clients[b].get(f"/api/v1/qa/evaluations/{evaluations[qa]}").status_code == 404
    assert (
        clients[c]
        .post(f"/api/v1/qa/calibrations/{cid}/evaluations", json={"reason": REASON})
        .status_code
        == 409
    )
    early = clients[qa].post(
        f"/api/v1/qa/calibrations/{cid}/reference", json={"evaluation_id": evaluations[qa]}
    )
    assert early.status_code == 409
    assert clients[c].post(f"/api/v1/qa/evaluations/{evaluations[c]}/submit").json() == {
        "score": 0.0,
        "failed": True,
    }

    result = clients[b].get(f"/api/v1/qa/calibrations/{cid}").json()
    assert result["complete"]
    # A and B: (1 + 2×0.75 + 1 + 1) / 5 = 90; C fails a critical question
    assert [e["score"] for e in result["evaluations"]] == [0.0, 90.0, 90.0]
    assert result["spread"] == {"min": 0.0, "max": 90.0, "range": 90.0, "mean": 60.0, "stdev": 42.4}
    by_text = {q["text"]["en"]: q for q in result["questions"]}
    assert by_text["Did the agent greet?"]["agreement"] == 100.0
    assert by_text["Tone"]["agreement"] == 66.7 and by_text["Tone"]["most_common"] == "4"
    assert result["suggested_reference_id"] in (evaluations[qa], evaluations[b])
    assert (
        clients[b]
        .post(f"/api/v1/qa/calibrations/{cid}/reference", json={"evaluation_id": evaluations[b]})
        .status_code
        == 404
    )
    closed = clients[qa].post(
        f"/api/v1/qa/calibrations/{cid}/reference", json={"evaluation_id": evaluations[b]}
    )
    assert closed.status_code == 200 and closed.json()["reference_evaluation_id"] == evaluations[b]
    assert closed.json()["closed"]
    # practice, not a verdict on the agent: no report figures
    assert session.scalar(sa.select(sa.func.count()).select_from(QaWeeklyAgent)) == 0


def test_a_calibration_with_one_evaluator_is_refused(
    qa: Account,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    client_for: ClientFor,
    session: Session,
) -> None:
    make_grant(qa)
    recording = make_recording(artifacts=False)
    client = client_for(qa)
    form = published_form(client)
    response = client.post(
        "/api/v1/qa/calibrations",
        json={
            "recording_id": str(recording.id),
            "form_id": form["id"],
            "reason": REASON,
            "evaluator_ids": [str(qa.id), str(qa.id)],
        },
    )
    assert response.status_code == 422
    assert "at least 2 different evaluators" in response.json()["message"]
    assert session.scalar(sa.select(sa.func.count()).select_from(QaCalibration)) == 0


def test_every_evaluator_needs_a_grant_covering_the_call(
    qa: Account,
    make_account: MakeAccount,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    client_for: ClientFor,
    session: Session,
) -> None:
    ungranted = make_account(Role.QA_MANAGER)
    agent = make_account(Role.AGENT)
    make_grant(qa)
    recording = make_recording(artifacts=False)
    client = client_for(qa)
    form = published_form(client)
    for other, message in ((ungranted, "no live QA grant"), (agent, "not an active QA manager")):
        response = client.post(
            "/api/v1/qa/calibrations",
            json={
                "recording_id": str(recording.id),
                "form_id": form["id"],
                "reason": REASON,
                "evaluator_ids": [str(qa.id), str(other.id)],
            },
        )
        assert response.status_code == 422 and message in response.json()["message"]
    assert session.scalar(sa.select(sa.func.count()).select_from(QaCalibration)) == 0
