"""Quality fixtures: the access part's recordings, accounts and grants, a form, and a signed-in
client per person on an app of the accounts, access and quality parts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from callvault.accounts.models import Account
from callvault.accounts.roles import Role
from callvault.clock import FixedClock
from callvault.runtime import Runtime
from tests.access import conftest as access_fixtures
from tests.access.conftest import MakeAccount, principal_of
from tests.accounts.conftest import login, parts_app

keyring_ready = access_fixtures.keyring_ready
make_account = access_fixtures.make_account
make_recording = access_fixtures.make_recording
make_grant = access_fixtures.make_grant
dpo = access_fixtures.dpo

REASON = "coaching on tone and accuracy, week 10"
ClientFor = Callable[[Account], TestClient]

FORM: dict[str, Any] = {
    "title": {"sv": "Kundsamtal", "en": "Customer call"},
    "sections": [
        {
            "title": {"sv": "Inledning", "en": "Opening"},
            "questions": [
                {
                    "text": {"sv": "Hälsade agenten?", "en": "Did the agent greet?"},
                    "kind": "yes_no",
                    "weight": 1,
                    "critical": False,
                    "allow_na": False,
                },
                {
                    "text": {"sv": "Tonläge", "en": "Tone"},
                    "kind": "scale",
                    "weight": 2,
                    "critical": False,
                    "allow_na": True,
                },
            ],
        },
        {
            "title": {"sv": "Regler", "en": "Rules"},
            "questions": [
                {
                    "text": {"sv": "Identitet kontrollerad?", "en": "Identity checked?"},
                    "kind": "yes_no",
                    "weight": 1,
                    "critical": True,
                    "allow_na": False,
                },
                {
                    "text": {"sv": "Avslut", "en": "Closing"},
                    "kind": "choice",
                    "weight": 1,
                    "critical": False,
                    "allow_na": False,
                    "options": [
                        {"label": {"sv": "Bra", "en": "Good"}, "points": 1},
                        {"label": {"sv": "Delvis", "en": "Partly"}, "points": 0.5},
                        {"label": {"sv": "Saknas", "en": "Missing"}, "points": 0},
                    ],
                },
            ],
        },
    ],
}


@pytest.fixture
def qa(make_account: MakeAccount) -> Account:
    return make_account(Role.QA_MANAGER)


@pytest.fixture
def client_for(runtime: Runtime, clock: FixedClock) -> Iterator[ClientFor]:
    opened: list[TestClient] = []
    app = parts_app(runtime, ("accounts", "access", "quality"))

    def make(account: Account) -> TestClient:
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        client.headers.update(login(client, account, clock))
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def published_form(client: TestClient, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create and publish a form; returns it with its question and option ids."""
    created = client.post("/api/v1/qa/forms", json=spec or FORM)
    assert created.status_code == 201, created.text
    form_id = created.json()["id"]
    assert client.post(f"/api/v1/qa/forms/{form_id}/publish").status_code == 200
    form: dict[str, Any] = client.get(f"/api/v1/qa/forms/{form_id}").json()
    return form


def questions(form: dict[str, Any]) -> list[dict[str, Any]]:
    return [q for s in form["sections"] for q in s["questions"]]


__all__ = ["principal_of", "Session"]


MakeEvaluation = Callable[..., Any]


@pytest.fixture
def form_version(session: Session, runtime: Runtime, qa: Account) -> Any:
    """FORM, created and published through the service."""
    from callvault.quality import forms

    principal = principal_of(qa)
    version = forms.create_form(
        session, runtime, principal, forms.FormSpec.model_validate(FORM), source="test"
    )
    forms.publish_form(session, runtime, principal, version.form_id, source="test")
    return version


def answers_for(version: Any, critical: str = "yes", tone: int = 4) -> list[Any]:
    from callvault.quality import forms, service

    qs = forms.questions_of(version)
    return [
        service.AnswerIn(str(qs[0].id), "yes"),
        service.AnswerIn(str(qs[1].id), tone),
        service.AnswerIn(str(qs[2].id), critical),
        service.AnswerIn(str(qs[3].id), qs[3].options[1]["id"]),
    ]


@pytest.fixture
def make_evaluation(session: Session, runtime: Runtime, form_version: Any) -> MakeEvaluation:
    """An evaluation by `evaluator` of `recording`, submitted unless told otherwise."""
    from callvault.quality import service

    def make(
        evaluator: Account,
        recording: Any,
        *,
        submit: bool = True,
        critical: str = "yes",
        tone: int = 4,
        comment: str | None = "Tydlig hälsning.",
    ) -> Any:
        principal = principal_of(evaluator)
        evaluation = service.create_evaluation(
            session,
            runtime,
            principal,
            recording_id=recording.id,
            form_id=form_version.form_id,
            reason=REASON,
            source="test",
        )
        service.save_draft(
            session,
            runtime,
            principal,
            evaluation.id,
            answers=answers_for(form_version, critical, tone),
            comments=[service.CommentIn(5.0, comment)] if comment else [],
            source="test",
        )
        if submit:
            service.submit(session, runtime, principal, evaluation.id, source="test")
        return evaluation

    return make
