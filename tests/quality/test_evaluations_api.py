"""Forms and evaluations over HTTP: the fixed interface, grants, locking and bad input."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from callvault.access.grants import GrantScope
from callvault.access.models import ScopeKind
from callvault.accounts.models import Account
from callvault.audit.models import AuditEntry
from callvault.quality.models import QaAnswer, QaComment, QaEvaluation, QaForm, QaFormVersion
from tests.access.conftest import MakeGrant, MakeRecording
from tests.quality.conftest import FORM, REASON, ClientFor, published_form, questions


def _full_answers(form: dict[str, Any], critical: str = "yes") -> list[dict[str, Any]]:
    qs = questions(form)
    return [
        {"question_id": qs[0]["id"], "value": "yes"},
        {"question_id": qs[1]["id"], "value": 4},
        {"question_id": qs[2]["id"], "value": critical},
        {"question_id": qs[3]["id"], "value": qs[3]["options"][1]["id"]},
    ]


def _start(client: Any, recording_id: Any, form: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/api/v1/qa/evaluations",
        json={"recording_id": str(recording_id), "form_id": form["id"], "reason": REASON},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_whole_way_from_form_to_score(
    client_for: ClientFor,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    session: Session,
) -> None:
    recording = make_recording(artifacts=False)
    make_grant(qa)
    client = client_for(qa)
    created = client.post("/api/v1/qa/forms", json=FORM)
    assert created.status_code == 201
    assert set(created.json()) >= {"id", "version"} and created.json()["version"] == 1
    form = published_form(client)
    evaluation = _start(client, recording.id, form)
    assert evaluation["state"] == "draft"
    assert evaluation["question_ids"] == [q["id"] for q in questions(form)]
    saved = client.put(
        f"/api/v1/qa/evaluations/{evaluation['id']}",
        json={"answers": _full_answers(form), "comments": [{"at": 12.5, "text": "Lugn ton."}]},
    )
    assert saved.status_code == 200, saved.text
    submitted = client.post(f"/api/v1/qa/evaluations/{evaluation['id']}/submit")
    assert submitted.status_code == 200, submitted.text
    # (1 + 2×0.75 + 1 + 0.5) / 5 = 80
    assert submitted.json() == {"score": 80.0, "failed": False}
    again = client.post(f"/api/v1/qa/evaluations/{evaluation['id']}/submit")
    assert again.status_code == 409
    actions = set(session.scalars(sa.select(AuditEntry.action)))
    assert {
        "qa.form.create",
        "qa.form.publish",
        "qa.evaluation.create",
        "qa.evaluation.submit",
        "recording.view",
    } <= actions


def test_a_critical_no_fails_the_evaluation(
    client_for: ClientFor, qa: Account, make_recording: MakeRecording, make_grant: MakeGrant
) -> None:
    recording = make_recording(artifacts=False)
    make_grant(qa)
    client = client_for(qa)
    form = published_form(client)
    evaluation = _start(client, recording.id, form)
    client.put(
        f"/api/v1/qa/evaluations/{evaluation['id']}",
        json={"answers": _full_answers(form, critical="no"), "comments": []},
    )
    result = client.post(f"/api/v1/qa/evaluations/{evaluation['id']}/submit").json()
    assert result == {"score": 0.0, "failed": True}


def test_an_ungranted_recording_gets_the_same_404_as_an_unknown_one(
    client_for: ClientFor,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    session: Session,
) -> None:
    covered = make_recording(artifacts=False, team="t-1")
    other = make_recording(artifacts=False, team="t-2")
    make_grant(qa, scope=GrantScope(ScopeKind.TEAM, team="t-1"))
    client = client_for(qa)
    form = published_form(client)
    answers = []
    for rid in (other.id, uuid.uuid4()):
        response = client.post(
            "/api/v1/qa/evaluations",
            json={"recording_id": str(rid), "form_id": form["id"], "reason": REASON},
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] and answers[0][0] == 404
    assert _start(client, covered.id, form)["state"] == "draft"
    assert session.scalar(sa.select(sa.func.count()).select_from(QaEvaluation)) == 1


def test_a_training_grant_does_not_allow_evaluating(
    client_for: ClientFor, qa: Account, make_recording: MakeRecording, make_grant: MakeGrant
) -> None:
    recording = make_recording(artifacts=False)
    make_grant(qa, purpose="training", variant="pseudonymised")
    client = client_for(qa)
    form = published_form(client)
    response = client.post(
        "/api/v1/qa/evaluations",
        json={"recording_id": str(recording.id), "form_id": form["id"], "reason": REASON},
    )
    assert response.status_code == 404


def test_a_reason_is_required(
    client_for: ClientFor, qa: Account, make_recording: MakeRecording, make_grant: MakeGrant
) -> None:
    recording = make_recording(artifacts=False)
    make_grant(qa)
    client = client_for(qa)
    form = published_form(client)
    response = client.post(
        "/api/v1/qa/evaluations",
        json={"recording_id": str(recording.id), "form_id": form["id"], "reason": "ok"},
    )
    assert response.status_code == 422 and "reason" in response.json()["message"]


def test_a_revoked_grant_stops_saving_at_once(
    client_for: ClientFor,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    runtime: Any,
    dpo: Account,
    session: Session,
) -> None:
    from callvault.access.grants import revoke_grant
    from tests.access.conftest import principal_of

    recording = make_recording(artifacts=False)
    grant = make_grant(qa)
    client = client_for(qa)
    form = published_form(client)
    evaluation = _start(client, recording.id, form)
    revoke_grant(session, runtime, principal_of(dpo), grant.id, source="test")
    session.flush()
    response = client.put(
        f"/api/v1/qa/evaluations/{evaluation['id']}",
        json={"answers": _full_answers(form), "comments": []},
    )
    assert response.status_code == 404
    assert client.get(f"/api/v1/qa/evaluations/{evaluation['id']}").status_code == 404
    assert client.get("/api/v1/qa/evaluations").json()["items"] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.update(sections=[]), "at least one question"),
        (lambda f: [s.update(questions=[]) for s in f["sections"]], "at least one question"),
        (
            lambda f: [q.update(weight=0) for s in f["sections"] for q in s["questions"]],
            "more than 0",
        ),
        (lambda f: f["sections"][0]["questions"][0].update(kind="stars"), "yes_no, scale"),
        (lambda f: f["sections"][1]["questions"][1].update(options=[]), "2 or more options"),
        (lambda f: f["sections"][1]["questions"][1]["options"][0].update(points=2), "0 to 1"),
        (lambda f: f["sections"][0]["questions"][0].update(weight=-1), "weight"),
        (lambda f: f.update(title={"sv": "", "en": "x"}), "Swedish and an English"),
    ],
)
def test_bad_forms_are_refused_and_nothing_is_written(
    change: Any, message: str, client_for: ClientFor, qa: Account, session: Session
) -> None:
    spec = copy.deepcopy(FORM)
    change(spec)
    response = client_for(qa).post("/api/v1/qa/forms", json=spec)
    assert response.status_code == 422, response.text
    assert message in response.json()["message"]
    assert session.scalar(sa.select(sa.func.count()).select_from(QaForm)) == 0


def test_publishing_an_edited_form_makes_a_new_version_and_evaluations_keep_theirs(
    client_for: ClientFor,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    session: Session,
) -> None:
    recording = make_recording(artifacts=False)
    make_grant(qa)
    client = client_for(qa)
    form = published_form(client)
    first = _start(client, recording.id, form)
    edited = copy.deepcopy(FORM)
    edited["title"] = {"sv": "Kundsamtal 2", "en": "Customer call 2"}
    put = client.put(f"/api/v1/qa/forms/{form['id']}", json=edited)
    assert put.json()["version"] == 2 and put.json()["state"] == "draft"
    # until published, new evaluations still use version 1
    assert _start(client, recording.id, form)["form"]["version"] == 1
    assert client.post(f"/api/v1/qa/forms/{form['id']}/publish").json()["version"] == 2
    assert client.post(f"/api/v1/qa/forms/{form['id']}/publish").status_code == 409
    assert _start(client, recording.id, form)["form"]["version"] == 2
    again = client.get(f"/api/v1/qa/evaluations/{first['id']}").json()
    assert again["form"]["version"] == 1 and again["form"]["title"]["sv"] == "Kundsamtal"
    assert session.scalar(sa.select(sa.func.count()).select_from(QaFormVersion)) == 2


def test_an_unpublished_form_cannot_be_used(
    client_for: ClientFor, qa: Account, make_recording: MakeRecording, make_grant: MakeGrant
) -> None:
    recording = make_recording(artifacts=False)
    make_grant(qa)
    client = client_for(qa)
    form_id = client.post("/api/v1/qa/forms", json=FORM).json()["id"]
    response = client.post(
        "/api/v1/qa/evaluations",
        json={"recording_id": str(recording.id), "form_id": form_id, "reason": REASON},
    )
    assert response.status_code == 422 and "not published" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            lambda f, o: {"answers": [{"question_id": questions(f)[1]["id"], "value": 6}]},
            "from 1 to 5",
        ),
        (
            lambda f, o: {"answers": [{"question_id": questions(f)[1]["id"], "value": 0}]},
            "from 1 to 5",
        ),
        (
            lambda f, o: {"answers": [{"question_id": questions(f)[0]["id"], "value": "na"}]},
            "N/A is not allowed",
        ),
        (
            lambda f, o: {"answers": [{"question_id": questions(o)[0]["id"], "value": "yes"}]},
            "not on this evaluation's form",
        ),
        (
            lambda f, o: {
                "answers": [
                    {
                        "question_id": questions(f)[3]["id"],
                        "value": questions(o)[3]["options"][0]["id"],
                    }
                ]
            },
            "option",
        ),
        (lambda f, o: {"comments": [{"at": 181, "text": "Bra avslut."}]}, "outside the call"),
        (lambda f, o: {"comments": [{"at": -1, "text": "Bra avslut."}]}, "outside the call"),
        (
            lambda f, o: {"comments": [{"at": 3, "text": "Kunden Kalle Andersson var arg"}]},
            "a name",
        ),
        (lambda f, o: {"comments": [{"text": "Ring tillbaka på 070-123 45 67"}]}, "a phone number"),
        (
            lambda f, o: {"comments": [{"text": "Kunden skrev kalle@example.com"}]},
            "an e-mail address",
        ),
        (lambda f, o: {"comments": [{"text": "pnr 811218-9876 lästes upp"}]}, "a personnummer"),
    ],
)
def test_bad_drafts_are_refused_and_the_saved_draft_is_kept(
    body: Any,
    message: str,
    client_for: ClientFor,
    qa: Account,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
    session: Session,
) -> None:
    recording = make_recording(artifacts=False)
    make_grant(qa)
    client = client_for(qa)
    form = published_form(client)
    other = published_form(client)
    evaluation = _start(client, recording.id, form)
    good = {
        "answers": [{"question_id": questions(form)[0]["id"], "value": "yes"}],
        "comments": [{"at": 10, "text": "Tydlig hälsning."}],
    }
    assert client.put(f"/api/v1/qa/evaluations/{evaluation['id']}", json=good).status_code == 200
    response = client.put(f"/api/v1/qa/evaluations/{evaluation['id']}", json=body(form, other))
    assert response.status_code == 422, response.text
    assert message in response.json()["message"]
    for value in ("Kalle", "Andersson", "070", "kalle@", "811218"):
        assert value not in response.text
    session.expire_all()
    assert [a.value for a in session.scalars(sa.select(QaAnswer))] == ["yes"]
    assert [c.text for c in session.scalars(sa.select(QaComment))] == ["Tydlig hälsning."]


def test_a_submitted_evaluation_cannot_be_edited(
    client_for: ClientFor, qa: Account, make_recording: MakeRecording, make_grant: MakeGrant
) -> None:
    recording = make_recording(artifacts=False)
    make_grant(qa)
    client = client_for(qa)
    form = published_form(client)
    evaluation = _start(client, recording.id, form)
    url = f"/api/v1/qa/evaluations/{evaluation['id']}"
    client.put(url, json={"answers": _full_answers(form)})
    assert client.post(f"{url}/submit").status_code == 200
    response = client.put(url, json={"answers": _full_answers(form, critical="no")})
    assert response.status_code == 409
    assert client.get(url).json()["score"] == 80.0


def test_submitting_an_incomplete_draft_names_the_missing_questions(
    client_for: ClientFor, qa: Account, make_recording: MakeRecording, make_grant: MakeGrant
) -> None:
    recording = make_recording(artifacts=False)
    make_grant(qa)
    client = client_for(qa)
    form = published_form(client)
    evaluation = _start(client, recording.id, form)
    url = f"/api/v1/qa/evaluations/{evaluation['id']}"
    client.put(url, json={"answers": _full_answers(form)[:2]})
    response = client.post(f"{url}/submit")
    assert response.status_code == 422 and "missing: 3, 4" in response.json()["message"]
    assert client.get(url).json()["state"] == "draft"


def test_another_managers_evaluation_is_not_found(
    client_for: ClientFor,
    qa: Account,
    make_account: Any,
    make_recording: MakeRecording,
    make_grant: MakeGrant,
) -> None:
    from callvault.accounts.roles import Role

    other = make_account(Role.QA_MANAGER)
    recording = make_recording(artifacts=False)
    make_grant(qa)
    make_grant(other)
    client = client_for(qa)
    form = published_form(client)
    evaluation = _start(client, recording.id, form)
    stranger = client_for(other)
    url = f"/api/v1/qa/evaluations/{evaluation['id']}"
    assert stranger.get(url).status_code == 404
    assert stranger.put(url, json={"answers": []}).status_code == 404
    assert stranger.post(f"{url}/submit").status_code == 404


def test_options_may_be_named_by_the_client(
    client_for: ClientFor, qa: Account, make_recording: MakeRecording, make_grant: MakeGrant
) -> None:
    recording = make_recording(artifacts=False)
    make_grant(qa)
    client = client_for(qa)
    spec = {
        "title": "Kort formulär",
        "sections": [{"title": "Allt", "questions": [
            {"text": "Avslut", "kind": "choice", "weight": 1, "critical": False,
             "allow_na": False, "options": [{"id": "1", "text": "Bra", "points": 1},
                                            {"id": "2", "text": "Dåligt", "points": 0.25}]},
        ]}],
    }  # fmt: skip
    form = published_form(client, spec)
    assert [o["id"] for o in questions(form)[0]["options"]] == ["1", "2"]
    evaluation = _start(client, recording.id, form)
    url = f"/api/v1/qa/evaluations/{evaluation['id']}"
    saved = client.put(
        url, json={"answers": [{"question_id": questions(form)[0]["id"], "value": 2}]}
    )
    assert saved.status_code == 200, saved.text
    assert client.get(url).json()["answers"][0]["value"] == "2"
    assert client.post(f"{url}/submit").json() == {"score": 25.0, "failed": False}
    twice = copy.deepcopy(spec)
    twice["sections"][0]["questions"][0]["options"][1]["id"] = "1"
    refused = client.post("/api/v1/qa/forms", json=twice)
    assert refused.status_code == 422 and "same id" in refused.json()["message"]
