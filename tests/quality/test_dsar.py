"""An employee's DSAR holds their evaluations, disputes and the answers; nobody else's."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.dsar.service import build_bundle, open_bundle, open_request
from callvault.quality import feedback
from callvault.runtime import Runtime
from tests.access.conftest import MakeAccount, MakeGrant, MakeRecording, principal_of
from tests.quality.conftest import MakeEvaluation


def test_an_employees_bundle_holds_their_evaluations_disputes_and_answers(
    qa: Account,
    make_account: MakeAccount,
    make_grant: MakeGrant,
    make_recording: MakeRecording,
    make_evaluation: MakeEvaluation,
    session: Session,
    runtime: Runtime,
) -> None:
    agent = make_account(Role.AGENT)
    make_grant(qa)
    theirs = make_evaluation(qa, make_recording(artifacts=False, agent_id=agent.email))
    make_evaluation(
        qa, make_recording(artifacts=False, agent_id="someone-else"), comment="Annan agents samtal."
    )
    feedback.dispute(
        session,
        runtime,
        principal_of(agent),
        theirs.id,
        comment="Jag bekräftade identiteten.",
        source="test",
    )
    feedback.answer_dispute(
        session,
        runtime,
        principal_of(qa),
        theirs.id,
        answer="Stämmer, poängen justeras.",
        source="test",
    )

    request = open_request(
        session, runtime, account_id=agent.id, language="sv", actor="system", source="test"
    )
    build_bundle(session, runtime, request.id, actor="system", source="test")
    reader = open_bundle(session, runtime, request.id, actor="system", source="test")
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(reader.iter())))
    evaluations = json.loads(bundle.read("evaluations.json"))
    [about] = evaluations["about_you"]
    assert about["id"] == str(theirs.id) and about["score"] == 80.0
    assert about["comments"] == [{"at_s": 5.0, "text": "Tydlig hälsning."}]
    assert about["dispute"]["comment"] == "Jag bekräftade identiteten."
    assert about["dispute"]["answer"] == "Stämmer, poängen justeras."
    assert len(about["answers"]) == 4 and about["answers"][0]["question"]["sv"]
    assert evaluations["written"] == []
    assert b"Annan agents" not in bundle.read("evaluations.json")

    # the evaluator's own bundle lists what they wrote, without the agents
    request = open_request(
        session, runtime, account_id=qa.id, language="sv", actor="system", source="test"
    )
    build_bundle(session, runtime, request.id, actor="system", source="test")
    reader = open_bundle(session, runtime, request.id, actor="system", source="test")
    written = json.loads(
        zipfile.ZipFile(io.BytesIO(b"".join(reader.iter()))).read("evaluations.json")
    )["written"]
    assert len(written) == 2 and "agent_id" not in written[0]
