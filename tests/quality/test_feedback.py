"""Agent feedback: agents see only their own submitted evaluations, without audio; they
acknowledge or dispute, the evaluator answers; all audited."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.audit.models import AuditEntry
from tests.access.conftest import MakeAccount, MakeGrant, MakeRecording
from tests.quality.conftest import ClientFor, MakeEvaluation


def test_an_agent_sees_acknowledges_and_disputes_their_own(
    qa: Account,
    make_account: MakeAccount,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    make_evaluation: MakeEvaluation,
    client_for: ClientFor,
    session: Session,
) -> None:
    agent = make_account(Role.AGENT)
    other_agent = make_account(Role.AGENT)
    make_grant(qa)
    by_email = make_recording(artifacts=False, agent_id=agent.email.upper())
    by_id = make_recording(artifacts=False, agent_id=str(agent.id))
    someone_else = make_recording(artifacts=False, agent_id=str(other_agent.id))
    first = make_evaluation(qa, by_email)
    second = make_evaluation(qa, by_id, critical="no")
    make_evaluation(qa, by_id, submit=False)  # a draft is not shown
    make_evaluation(qa, someone_else)

    client = client_for(agent)
    mine = client.get("/api/v1/qa/evaluations", params={"mine": "true"}).json()["items"]
    assert {e["id"] for e in mine} == {str(first.id), str(second.id)}
    for item in mine:
        assert "recording_id" not in item  # no way to the audio (§6)
        assert item["comments"] == [{"at": 5.0, "text": "Tydlig hälsning."}]
        assert item["form"]["sections"]
    ack = client.post(f"/api/v1/qa/evaluations/{first.id}/acknowledge")
    assert ack.status_code == 200 and ack.json()["acknowledged_at"]
    refused = client.post(
        f"/api/v1/qa/evaluations/{second.id}/dispute",
        json={"comment": "Kunden Kalle Andersson bad om det"},
    )
    assert refused.status_code == 422 and "a name" in refused.json()["message"]
    assert "Kalle" not in refused.text
    disputed = client.post(
        f"/api/v1/qa/evaluations/{second.id}/dispute",
        json={"comment": "Identiteten kontrollerades i början av samtalet."},
    )
    assert disputed.status_code == 200
    assert client.post(f"/api/v1/qa/evaluations/{second.id}/acknowledge").status_code == 409
    assert (
        client.post(
            f"/api/v1/qa/evaluations/{first.id}/dispute", json={"comment": "Jag håller inte med."}
        ).status_code
        == 409
    )

    evaluator = client_for(qa)
    seen = evaluator.get(f"/api/v1/qa/evaluations/{second.id}").json()
    assert seen["dispute"]["comment"].startswith("Identiteten")
    answered = evaluator.post(
        f"/api/v1/qa/evaluations/{second.id}/dispute/answer",
        json={"answer": "Du har rätt, vi tittar på det igen."},
    )
    assert answered.status_code == 200
    assert (
        evaluator.post(
            f"/api/v1/qa/evaluations/{second.id}/dispute/answer", json={"answer": "Igen."}
        ).status_code
        == 409
    )
    after = client.get(f"/api/v1/qa/evaluations/{second.id}").json()
    assert after["dispute"]["answer"].startswith("Du har rätt")

    stranger = client_for(other_agent)
    assert stranger.get(f"/api/v1/qa/evaluations/{first.id}").status_code == 404
    assert stranger.post(f"/api/v1/qa/evaluations/{first.id}/acknowledge").status_code == 404
    actions = set(session.scalars(sa.select(AuditEntry.action)))
    assert {"qa.evaluation.acknowledge", "qa.evaluation.dispute", "qa.evaluation.answer"} <= actions


def test_an_agent_cannot_evaluate_or_reach_recordings(
    make_account: MakeAccount, client_for: ClientFor
) -> None:
    client = client_for(make_account(Role.AGENT))
    assert client.post("/api/v1/qa/evaluations", json={}).status_code == 403
    assert client.get("/api/v1/recordings").status_code == 403
